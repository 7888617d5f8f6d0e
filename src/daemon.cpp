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
//
// Under systemd (Type=notify) the daemon says READY=1 once every listener
// listens and Redis has been tried once (connected or not: a unit that
// waits for Redis would hold the boot), keeps STATUS= current as Redis comes
// and goes, says STOPPING=1 when the drain begins, and pings the watchdog
// from a loop timer.
//
// As one worker of a group (server.workers > 1), the same daemon runs in a
// process the master forked: its listeners share their ports with the other
// workers (SO_REUSEPORT), the master alone talks to systemd, and a
// WorkerGroup carries its heartbeat, readiness and metrics to the master and
// the other workers (ops/workers/).
//
// SIGHUP reads the configuration again from the same sources, off the loop
// (on libuv's thread pool, where names resolve and files are read). A
// config that does not load, or that a module's prepare step refuses as it
// would at start-up, is refused (one error line) and the running one stays. Of a
// good one, log.level and log.access apply at once, each service takes what
// it can (Service::reload), and one line names the keys applied and those
// that need a restart (ports, binds, ...), which keep their running values.

#include "daemon.hpp"

#include <signal.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/log.hpp"
#include "core/uv_runtime.hpp"
#include "ops/process_metrics.hpp"
#include "ops/systemd/systemd_notifier.hpp"
#include "ops/workers/worker_master.hpp"
#include "redis/sentinel_watcher.hpp"

namespace redge {
namespace {

// How often the drain looks whether connections and work in flight are done.
constexpr int64_t kDrainPollMs = 20;

uv_loop_t* initLoop(uv_loop_t* loop) {
  uv_loop_init(loop);
  return loop;
}

// "a,b,c" for a log field; "none" when empty, so the field is always there.
std::string joinPaths(const std::vector<std::string>& paths) {
  if (paths.empty()) return "none";
  std::string text;
  for (const std::string& p : paths) {
    if (!text.empty()) text += ',';
    text += p;
  }
  return text;
}

class Daemon {
 public:
  Daemon(const Config& config, const RedisUrl& redis_url, const ConfigSources& sources,
         const WorkerIdentity* worker)
      : config_(config),
        sources_(sources),
        loaded_(config),
        timers_(initLoop(&loop_)),
        runtime_{&loop_, clock_, timers_, hooks_, metrics_},
        uv_hooks_(&loop_, hooks_),
        notifier_(timers_),
        reloads_applied_(metrics_.counter("redge_config_reloads_total",
                                          "SIGHUP reloads of the configuration, by result",
                                          {{"result", "applied"}})),
        reloads_refused_(metrics_.counter("redge_config_reloads_total",
                                          "SIGHUP reloads of the configuration, by result",
                                          {{"result", "refused"}})) {
    registerProcessMetrics(metrics_);
    redis_options_.url = redis_url;
    redis_options_.connect_timeout_ms = config.redis.connect_timeout_ms;
    redis_options_.command_timeout_ms = config.redis.command_timeout_ms;
    redis_options_.reconnect_min_ms = config.redis.reconnect_min_ms;
    redis_options_.reconnect_max_ms = config.redis.reconnect_max_ms;
    redis_options_.sentinel = makeSentinelWatcher(runtime_, config.redis);
    redis_ = std::make_unique<RedisClient>(runtime_, redis_options_);
    if (worker) group_ = std::make_unique<WorkerGroup>(*worker, runtime_);
  }

  int run(const std::vector<Module>& modules) {
    modules_ = modules;
    // Before anything listens: a SIGHUP or SIGTERM sent as soon as a port
    // answers (or a "listening" line shows) waits for the loop instead of
    // taking its default action, which ends the process.
    uv_signal_init(&loop_, &sigterm_);
    uv_signal_init(&loop_, &sigint_);
    uv_signal_init(&loop_, &sighup_);
    sigterm_.data = sigint_.data = sighup_.data = this;
    uv_signal_start(&sigterm_, &onSignalCb, SIGTERM);
    uv_signal_start(&sigint_, &onSignalCb, SIGINT);
    uv_signal_start(&sighup_, &onSighupCb, SIGHUP);
    if (group_) unblockWorkerSignals();  // blocked since the fork (worker_master.hpp)
    // Lives until the services are destroyed (they may keep it).
    ModuleContext context(runtime_, config_, *redis_, redis_options_);
    context.setStopHandler([this] { onStopRequested(); });
    if (group_) context.provide(*group_);
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
    start_failed_ = exit_code != 0;
    if (group_ && !start_failed_) group_->setListening();
    status_.listeners = listeners_.size();
    drain_timer_ = timers_.createTimer([this] { onDrainTick(); });
    redis_->onReady([this] { onRedisChanged(true); });
    redis_->onDown([this] { onRedisChanged(false); });
    if (exit_code == 0) {
      REDGE_LOG(Info, "started")
          .kv("version", REDGE_VERSION)
          .kv("pid", static_cast<int64_t>(getpid()));
    }
    redis_->start();
    for (auto& s : services_) s->start();
    if (group_) group_->start();
    if (start_failed_) shutdown();
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
  static void onSighupCb(uv_signal_t* h, int) noexcept { static_cast<Daemon*>(h->data)->reload(); }

  // The first answer from Redis, either way, completes start-up: READY=1.
  // Later ones keep STATUS= current.
  void onRedisChanged(bool connected) {
    bool first = !status_.redis_tried;
    status_.redis_tried = true;
    status_.redis_connected = connected;
    if (group_ && !shut_down_) group_->setRedis(connected);
    if (shut_down_ || draining_ || start_failed_) return;
    if (first) {
      status_.phase = ServingStatus::Phase::Serving;
      notifier_.ready(status_);
      REDGE_LOG(Info, "ready")
          .kv("listeners", static_cast<uint64_t>(status_.listeners))
          .kv("redis", connected ? "connected" : "down")
          .kv("systemd", notifier_.enabled())
          .kv("watchdog_ms", notifier_.watchdogPingMs());
    } else if (status_.phase == ServingStatus::Phase::Serving) {
      notifier_.status(status_);
    }
  }

  // SIGHUP. Reading the file and the modules' prepare steps (which resolve
  // member and upstream hosts with a blocking getaddrinfo, and read token
  // files) run on libuv's thread pool: a slow resolver or a stalled file
  // system delays the reload, never the traffic. A SIGHUP that comes while
  // one is being prepared asks for one more after it, which reads the
  // sources as they are then.
  void reload() {
    if (draining_ || shut_down_) return;  // the process is going away anyway
    if (reload_job_) {
      reload_again_ = true;
      return;
    }
    ServingStatus::Phase before = status_.phase;
    status_.phase = ServingStatus::Phase::Reloading;
    notifier_.reloading(status_);
    startReloadJob(before);
  }

  void startReloadJob(ServingStatus::Phase phase_before) {
    reload_job_ = std::make_unique<ReloadJob>();
    ReloadJob& job = *reload_job_;
    job.daemon = this;
    job.environment = processEnvironment();  // read here: setenv is not thread-safe
    job.phase_before = phase_before;
    job.req.data = &job;
    uv_queue_work(&loop_, &job.req, &onReloadWorkCb, &onReloadPreparedCb);
  }

  // Everything a reload reads, on a pool thread; touches only the job and
  // what is constant after start-up (the schema, the command line, the
  // module list).
  struct ReloadJob {
    uv_work_t req;
    Daemon* daemon = nullptr;
    std::map<std::string, std::string> environment;
    ServingStatus::Phase phase_before = ServingStatus::Phase::Starting;
    Config next;
    std::optional<ConfigError> error;
  };

  static void onReloadWorkCb(uv_work_t* req) noexcept {
    ReloadJob& job = *static_cast<ReloadJob*>(req->data);
    job.error = job.daemon->prepareReload(job.environment, job.next);
  }

  static void onReloadPreparedCb(uv_work_t* req, int) noexcept {
    static_cast<ReloadJob*>(req->data)->daemon->finishReload();
  }

  std::optional<ConfigError> prepareReload(const std::map<std::string, std::string>& environment,
                                           Config& next) const {
    std::optional<ConfigError> error =
        loadConfig(sources_.schema, sources_.command_line, environment, next);
    if (error) return error;
    RedisUrl url;
    std::string url_error = parseRedisUrl(next.redis.url, url);
    if (!url_error.empty()) return ConfigError{"redis.url", url_error};
    // The same checks as at start-up (a member host that does not resolve,
    // a token file that cannot be read): a config that would not start is
    // not applied either.
    for (const Module& m : modules_) {
      if (!m.prepare || !m.enabled(next)) continue;
      if ((error = m.prepare(next))) return error;
    }
    return std::nullopt;
  }

  void finishReload() {
    std::unique_ptr<ReloadJob> job = std::move(reload_job_);
    // A drain that began meanwhile owns the status now, and a process that
    // is going away applies nothing.
    if (draining_ || shut_down_) return;
    if (job->error) {
      reloads_refused_.inc();
      REDGE_LOG(Error, "config_reload_refused")
          .kv("path", job->error->path)
          .kv("reason", job->error->reason)
          .kv("kept", "the running configuration");
    } else {
      applyReload(job->next);
    }
    if (reload_again_) {
      // Still RELOADING=1 to systemd: READY=1 comes after the last one.
      reload_again_ = false;
      startReloadJob(job->phase_before);
      return;
    }
    status_.phase = job->phase_before;
    if (job->phase_before == ServingStatus::Phase::Serving) {
      notifier_.ready(status_);  // ends RELOADING=1
    } else {
      notifier_.status(status_);
    }
    if (group_) group_->reloaded();  // the master's READY=1 waits for every worker's
  }

  void applyReload(const Config& next) {
    std::vector<std::string> live = {"log.level", "log.access"};
    for (auto& l : listeners_) l->setAccessLog(next.log.access);
    for (auto& s : services_) s->reload(next, live);
    auto isLive = [&](const std::string& path) {
      return std::find(live.begin(), live.end(), path) != live.end();
    };
    // Applied: what changed since the last reload and is live. Needing a
    // restart: what differs from the running (start-up) value and is not,
    // so a pending restart is named again at every reload until it happens.
    std::vector<std::string> applied;
    for (std::string& p : sources_.schema.changedPaths(loaded_, next)) {
      if (isLive(p)) applied.push_back(std::move(p));
    }
    std::vector<std::string> restart;
    for (std::string& p : sources_.schema.changedPaths(config_, next)) {
      if (!isLive(p)) restart.push_back(std::move(p));
    }
    reloads_applied_.inc();
    // Logged before the new level applies, so it shows at the level the
    // operator ran when asking; a warning when a restart is owed, since
    // the file then says something the process does not do.
    LogLine(restart.empty() ? LogLevel::Info : LogLevel::Warn, "config_reloaded")
        .kv("file", sources_.command_line.config_file.value_or("none"))
        .kv("applied", joinPaths(applied))
        .kv("restart_needed", joinPaths(restart));
    LogLevel level = LogLevel::Info;
    parseLogLevel(next.log.level, level);
    Log::setLevel(level);
    loaded_ = next;
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
    status_.phase = ServingStatus::Phase::Draining;
    status_.open_connections = openWork();
    notifier_.stopping(status_);
    if (group_) group_->setDraining();
    drain_deadline_ms_ = clock_.nowMs() + config_.server.drain_timeout_ms;
    for (auto& l : listeners_) l->beginDrain();
    for (auto& s : services_) s->beginDrain();
    drain_timer_->enable(0);
  }

  size_t openWork() const {
    size_t open = 0;
    for (auto& l : listeners_) open += l->openConnections();
    // Work in flight finishes too, so its outcome is recorded (a relay
    // delivery cut off here is not lost: the next start recovers it).
    for (auto& s : services_) open += s->inflight();
    return open;
  }

  void onDrainTick() {
    size_t open = openWork();
    status_.open_connections = open;
    notifier_.status(status_);
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
    // A reload still queued is dropped; one already reading its sources
    // holds the loop (and so the exit) until its read returns, and then
    // applies nothing.
    if (reload_job_) uv_cancel(reinterpret_cast<uv_req_t*>(&reload_job_->req));
    for (auto& l : listeners_) l->close([] {});
    for (auto& s : services_) s->close([] {});
    redis_->close();
    drain_timer_.reset();
    if (group_) group_->close();
    notifier_.close();
    uv_hooks_.close();
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sighup_), nullptr);
  }

  const Config& config_;  // as started: what services and listeners run with
  const ConfigSources& sources_;
  std::vector<Module> modules_;  // for their prepare step at a reload
  Config loaded_;                // the last configuration read (start-up or the last good reload)
  uv_loop_t loop_;
  SteadyClock clock_;
  MetricsRegistry metrics_;
  LoopHooks hooks_;
  UvTimerFactory timers_;
  Runtime runtime_;
  UvLoopHooks uv_hooks_;
  SystemdNotifier notifier_;
  ServingStatus status_;
  Counter& reloads_applied_;
  Counter& reloads_refused_;
  RedisClientOptions redis_options_;
  std::unique_ptr<RedisClient> redis_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<Service>> services_;
  std::unique_ptr<WorkerGroup> group_;     // set in a worker of a group
  std::unique_ptr<ReloadJob> reload_job_;  // while a reload is prepared off the loop
  bool reload_again_ = false;              // a SIGHUP came meanwhile
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  uv_signal_t sighup_;
  TimerPtr drain_timer_;
  bool draining_ = false;
  bool shut_down_ = false;
  bool start_failed_ = false;  // a listener could not listen: never READY=1
  int64_t drain_deadline_ms_ = 0;
};

}  // namespace

int runDaemon(const Config& config, const RedisUrl& redis_url, const std::vector<Module>& modules,
              const ConfigSources& sources, const WorkerIdentity* worker) {
  Daemon daemon(config, redis_url, sources, worker);
  return daemon.run(modules);
}

}  // namespace redge
