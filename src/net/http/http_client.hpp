#pragma once
// A pool of keep-alive HTTP/1.1 client connections to one upstream
// (host:port), for the relay's deliveries and, later, gateway backends,
// health probes and alert webhooks. One request at a time per connection;
// idle connections are reused newest first; responses are parsed with llhttp.
//
// Promises:
// - Every request has a deadline (timeout_ms, covering connect, write and
//   the whole response); on expiry its connection is closed and the callback
//   gets Timeout. A connect_timeout_ms shorter than that bounds the connect
//   alone: on expiry the callback gets Connect.
// - The callback runs exactly once, with the response (any status: a 500 is
//   a response, not an error) or with why there is none. It may run
//   synchronously inside send() (pool closed) and runs outside llhttp, so it
//   may send again.
// - A request that meets a kept-alive connection the upstream had already
//   closed (no byte of a response received) is retried once on a fresh
//   connection: the usual keep-alive race, not the upstream's failure.
// - close() fails whatever is pending with Closed; the pool may be destroyed
//   once the loop has run its connections' close callbacks (they call back
//   into the pool).

#include <llhttp.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/metrics.hpp"

namespace redge {

enum class HttpClientError {
  None,
  Connect,      // refused, unreachable
  Timeout,      // no complete response within timeout_ms
  Reset,        // the connection died before the response was complete
  BadResponse,  // not valid HTTP/1.1
  TooLarge,     // the response exceeded max_response_bytes
  Closed,       // the pool is shutting down
};

std::string_view httpClientErrorName(HttpClientError e);

struct HttpClientRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // Host and Content-Length are added
  std::string body;
  int64_t timeout_ms = 1000;
  // The Host header; empty: the pool's authority (a proxy passes its
  // client's on).
  std::string authority;
  // A connect that has not completed after this fails with Connect (the
  // request was never sent); 0: only timeout_ms bounds it.
  int64_t connect_timeout_ms = 0;
};

struct HttpClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string_view header(std::string_view name) const;  // case-insensitive, first match
};

using HttpClientCallback =
    std::function<void(HttpClientError error, const HttpClientResponse* response)>;

struct HttpClientPoolOptions {
  std::string name = "upstream";  // metric label and log field
  std::string host;               // a literal IPv4/IPv6 address
  int port = 80;
  std::string authority;  // Host header value
  size_t max_idle = 32;   // kept-alive connections beyond this are closed
  int64_t idle_timeout_ms = 30000;
  int64_t max_response_bytes = 8 * 1024 * 1024;
};

class HttpClientConnection;

class HttpClientPool {
 public:
  HttpClientPool(uv_loop_t* loop, MetricsRegistry& metrics, HttpClientPoolOptions options);
  ~HttpClientPool();
  HttpClientPool(const HttpClientPool&) = delete;
  HttpClientPool& operator=(const HttpClientPool&) = delete;

  void send(HttpClientRequest request, HttpClientCallback cb);
  void close();
  size_t openConnections() const { return connections_.size(); }

  // --- used by HttpClientConnection ---
  uv_loop_t* loop() const { return loop_; }
  const HttpClientPoolOptions& options() const { return options_; }
  bool closing() const { return closing_; }
  // The connection finished a request and may be reused: true if kept.
  bool keepIdle(HttpClientConnection* c);
  void dropIdle(HttpClientConnection* c);
  void release(HttpClientConnection* c);  // from its last close callback
  void record(HttpClientError error, int status, int64_t started_us);
  void retryOnFreshConnection(HttpClientRequest request, HttpClientCallback cb, int64_t started_us);

 private:
  void start(HttpClientRequest request, HttpClientCallback cb, int64_t started_us, bool retried);

  // HttpClientError's values after None, in order.
  static constexpr size_t kErrorKinds = static_cast<size_t>(HttpClientError::Closed) + 1;

  uv_loop_t* loop_;
  HttpClientPoolOptions options_;
  bool closing_ = false;
  std::unordered_set<HttpClientConnection*> connections_;
  std::vector<HttpClientConnection*> idle_;  // most recently used last
  Gauge& open_gauge_;
  Histogram& duration_;
  Counter* by_status_class_[5] = {};     // 1xx .. 5xx
  Counter* by_error_[kErrorKinds] = {};  // by HttpClientError; [0] unused
};

}  // namespace redge
