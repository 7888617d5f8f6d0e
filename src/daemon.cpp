// The daemon: start-up, the signal-driven drain, and shutdown, over any list
// of modules.
//
// Start-up creates the Runtime (loop, clock, timers, hooks, metrics) and the
// shared Redis client, then each enabled module's service (modules create
// their listeners through the ModuleContext), then listens on every listener
// and starts Redis and the services. SIGTERM or SIGINT begins a drain:
// listeners stop accepting, idle connections close, work in flight finishes
// (bounded by server.drain_timeout_ms); then listeners close, then services,
// then Redis, which fails whatever is still pending into responders that
// find no connection. A second signal skips the wait.

#include "daemon.hpp"

#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include <memory>

#include "core/log.hpp"
#include "core/uv_runtime.hpp"
#include "ops/process_metrics.hpp"
#include "redis/sentinel_watcher.hpp"

namespace redge {
namespace {

// How often the drain looks whether connections and work in flight are done.
constexpr int64_t kDrainPollMs = 20;

uv_loop_t* initLoop(uv_loop_t* loop) {
  uv_loop_init(loop);
  return loop;
}

class Daemon {
 public:
  Daemon(const Config& config, const RedisUrl& redis_url)
      : config_(config),
        timers_(initLoop(&loop_)),
        runtime_{&loop_, clock_, timers_, hooks_, metrics_},
        uv_hooks_(&loop_, hooks_) {
    registerProcessMetrics(metrics_);
    redis_options_.url = redis_url;
    redis_options_.connect_timeout_ms = config.redis.connect_timeout_ms;
    redis_options_.command_timeout_ms = config.redis.command_timeout_ms;
    redis_options_.reconnect_min_ms = config.redis.reconnect_min_ms;
    redis_options_.reconnect_max_ms = config.redis.reconnect_max_ms;
    redis_options_.sentinel = makeSentinelWatcher(runtime_, config.redis);
    redis_ = std::make_unique<RedisClient>(runtime_, redis_options_);
  }

  int run(const std::vector<Module>& modules) {
    // Lives until the services are destroyed (they may keep it).
    ModuleContext context(runtime_, config_, *redis_, redis_options_);
    context.setStopHandler([this] { onStopRequested(); });
    for (const Module& m : modules) {
      if (!m.enabled(config_)) continue;
      if (auto service = m.create(context)) services_.push_back(std::move(service));
    }
    listeners_ = context.takeListeners();
    int exit_code = 0;
    for (auto& listener : listeners_) {
      int rc = listener->listen();
      if (rc == 0) continue;
      ListenerInfo info = listener->info();
      REDGE_LOG(Error, "listen_failed")
          .kv("service", info.service)
          .kv("protocol", info.protocol)
          .kv("bind", info.bind)
          .kv("port", info.port)
          .kv("error", uv_strerror(rc));
      exit_code = 1;
    }
    redis_->start();
    for (auto& s : services_) s->start();
    uv_signal_init(&loop_, &sigterm_);
    uv_signal_init(&loop_, &sigint_);
    sigterm_.data = sigint_.data = this;
    uv_signal_start(&sigterm_, &onSignalCb, SIGTERM);
    uv_signal_start(&sigint_, &onSignalCb, SIGINT);
    drain_timer_ = timers_.createTimer([this] { onDrainTick(); });
    if (exit_code != 0) {
      shutdown();
    } else {
      REDGE_LOG(Info, "started")
          .kv("version", REDGE_VERSION)
          .kv("pid", static_cast<int64_t>(getpid()));
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    // Everything has closed: what remains are objects, no handles.
    services_.clear();
    listeners_.clear();
    redis_.reset();
    int rc = uv_loop_close(&loop_);
    if (rc != 0) {
      // A handle outlived its owner's close path: a bug to fix, not to
      // ignore; the exit status says so and the test harness fails on it.
      uv_walk(
          &loop_,
          [](uv_handle_t* h, void*) {
            REDGE_LOG(Error, "handle_left_open").kv("type", uv_handle_type_name(h->type));
          },
          nullptr);
      REDGE_LOG(Error, "loop_not_empty").kv("error", uv_strerror(rc));
      exit_code = 1;
    }
    REDGE_LOG(Info, "stopped").kv("exit_code", exit_code);
    return exit_code;
  }

 private:
  static void onSignalCb(uv_signal_t* h, int signum) noexcept {
    static_cast<Daemon*>(h->data)->onSignal(signum);
  }

  void onSignal(int signum) {
    if (draining_) {
      REDGE_LOG(Info, "shutdown_forced").kv("signal", signum);
      shutdown();
      return;
    }
    REDGE_LOG(Info, "draining")
        .kv("signal", signum)
        .kv("timeout_ms", config_.server.drain_timeout_ms);
    beginDrain();
  }

  // A module asked (ModuleContext::requestStop): the drain SIGTERM begins,
  // but a repeated request does not force the shutdown a second signal does.
  void onStopRequested() {
    if (draining_ || shut_down_) return;
    REDGE_LOG(Info, "draining")
        .kv("cause", "stop_requested")
        .kv("timeout_ms", config_.server.drain_timeout_ms);
    beginDrain();
  }

  void beginDrain() {
    draining_ = true;
    drain_deadline_ms_ = clock_.nowMs() + config_.server.drain_timeout_ms;
    for (auto& l : listeners_) l->beginDrain();
    for (auto& s : services_) s->beginDrain();
    drain_timer_->enable(0);
  }

  void onDrainTick() {
    size_t open = 0;
    for (auto& l : listeners_) open += l->openConnections();
    // Work in flight finishes too, so its outcome is recorded (a relay
    // delivery cut off here is not lost: the next start recovers it).
    for (auto& s : services_) open += s->inflight();
    if (open == 0 || clock_.nowMs() >= drain_deadline_ms_) {
      if (open) {
        REDGE_LOG(Warn, "drain_timeout").kv("connections_dropped", static_cast<uint64_t>(open));
      }
      shutdown();
      return;
    }
    drain_timer_->enable(kDrainPollMs);
  }

  // Order matters: connections first (so no new Redis work), then the
  // services' handles, then Redis, which fails whatever is still pending.
  void shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& l : listeners_) l->close([] {});
    for (auto& s : services_) s->close([] {});
    redis_->close();
    drain_timer_.reset();
    uv_hooks_.close();
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  }

  const Config& config_;
  uv_loop_t loop_;
  SteadyClock clock_;
  MetricsRegistry metrics_;
  LoopHooks hooks_;
  UvTimerFactory timers_;
  Runtime runtime_;
  UvLoopHooks uv_hooks_;
  RedisClientOptions redis_options_;
  std::unique_ptr<RedisClient> redis_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Service>> services_;
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  TimerPtr drain_timer_;
  bool draining_ = false;
  bool shut_down_ = false;
  int64_t drain_deadline_ms_ = 0;
};

}  // namespace

int runDaemon(const Config& config, const RedisUrl& redis_url, const std::vector<Module>& modules) {
  Daemon daemon(config, redis_url);
  return daemon.run(modules);
}

}  // namespace redge
