#pragma once
// ServiceRegistry: the service registry as this process follows it, for the
// gateway and any module that routes to registered instances. The discovery
// module owns it and offers it through ModuleContext::provide, so a module
// created after discovery finds it with context.find<ServiceRegistry>().
//
// It keeps a snapshot of every instance: loaded whole (one script) at start,
// after every reconnect of either of its Redis connections and whenever a
// change message was missed; kept current between loads by the change
// messages on a dedicated subscriber connection. No request ever waits for
// it: instances() reads the snapshot. While Redis is down it keeps serving
// the last snapshot (stale() turns true, logged once per outage, and the
// gauge redge_discovery_registry_stale says so) and resyncs when Redis is
// back.
//
// Lifetime: valid until the services are destroyed. Watchers are called on
// the loop thread, in order, for every difference; none is called after the
// discovery service closes. Unwatch in your Service::close(), never in a
// destructor (the registry may be gone by then).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime.hpp"
#include "redis/redis_client.hpp"
#include "services/discovery/discovery_stats.hpp"
#include "services/discovery/registry_snapshot.hpp"
#include "services/discovery/registry_store.hpp"

namespace redge {

// What the gateway knows of one instance's traffic, for GET /listservers.
struct InstanceTraffic {
  std::string health;     // the gateway's word: "healthy", "unhealthy", ...
  int64_t inflight = 0;   // requests to it in flight now
  uint64_t requests = 0;  // requests sent to it so far
};

// Returns what the caller knows of `instance`, or nullopt (shown as null).
using TrafficProvider = std::function<std::optional<InstanceTraffic>(const InstanceRecord&)>;

class ServiceRegistry {
 public:
  using ChangeCallback = std::function<void(const RegistryChange& change)>;
  using WatchId = uint64_t;

  ServiceRegistry(Runtime& runtime, RedisClient& commands, RedisClientOptions subscriber_options,
                  RegistryStore& store, DiscoveryStats& stats);
  ServiceRegistry(const ServiceRegistry&) = delete;
  ServiceRegistry& operator=(const ServiceRegistry&) = delete;

  // ---- for the modules that follow the registry ----

  // Every registered instance of `service` (copies: safe to keep).
  std::vector<InstanceRecord> instances(std::string_view service) const {
    return snapshot_.ofService(service);
  }
  std::vector<InstanceRecord> all() const;
  size_t countOf(std::string_view service) const { return snapshot_.countOf(service); }
  // Valid until the next change is applied.
  const InstanceRecord* find(std::string_view id) const { return snapshot_.find(id); }
  // A load has answered at least once (before that the view is empty).
  bool loaded() const { return snapshot_.loaded(); }
  // Redis is down: the view is the last snapshot.
  bool stale() const { return stale_; }
  // Calls `cb` for every added, updated and removed instance from now on.
  WatchId watch(ChangeCallback cb);
  void unwatch(WatchId id);
  // What each instance of `service` reported with its last heartbeat: CPU,
  // percent of one core, by id (one that reported none is left out). Read
  // from Redis, not the view: heartbeats are not announced. `cb(false, {})`
  // when Redis did not answer; it may run before this returns.
  void readCpu(std::string_view service,
               std::function<void(bool ok, std::map<std::string, double> cpu)> cb);
  // The same for these instances (GET /listservers).
  void readCpu(std::vector<std::string> ids,
               std::function<void(bool ok, std::map<std::string, double> cpu)> cb);
  // The hook GET /listservers reads the health, in-flight and request counts
  // through (the gateway installs it; until then they show as null).
  void setTrafficProvider(TrafficProvider provider) { traffic_ = std::move(provider); }
  std::optional<InstanceTraffic> traffic(const InstanceRecord& instance) const {
    return traffic_ ? traffic_(instance) : std::nullopt;
  }

  // ---- for the discovery service ----

  void start();
  // Closes the subscriber; nothing is called back afterwards.
  void close();
  // Loads the whole registry again; `done(ok)` runs after the answer is
  // applied (at once with false when Redis is not connected).
  void refresh(std::function<void(bool ok)> done = {});
  // Notices an outage (called on the discovery service's timer).
  void checkConnections();
  // Both connections are up: changes are being followed.
  bool following() const { return commands_.ready() && subscriber_->ready(); }
  // Messages on the control channel.
  void onControl(std::function<void(const ControlMessage&)> handler) {
    on_control_ = std::move(handler);
  }

 private:
  void startLoad();
  void onLoaded(RedisStatus status, std::optional<RegistryLoad> load);
  void onMessage(std::string_view channel, std::string_view payload);
  void deliver(const std::vector<RegistryChange>& changes);
  void markStale(std::string_view reason);
  void markFresh();

  Runtime& runtime_;
  RedisClient& commands_;
  RegistryStore& store_;
  DiscoveryStats& stats_;
  std::unique_ptr<RedisClient> subscriber_;
  std::string changes_channel_;
  std::string control_channel_;
  RegistrySnapshot snapshot_;
  // One load at a time (two in flight could answer out of order); a
  // refresh asked meanwhile runs after it.
  bool load_in_flight_ = false;
  bool load_again_ = false;
  std::vector<std::function<void(bool)>> load_waiters_;
  std::vector<std::function<void(bool)>> next_waiters_;
  std::map<WatchId, ChangeCallback> watchers_;
  WatchId next_watch_ = 1;
  TrafficProvider traffic_;
  std::function<void(const ControlMessage&)> on_control_;
  bool stale_ = false;
  int64_t stale_since_ms_ = 0;
  bool bad_message_logged_ = false;
  bool closed_ = false;
};

}  // namespace redge
