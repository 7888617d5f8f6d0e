// The discovery service's life: this instance's registration and
// heartbeat, the reaper, the stop request from POST /destroy, the drain and
// the close path. The admin routes are in discovery_admin.cpp.
//
// Registration rides the shared Redis connection, so a heartbeat already
// sent and the deregistration the drain sends reach Redis in that order and
// the instance ends deregistered. The drain waits for the deregistration's
// answer (inflight()), or a quick stop would close Redis with the command
// still unwritten.

#include "services/discovery/discovery_service.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "core/host_name.hpp"
#include "core/log.hpp"

namespace redge {

DiscoveryService::DiscoveryService(ModuleContext& context)
    : context_(context),
      runtime_(context.runtime()),
      redis_(context.redis()),
      options_(context.config().module<DiscoveryOptions>()),
      redis_url_(context.config().redis.url),
      app_(context.findHttpServer("app")),
      stats_(bindDiscoveryStats(runtime_.metrics)),
      store_(redis_, context.config().redis.key_prefix),
      registry_(runtime_, redis_, context.redisOptions(), store_, stats_),
      runner_(runtime_.loop),
      random_(std::random_device{}()),
      heartbeat_timer_(runtime_.timers.createTimer([this] { onHeartbeatTick(); })),
      reap_timer_(runtime_.timers.createTimer([this] { onReapTick(); })),
      spawn_timer_(runtime_.timers.createTimer([this] { onSpawnDeadline(); })) {
  registry_.onControl([this](const ControlMessage& m) { onControl(m); });
  registry_.watch([this](const RegistryChange& c) { onRegistryChange(c); });

  self_.id = options_.id.empty() ? newInstanceId(options_.service) : options_.id;
  self_.service = options_.service;
  self_.tags = options_.tags;
  self_.version = REDGE_VERSION;
  self_.host = hostName();
  self_.pid = static_cast<int64_t>(getpid());
  self_.lease_ms = options_.lease_ms;
  registering_ = options_.register_self && (!options_.advertise.empty() || app_ != nullptr);
  if (options_.register_self && !registering_) {
    REDGE_LOG(Warn, "discovery_not_registered")
        .kv("reason",
            "no address to advertise: set discovery.advertise, or enable the app listener");
  }
  if (registering_) {
    // Registered as soon as Redis is there, and again after every reconnect
    // (Redis may have restarted empty).
    redis_.onReady([this] { heartbeat(); });
  }
  if (HttpServer* admin = context.findHttpServer("admin")) {
    mountRoutes(*admin);
  } else {
    REDGE_LOG(Warn, "discovery_admin_not_served")
        .kv("reason",
            "GET /listservers, POST /spawn and POST /destroy live on the admin "
            "listener, and admin.enabled is false");
  }
}

void DiscoveryService::resolveSelf() {
  if (!options_.advertise.empty()) {
    self_.address = options_.advertise;
    return;
  }
  // Listening, so the port is the one bound (app.port 0 picks one).
  std::string host = app_->options().bind;
  if (host.empty() || host == "0.0.0.0" || host == "::") host = self_.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  self_.address = host + ":" + std::to_string(app_->port());
}

void DiscoveryService::start() {
  registry_.start();
  reap_timer_->enable(kReapIntervalMs);
  if (!registering_) return;
  resolveSelf();
  REDGE_LOG(Info, "discovery_started")
      .kv("id", self_.id)
      .kv("service", self_.service)
      .kv("address", self_.address)
      .kv("lease_ms", self_.lease_ms);
  heartbeat_timer_->enable(std::max<int64_t>(1, options_.lease_ms / 3));
}

void DiscoveryService::onHeartbeatTick() {
  heartbeat();
  heartbeat_timer_->enable(std::max<int64_t>(1, options_.lease_ms / 3));
}

// Percent of one core this process used since the previous heartbeat
// (all its threads: with workers each worker registers on its own).
std::optional<double> DiscoveryService::cpuSinceLastBeat() {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return std::nullopt;
  const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  const int64_t now_us = runtime_.clock.nowUs();
  std::optional<double> percent;
  if (beat_at_us_ >= 0 && now_us > beat_at_us_) {
    percent = std::max(
        0.0, (cpu - cpu_seconds_at_beat_) * 1e8 / static_cast<double>(now_us - beat_at_us_));
  }
  cpu_seconds_at_beat_ = cpu;
  beat_at_us_ = now_us;
  return percent;
}

void DiscoveryService::heartbeat() {
  if (!registering_ || draining_ || closed_ || heartbeat_in_flight_) return;
  if (!redis_.ready()) {
    // Before the first registration the connect is still under way: not a
    // failure yet.
    if (!registered_logged_) return;
    stats_.heartbeat_failures_total.inc();
    if (!heartbeat_failure_logged_) {
      heartbeat_failure_logged_ = true;
      REDGE_LOG(Warn, "discovery_heartbeat_failed")
          .kv("id", self_.id)
          .kv("error", "unavailable")
          .kv("note", "the lease expires unless Redis is back within lease_ms");
    }
    return;
  }
  heartbeat_in_flight_ = true;
  const std::optional<double> cpu = cpuSinceLastBeat();
  store_.registerInstance(self_, cpu, [this](RedisStatus status, const RegistrationResult& r) {
    heartbeat_in_flight_ = false;
    if (closed_) return;
    if (status != RedisStatus::Ok) {
      stats_.heartbeat_failures_total.inc();
      if (!heartbeat_failure_logged_) {
        heartbeat_failure_logged_ = true;
        REDGE_LOG(Warn, "discovery_heartbeat_failed")
            .kv("id", self_.id)
            .kv("error", redisStatusName(status));
      }
      return;
    }
    stats_.heartbeats_total.inc();
    if (heartbeat_failure_logged_) {
      heartbeat_failure_logged_ = false;
      REDGE_LOG(Info, "discovery_heartbeat_recovered").kv("id", self_.id);
    }
    if (r.kind == RegistrationResult::Kind::Refused) {
      // POST /destroy removed this id; the stop request on the control
      // channel was missed (or is on its way): obey it now.
      REDGE_LOG(Warn, "discovery_registration_refused")
          .kv("id", self_.id)
          .kv("reason", "destroyed")
          .kv("action", "stopping");
      context_.requestStop();
      return;
    }
    self_.started_at_ms = r.started_at_ms;
    if (r.kind != RegistrationResult::Kind::Heartbeat) {
      REDGE_LOG(Info, registered_logged_ ? "discovery_reregistered" : "discovery_registered")
          .kv("id", self_.id)
          .kv("service", self_.service)
          .kv("address", self_.address)
          .kv("lease_ms", self_.lease_ms);
    }
    registered_logged_ = true;
  });
}

void DiscoveryService::onReapTick() {
  registry_.checkConnections();
  if (redis_.ready()) {
    store_.reap(kReapBatch, [this](RedisStatus status, const std::vector<std::string>& ids) {
      if (closed_ || status != RedisStatus::Ok || ids.empty()) return;
      stats_.leases_reaped_total.inc(ids.size());
      std::string list;
      for (const auto& id : ids) list.append(list.empty() ? "" : ",").append(id);
      // Every follower logs each expiry (event=instance_expired); this says
      // which reaper removed them.
      REDGE_LOG(Debug, "leases_reaped")
          .kv("count", static_cast<uint64_t>(ids.size()))
          .kv("ids", list);
    });
  }
  reap_timer_->enable(kReapIntervalMs);
}

void DiscoveryService::onControl(const ControlMessage& message) {
  if (message.op != "stop" || !registering_ || message.id != self_.id || draining_ || closed_) {
    return;
  }
  REDGE_LOG(Info, "discovery_stop_requested").kv("id", self_.id).kv("via", "POST /destroy");
  context_.requestStop();
}

void DiscoveryService::beginDrain() {
  if (draining_) return;
  draining_ = true;
  heartbeat_timer_->disable();
  // Spawns still waiting are answered now rather than cut off when the
  // drain ends; the instances may still register.
  for (auto& [id, wait] : spawn_waits_) {
    wait.responder.sendError(503, "shutting_down",
                             "This redge is stopping before the spawned instances registered; "
                             "they may still register (see GET /listservers).");
  }
  spawn_waits_.clear();
  spawn_timer_->disable();
  updatePendingGauge();
  if (!registering_) return;
  deregister_pending_ = true;
  store_.deregister(self_.id, "deregistered", [this](RedisStatus status, bool removed) {
    deregister_pending_ = false;
    if (status == RedisStatus::Ok) {
      REDGE_LOG(Info, "discovery_deregistered").kv("id", self_.id).kv("removed", removed);
      return;
    }
    REDGE_LOG(Warn, "discovery_deregister_failed")
        .kv("id", self_.id)
        .kv("error", redisStatusName(status))
        .kv("note", "the lease expires on its own within lease_ms");
  });
}

void DiscoveryService::close(std::function<void()> done) {
  if (!closed_) {
    closed_ = true;
    heartbeat_timer_.reset();
    reap_timer_.reset();
    spawn_timer_.reset();
    spawn_waits_.clear();
    registry_.close();
    runner_.close();  // spawned instances keep running: they are not ours to stop
  }
  if (done) done();
}

std::string DiscoveryService::newInstanceId(const std::string& service) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t bits = random_();
  std::string id = service.substr(0, 51) + "-";
  for (int i = 0; i < 12; ++i) {
    id.push_back(kHex[bits & 0xf]);
    bits >>= 4;
  }
  return id;
}

}  // namespace redge
