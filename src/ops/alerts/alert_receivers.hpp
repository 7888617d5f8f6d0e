#pragma once
// Where notifications go: a webhook (an HTTP POST of the Alertmanager v4
// JSON, through the project's HttpClientPool) or a command (uv_spawn, the
// JSON on its stdin: sendmail, msmtp, an SMS provider's CLI, curl). Neither
// blocks the loop, every attempt is bounded by timeout_ms, and a receiver
// that stays down costs at most max_retries retries (webhook) per
// notification and kMaxQueued notifications waiting; beyond that they are
// dropped, logged and counted.
//
// Lifetimes: a receiver owns its pool, timers and child processes. close()
// stops the retries, fails what the pool has in flight (its callbacks run
// inside close() and are ignored), and lets running commands go (their
// handles close; the processes finish on their own). The service destroys
// the receivers only after the loop has run those close callbacks.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "core/runtime.hpp"
#include "net/http/http_client.hpp"
#include "ops/alerts/alerts_config.hpp"

namespace redge {

// What became of one notification: "sent", "failed", "timeout", "dropped".
using DeliveryCallback = std::function<void(const std::string& outcome, const std::string& detail)>;

class AlertReceiver {
 public:
  static constexpr size_t kMaxQueued = 64;
  virtual ~AlertReceiver() = default;
  virtual void deliver(std::string payload, DeliveryCallback done) = 0;
  virtual void close() = 0;
  // Nothing of the receiver's is still waiting for a close callback.
  virtual bool closed() const = 0;
};

class WebhookReceiver final : public AlertReceiver {
 public:
  WebhookReceiver(Runtime& runtime, std::string name, const AlertReceiverOptions& options);
  void deliver(std::string payload, DeliveryCallback done) override;
  void close() override;
  bool closed() const override { return closing_ && pool_.openConnections() == 0; }

 private:
  struct Attempt {
    std::string payload;
    DeliveryCallback done;
    int retries = 0;
    TimerPtr retry_timer;
  };
  void send(Attempt* attempt);
  void onResult(Attempt* attempt, HttpClientError error, const HttpClientResponse* response);
  void finish(Attempt* attempt, const std::string& outcome, const std::string& detail);

  Runtime& runtime_;
  std::string name_;
  AlertReceiverOptions options_;
  HttpClientPool pool_;
  std::list<std::unique_ptr<Attempt>> attempts_;
  uint64_t random_state_ = 0x9e3779b97f4a7c15ull;
  bool closing_ = false;
};

class CommandReceiver final : public AlertReceiver {
 public:
  // At most this many commands of one receiver run at once.
  static constexpr size_t kMaxRunning = 4;

  CommandReceiver(Runtime& runtime, std::string name, const AlertReceiverOptions& options);
  ~CommandReceiver() override;
  void deliver(std::string payload, DeliveryCallback done) override;
  void close() override;
  bool closed() const override { return closing_ && runs_ == 0; }

 private:
  struct Run;
  void start(std::string payload, DeliveryCallback done);
  void startQueued();
  static void onExitCb(uv_process_t* process, int64_t exit_status, int term_signal) noexcept;
  static void onWrittenCb(uv_write_t* req, int status) noexcept;
  static void onClosedCb(uv_handle_t* handle) noexcept;
  void onExit(Run* run, int64_t exit_status, int term_signal);
  void onTimeout(Run* run);
  void release(Run* run);

  Runtime& runtime_;
  std::string name_;
  AlertReceiverOptions options_;
  size_t runs_ = 0;     // started, not yet fully closed
  size_t running_ = 0;  // started, not yet exited
  std::list<std::pair<std::string, DeliveryCallback>> queued_;
  std::list<Run*> live_;
  bool closing_ = false;
};

std::unique_ptr<AlertReceiver> makeAlertReceiver(Runtime& runtime, const std::string& name,
                                                 const AlertReceiverOptions& options);

}  // namespace redge
