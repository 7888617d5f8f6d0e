#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace redge_test {

// A tiny HTTP receiver for webhook tests: one thread, 127.0.0.1 on a port
// the kernel picks, one request per connection (it answers with
// Connection: close). It keeps every request body, and answers 500 to the
// first `fail_first` requests, 200 after that. The destructor stops it.
class WebhookSink {
 public:
  explicit WebhookSink(int fail_first = 0);
  ~WebhookSink();
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& target = "/hook") const;
  // Bodies of the requests answered so far (failed ones included), in order.
  std::vector<std::string> bodies() const;
  size_t requests() const;

 private:
  void serve();
  void handle(int fd);

  int listen_fd_ = -1;
  int port_ = 0;
  int fail_first_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

}  // namespace redge_test
