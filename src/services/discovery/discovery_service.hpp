#pragma once
// The discovery module's service: this instance's registration (heartbeat
// every lease/3, deregistered at once when the drain begins, stopped when
// POST /destroy names it), the reaper every instance runs so a killed
// instance leaves the registry within its lease plus half a second, the
// ServiceRegistry view, and the admin routes:
//
//   GET  /listservers[?service=S]          every instance, with what the
//                                           gateway knows of its traffic
//   POST /spawn   {"service":S,"count":N}  runs discovery.spawn_command N
//                                           times; 201 once all registered
//   POST /destroy {"id":I}                 tells the instance to stop, then
//                                           runs discovery.destroy_command

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "services/discovery/command_runner.hpp"
#include "services/discovery/discovery_config.hpp"
#include "services/discovery/discovery_stats.hpp"
#include "services/discovery/registry_store.hpp"
#include "services/discovery/service_registry.hpp"
#include "services/service.hpp"

namespace redge {

class DiscoveryService final : public Service {
 public:
  // How often every instance reaps expired leases. SIGKILL to removal is at
  // most the lease plus this (plus a round trip), inside the lease + 1 s the
  // registry promises.
  static constexpr int64_t kReapIntervalMs = 500;
  static constexpr int64_t kReapBatch = 100;
  // POST /destroy keeps the id from registering again for this long at
  // least (3 leases if longer): a heartbeat already sent is refused.
  static constexpr int64_t kMinTombstoneMs = 60000;
  static constexpr int64_t kMaxSpawnCount = 100;
  static constexpr int64_t kMaxAdminBodyBytes = 16384;

  explicit DiscoveryService(ModuleContext& context);

  void start() override;
  void beginDrain() override;
  size_t inflight() const override { return deregister_pending_ ? 1 : 0; }
  void close(std::function<void()> done) override;

  ServiceRegistry& registry() { return registry_; }

 private:
  // One spawned instance of a POST /spawn, until it registers or fails.
  struct SpawnMember {
    enum class State { Starting, Registered, Failed } state = State::Starting;
    std::string id;
    int port = 0;
    int pid = 0;
    int64_t command = 0;  // the CommandRunner id while it runs
    std::string failure;
    InstanceRecord record;
  };
  struct SpawnWait {
    HttpResponder responder;
    std::string service;
    int64_t started_ms = 0;
    int64_t deadline_ms = 0;
    std::vector<SpawnMember> members;
  };

  // registration
  void resolveSelf();
  void heartbeat();
  std::optional<double> cpuSinceLastBeat();
  void onHeartbeatTick();
  void onReapTick();
  void onControl(const ControlMessage& message);

  // admin routes (discovery_admin.cpp)
  void mountRoutes(HttpServer& admin);
  void listServers(HttpRequest& request, const HttpResponder& responder);
  void answerList(const HttpResponder& responder, const std::string& service);
  void sendList(const HttpResponder& responder, const std::vector<InstanceRecord>& list,
                const std::map<std::string, double>& cpu);
  void spawn(HttpRequest& request, const HttpResponder& responder);
  void destroy(HttpRequest& request, const HttpResponder& responder);
  void runDestroyCommand(const InstanceRecord& record, std::string& outcome);
  void onRegistryChange(const RegistryChange& change);
  void onSpawnExit(uint64_t wait_id, const std::string& instance_id, int64_t status,
                   int term_signal);
  void failMember(SpawnWait& wait, SpawnMember& member, std::string_view reason,
                  std::string failure);
  void settle(uint64_t wait_id);
  void onSpawnDeadline();
  void armSpawnTimer();
  void updatePendingGauge();
  size_t pendingFor(const std::string& service) const;
  std::string newInstanceId(const std::string& service);

  ModuleContext& context_;
  Runtime& runtime_;
  RedisClient& redis_;
  DiscoveryOptions options_;
  std::string redis_url_;
  HttpServer* app_;  // null when app is disabled
  DiscoveryStats stats_;
  RegistryStore store_;
  ServiceRegistry registry_;
  CommandRunner runner_;
  std::mt19937_64 random_;

  InstanceRecord self_;
  bool registering_ = false;  // register_self and an address to advertise
  bool heartbeat_in_flight_ = false;
  // The process's CPU time at the last heartbeat, for the share of a core
  // it used since (the autoscaler's cpu metric reads it from the registry).
  double cpu_seconds_at_beat_ = 0;
  int64_t beat_at_us_ = -1;
  bool registered_logged_ = false;
  bool heartbeat_failure_logged_ = false;
  bool deregister_pending_ = false;
  bool draining_ = false;
  bool closed_ = false;
  TimerPtr heartbeat_timer_;
  TimerPtr reap_timer_;
  TimerPtr spawn_timer_;

  std::map<uint64_t, SpawnWait> spawn_waits_;
  uint64_t next_wait_id_ = 1;
};

}  // namespace redge
