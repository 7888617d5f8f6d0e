// ServiceRegistry: the snapshot's I/O (see the header). The subscriber is a
// second RedisClient in subscriber mode on <prefix>instances:*, which
// matches the two channels (changes, control) and no key. Each time it is
// (re)subscribed, and each time the command connection comes back, the
// whole registry is loaded again: messages published while either was away
// are lost to it.

#include "services/discovery/service_registry.hpp"

#include "core/log.hpp"

namespace redge {
namespace {

std::string_view changeEvent(const RegistryChange& c) {
  switch (c.op) {
    case ChangeOp::Added:
      return "instance_registered";
    case ChangeOp::Updated:
      return "instance_updated";
    case ChangeOp::Removed:
      if (c.reason == "deregistered") return "instance_deregistered";
      if (c.reason == "expired") return "instance_expired";
      if (c.reason == "destroyed") return "instance_destroyed";
      return "instance_removed";
  }
  return "instance_changed";
}

}  // namespace

ServiceRegistry::ServiceRegistry(Runtime& runtime, RedisClient& commands,
                                 RedisClientOptions subscriber_options, RegistryStore& store,
                                 DiscoveryStats& stats)
    : runtime_(runtime),
      commands_(commands),
      store_(store),
      stats_(stats),
      changes_channel_(store.changesChannel()),
      control_channel_(store.controlChannel()) {
  subscriber_options.name = "discovery";
  subscriber_ = std::make_unique<RedisClient>(runtime, std::move(subscriber_options));
  subscriber_->psubscribe(
      store.channelPattern(),
      [this](std::string_view channel, std::string_view payload) { onMessage(channel, payload); });
  subscriber_->onReady([this] { refresh(); });
  commands_.onReady([this] { refresh(); });
}

void ServiceRegistry::start() {
  subscriber_->start();
}

void ServiceRegistry::close() {
  if (closed_) return;
  closed_ = true;
  watchers_.clear();
  load_waiters_.clear();
  next_waiters_.clear();
  subscriber_->close();
}

std::vector<InstanceRecord> ServiceRegistry::all() const {
  std::vector<InstanceRecord> out;
  out.reserve(snapshot_.size());
  for (const auto& [id, r] : snapshot_.all()) out.push_back(r);
  return out;
}

ServiceRegistry::WatchId ServiceRegistry::watch(ChangeCallback cb) {
  WatchId id = next_watch_++;
  watchers_.emplace(id, std::move(cb));
  return id;
}

void ServiceRegistry::unwatch(WatchId id) {
  watchers_.erase(id);
}

void ServiceRegistry::refresh(std::function<void(bool)> done) {
  if (closed_) return;
  if (!commands_.ready()) {
    if (snapshot_.loaded()) markStale("redis_down");
    if (done) done(false);
    return;
  }
  if (load_in_flight_) {
    load_again_ = true;
    if (done) next_waiters_.push_back(std::move(done));
    return;
  }
  if (done) load_waiters_.push_back(std::move(done));
  startLoad();
}

void ServiceRegistry::startLoad() {
  load_in_flight_ = true;
  stats_.registry_loads_total.inc();
  snapshot_.beginLoad();
  store_.load([this](RedisStatus status, std::optional<RegistryLoad> load) {
    onLoaded(status, std::move(load));
  });
}

void ServiceRegistry::onLoaded(RedisStatus status, std::optional<RegistryLoad> load) {
  if (closed_) return;
  load_in_flight_ = false;
  bool gap = false;
  bool ok = status == RedisStatus::Ok && load.has_value();
  if (ok) {
    deliver(snapshot_.finishLoad(*load, gap));
    if (following()) markFresh();
  } else {
    deliver(snapshot_.abandonLoad(gap));
    REDGE_LOG(Warn, "discovery_registry_load_failed").kv("error", redisStatusName(status));
    if (status != RedisStatus::ErrorReply && status != RedisStatus::Ok && snapshot_.loaded()) {
      markStale("redis_down");
    }
  }
  std::vector<std::function<void(bool)>> waiters = std::move(load_waiters_);
  load_waiters_.clear();
  if (gap) load_again_ = true;
  if (load_again_ && commands_.ready()) {
    load_again_ = false;
    load_waiters_ = std::move(next_waiters_);
    next_waiters_.clear();
    startLoad();
  } else {
    load_again_ = false;
    for (auto& w : next_waiters_) waiters.push_back(std::move(w));
    next_waiters_.clear();
  }
  for (auto& w : waiters) {
    if (closed_) return;
    w(ok);
  }
}

void ServiceRegistry::onMessage(std::string_view channel, std::string_view payload) {
  if (closed_) return;
  if (channel == changes_channel_) {
    std::optional<RegistryMessage> m = parseRegistryMessage(payload);
    if (!m) {
      // A writer this redge does not understand: resync rather than guess.
      if (!bad_message_logged_) {
        bad_message_logged_ = true;
        REDGE_LOG(Warn, "discovery_message_ignored")
            .kv("channel", channel)
            .kv("reason", "not a registry change message")
            .kv("payload", payload.substr(0, 200));
      }
      refresh();
      return;
    }
    bool gap = false;
    deliver(snapshot_.apply(*m, gap));
    if (gap) {
      REDGE_LOG(Info, "discovery_registry_gap").kv("seq", m->seq).kv("action", "reload");
      refresh();
    }
    return;
  }
  if (channel == control_channel_) {
    std::optional<ControlMessage> m = parseControlMessage(payload);
    if (m && on_control_) on_control_(*m);
  }
}

void ServiceRegistry::deliver(const std::vector<RegistryChange>& changes) {
  stats_.instances.set(static_cast<double>(snapshot_.size()));
  for (const RegistryChange& c : changes) {
    if (closed_) return;
    if (c.reason == "resync") {
      stats_.instances_resynced_total.inc();
    } else if (c.op == ChangeOp::Added) {
      stats_.instances_registered_total.inc();
    } else if (c.op == ChangeOp::Updated) {
      stats_.instances_updated_total.inc();
    } else if (c.reason == "deregistered") {
      stats_.instances_deregistered_total.inc();
    } else if (c.reason == "expired") {
      stats_.instances_expired_total.inc();
    } else if (c.reason == "destroyed") {
      stats_.instances_destroyed_total.inc();
    }
    REDGE_LOG(Info, changeEvent(c))
        .kv("id", c.instance.id)
        .kv("service", c.instance.service)
        .kv("address", c.instance.address)
        .kv("reason", c.reason);
    // A watcher may watch or unwatch others (or itself) while called.
    std::vector<WatchId> ids;
    ids.reserve(watchers_.size());
    for (const auto& [id, cb] : watchers_) ids.push_back(id);
    for (WatchId id : ids) {
      auto it = watchers_.find(id);
      if (it == watchers_.end()) continue;
      ChangeCallback cb = it->second;  // survives an unwatch from inside
      cb(c);
      if (closed_) return;
    }
  }
}

void ServiceRegistry::checkConnections() {
  if (closed_) return;
  if (!following()) markStale("redis_down");
}

void ServiceRegistry::markStale(std::string_view reason) {
  if (stale_) return;
  stale_ = true;
  stale_since_ms_ = runtime_.clock.nowMs();
  stats_.registry_stale.set(1);
  REDGE_LOG(Warn, "discovery_registry_stale")
      .kv("reason", reason)
      .kv("instances", static_cast<uint64_t>(snapshot_.size()))
      .kv("action", "routing on the last snapshot until Redis is back");
}

void ServiceRegistry::markFresh() {
  if (!stale_) return;
  stale_ = false;
  stats_.registry_stale.set(0);
  REDGE_LOG(Info, "discovery_registry_resynced")
      .kv("instances", static_cast<uint64_t>(snapshot_.size()))
      .kv("stale_ms", runtime_.clock.nowMs() - stale_since_ms_);
}

void ServiceRegistry::readCpu(std::string_view service,
                              std::function<void(bool, std::map<std::string, double>)> cb) {
  std::vector<std::string> ids;
  for (const InstanceRecord& r : snapshot_.ofService(service)) ids.push_back(r.id);
  readCpu(std::move(ids), std::move(cb));
}

void ServiceRegistry::readCpu(std::vector<std::string> ids,
                              std::function<void(bool, std::map<std::string, double>)> cb) {
  if (ids.empty()) return cb(true, {});
  if (closed_ || !commands_.ready()) return cb(false, {});
  store_.readCpu(ids, [ids, cb = std::move(cb)](RedisStatus s, std::vector<double> values) {
    std::map<std::string, double> out;
    for (size_t i = 0; i < values.size() && i < ids.size(); ++i) {
      if (values[i] >= 0) out.emplace(ids[i], values[i]);
    }
    cb(s == RedisStatus::Ok, std::move(out));
  });
}

}  // namespace redge
