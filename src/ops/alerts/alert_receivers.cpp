// The two kinds of alert receiver. Webhooks retry with exponential backoff
// and jitter up to max_retries; commands are never retried (a mail or SMS
// command that failed may have half-sent) and are killed after timeout_ms.

#include "ops/alerts/alert_receivers.hpp"

#include <signal.h>
#include <unistd.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "ops/alerts/alert_email.hpp"
#include "resilience/backoff.hpp"

namespace redge {
namespace {

HttpClientPoolOptions webhookPoolOptions(const std::string& name,
                                         const AlertReceiverOptions& options) {
  HttpClientPoolOptions o;
  o.name = "alerts/" + name;
  o.host = options.target.host;
  o.port = options.target.port;
  o.authority = options.target.authority();
  o.max_idle = 2;
  o.max_response_bytes = 65536;
  return o;
}

}  // namespace

// ---------------------------------------------------------------- webhook

WebhookReceiver::WebhookReceiver(Runtime& runtime, std::string name,
                                 const AlertReceiverOptions& options)
    : runtime_(runtime),
      name_(std::move(name)),
      options_(options),
      pool_(runtime.loop, runtime.metrics, webhookPoolOptions(name_, options)) {}

void WebhookReceiver::deliver(std::string payload, DeliveryCallback done) {
  if (closing_) return;
  if (attempts_.size() >= kMaxQueued) {
    done("dropped", "too many notifications waiting for this receiver");
    return;
  }
  auto attempt = std::make_unique<Attempt>();
  attempt->payload = std::move(payload);
  attempt->done = std::move(done);
  Attempt* raw = attempt.get();
  attempts_.push_back(std::move(attempt));
  send(raw);
}

void WebhookReceiver::send(Attempt* attempt) {
  HttpClientRequest request;
  request.method = "POST";
  request.target = options_.target.target;
  request.headers = {{"Content-Type", "application/json"}, {"User-Agent", "redge-alerts"}};
  request.body = attempt->payload;
  request.timeout_ms = options_.timeout_ms;
  pool_.send(std::move(request),
             [this, attempt](HttpClientError error, const HttpClientResponse* response) {
               onResult(attempt, error, response);
             });
}

void WebhookReceiver::onResult(Attempt* attempt, HttpClientError error,
                               const HttpClientResponse* response) {
  if (closing_) return;  // close() has dropped the attempt
  if (error == HttpClientError::None && response && response->status >= 200 &&
      response->status < 300) {
    finish(attempt, "sent", "status " + std::to_string(response->status));
    return;
  }
  std::string detail = error != HttpClientError::None
                           ? std::string(httpClientErrorName(error))
                           : "status " + std::to_string(response ? response->status : 0);
  const bool timeout =
      error == HttpClientError::Timeout || error == HttpClientError::ConnectTimeout;
  if (attempt->retries >= options_.max_retries) {
    finish(attempt, timeout ? "timeout" : "failed", detail);
    return;
  }
  // Equal-jitter backoff from 250 ms to 30 s: a receiver that restarts is
  // found again quickly, one that stays down is not hammered.
  ExponentialBackoff backoff(250, 30000);
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  double r = static_cast<double>(random_state_ >> 11) / static_cast<double>(1ull << 53);
  int64_t delay = backoff.delayMs(attempt->retries, r);
  ++attempt->retries;
  REDGE_LOG(Warn, "alert_notification_retry")
      .kv("receiver", name_)
      .kv("reason", detail)
      .kv("retry", attempt->retries)
      .kv("delay_ms", delay);
  attempt->retry_timer = runtime_.timers.createTimer([this, attempt] { send(attempt); });
  attempt->retry_timer->enable(delay);
}

void WebhookReceiver::finish(Attempt* attempt, const std::string& outcome,
                             const std::string& detail) {
  DeliveryCallback done = std::move(attempt->done);
  for (auto it = attempts_.begin(); it != attempts_.end(); ++it) {
    if (it->get() == attempt) {
      attempts_.erase(it);
      break;
    }
  }
  if (done) done(outcome, detail);
}

void WebhookReceiver::close() {
  if (closing_) return;
  closing_ = true;
  attempts_.clear();  // their timers are cancelled; the pool's callbacks are ignored
  pool_.close();
}

// ---------------------------------------------------------------- command

struct CommandReceiver::Run {
  CommandReceiver* owner = nullptr;
  uv_process_t process{};
  uv_pipe_t stdin_pipe{};
  uv_write_t write{};
  std::string payload;  // owned until the write callback has run
  DeliveryCallback done;
  TimerPtr kill_timer;
  int open_handles = 0;
  bool timed_out = false;
  bool exited = false;
};

CommandReceiver::CommandReceiver(Runtime& runtime, std::string name,
                                 const AlertReceiverOptions& options)
    : runtime_(runtime), name_(std::move(name)), options_(options) {}

CommandReceiver::~CommandReceiver() {
  // Runs still open here belong to a loop that is gone; keep their memory
  // rather than free what a callback might still reach.
  for (Run* run : live_) run->owner = nullptr;
}

void CommandReceiver::deliver(std::string payload, DeliveryCallback done) {
  if (closing_) return;
  if (options_.format == "email") {
    payload = renderAlertEmail(payload, AlertEmailOptions{options_.email_from, options_.email_to},
                               wallClockMs());
  }
  if (running_ < kMaxRunning) {
    start(std::move(payload), std::move(done));
    return;
  }
  if (queued_.size() >= kMaxQueued) {
    done("dropped", "too many notifications waiting for this receiver");
    return;
  }
  queued_.emplace_back(std::move(payload), std::move(done));
}

void CommandReceiver::start(std::string payload, DeliveryCallback done) {
  std::vector<char*> args;
  for (const auto& a : options_.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  auto* run = new Run;
  run->owner = this;
  run->payload = std::move(payload);
  run->done = std::move(done);
  uv_pipe_init(runtime_.loop, &run->stdin_pipe, 0);
  run->stdin_pipe.data = run;
  run->process.data = run;
  run->open_handles = 2;  // the pipe, and the process handle (initialised even on failure)
  ++runs_;
  live_.push_back(run);

  uv_stdio_container_t stdio[3];
  stdio[0].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_READABLE_PIPE);
  stdio[0].data.stream = reinterpret_cast<uv_stream_t*>(&run->stdin_pipe);
  for (int fd = 1; fd <= 2; ++fd) {
    stdio[fd].flags = UV_INHERIT_FD;
    stdio[fd].data.fd = STDERR_FILENO;  // what the command says lands in redge's log
  }
  uv_process_options_t options{};
  options.exit_cb = &CommandReceiver::onExitCb;
  options.file = args[0];
  options.args = args.data();
  options.stdio_count = 3;
  options.stdio = stdio;
  int rc = uv_spawn(runtime_.loop, &run->process, &options);
  run->process.data = run;
  if (rc != 0) {
    run->exited = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&run->stdin_pipe), &CommandReceiver::onClosedCb);
    uv_close(reinterpret_cast<uv_handle_t*>(&run->process), &CommandReceiver::onClosedCb);
    DeliveryCallback cb = std::move(run->done);
    if (cb) cb("failed", std::string("cannot start ") + options_.argv[0] + ": " + uv_strerror(rc));
    return;
  }
  ++running_;
  run->write.data = run;
  uv_buf_t buf = uv_buf_init(run->payload.data(), static_cast<unsigned>(run->payload.size()));
  int wrc = uv_write(&run->write, reinterpret_cast<uv_stream_t*>(&run->stdin_pipe), &buf, 1,
                     &CommandReceiver::onWrittenCb);
  if (wrc != 0) {
    uv_close(reinterpret_cast<uv_handle_t*>(&run->stdin_pipe), &CommandReceiver::onClosedCb);
  }
  run->kill_timer = runtime_.timers.createTimer([this, run] { onTimeout(run); });
  run->kill_timer->enable(options_.timeout_ms);
}

void CommandReceiver::onWrittenCb(uv_write_t* req, int) noexcept {
  // Written (or the command stopped reading): closing stdin is its EOF.
  auto* run = static_cast<Run*>(req->data);
  auto* pipe = reinterpret_cast<uv_handle_t*>(&run->stdin_pipe);
  if (!uv_is_closing(pipe)) uv_close(pipe, &CommandReceiver::onClosedCb);
}

void CommandReceiver::onTimeout(Run* run) {
  run->timed_out = true;
  if (!run->exited) uv_process_kill(&run->process, SIGKILL);
}

void CommandReceiver::onExitCb(uv_process_t* process, int64_t exit_status,
                               int term_signal) noexcept {
  auto* run = static_cast<Run*>(process->data);
  if (run == nullptr || run->owner == nullptr) return;
  run->owner->onExit(run, exit_status, term_signal);
}

void CommandReceiver::onExit(Run* run, int64_t exit_status, int term_signal) {
  run->exited = true;
  --running_;
  run->kill_timer.reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&run->process), &CommandReceiver::onClosedCb);
  std::string outcome = "sent";
  std::string detail = "exit status " + std::to_string(exit_status);
  if (run->timed_out) {
    outcome = "timeout";
    detail = "killed after " + std::to_string(options_.timeout_ms) + " ms";
  } else if (term_signal != 0) {
    outcome = "failed";
    detail = "signal " + std::to_string(term_signal);
  } else if (exit_status != 0) {
    outcome = "failed";
  }
  DeliveryCallback cb = std::move(run->done);
  if (cb) cb(outcome, detail);
  startQueued();
}

void CommandReceiver::startQueued() {
  while (!closing_ && running_ < kMaxRunning && !queued_.empty()) {
    auto next = std::move(queued_.front());
    queued_.pop_front();
    start(std::move(next.first), std::move(next.second));
  }
}

void CommandReceiver::onClosedCb(uv_handle_t* handle) noexcept {
  auto* run = static_cast<Run*>(handle->data);
  if (run == nullptr) return;
  if (--run->open_handles > 0) return;
  if (run->owner) run->owner->release(run);
  delete run;
}

void CommandReceiver::release(Run* run) {
  live_.remove(run);
  --runs_;
}

void CommandReceiver::close() {
  if (closing_) return;
  closing_ = true;
  queued_.clear();
  for (Run* run : live_) {
    run->done = nullptr;
    run->kill_timer.reset();
    // The command keeps running on its own; its handles close now.
    for (auto* h : {reinterpret_cast<uv_handle_t*>(&run->process),
                    reinterpret_cast<uv_handle_t*>(&run->stdin_pipe)}) {
      if (!uv_is_closing(h)) uv_close(h, &CommandReceiver::onClosedCb);
    }
  }
}

std::unique_ptr<AlertReceiver> makeAlertReceiver(Runtime& runtime, const std::string& name,
                                                 const AlertReceiverOptions& options) {
  if (options.type == "command") return std::make_unique<CommandReceiver>(runtime, name, options);
  return std::make_unique<WebhookReceiver>(runtime, name, options);
}

}  // namespace redge
