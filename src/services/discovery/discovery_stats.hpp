#pragma once
// The discovery module's metrics, one table (redge_discovery_*).

#include "core/stats.hpp"

namespace redge {

// clang-format off
#define REDGE_DISCOVERY_STATS(COUNTER, GAUGE, HISTOGRAM)                                           \
  GAUGE(instances, "Instances in this process's registry view")                                    \
  GAUGE(registry_stale, "1 while Redis is down and the registry view serves its last snapshot")    \
  COUNTER(registry_loads_total, "Full loads of the registry (start, reconnect, a missed change)")  \
  COUNTER(instances_registered_total, "Instances this view saw register")                          \
  COUNTER(instances_updated_total, "Registered instances this view saw change")                    \
  COUNTER(instances_deregistered_total, "Instances this view saw leave on a graceful stop")         \
  COUNTER(instances_expired_total, "Instances this view saw expire (no heartbeat within the lease)")\
  COUNTER(instances_destroyed_total, "Instances this view saw removed by POST /destroy")           \
  COUNTER(instances_resynced_total, "Registry differences found by a full load, not by a message") \
  COUNTER(heartbeats_total, "Registrations and heartbeats this instance wrote")                    \
  COUNTER(heartbeat_failures_total, "Heartbeats of this instance that did not reach Redis")        \
  COUNTER(leases_reaped_total, "Expired leases this process's reaper removed")                     \
  GAUGE(spawns_pending, "Spawned instances not registered yet")                                    \
  COUNTER(spawns_started_total, "Instances POST /spawn started")                                   \
  COUNTER(spawns_finished_total, "Spawned instances that registered in time")                      \
  COUNTER(spawns_failed_total, "Spawned instances that failed (command error, early exit, timeout)")\
  COUNTER(destroys_total, "Instances POST /destroy told to stop")                                  \
  COUNTER(destroy_commands_failed_total, "discovery.destroy_command runs that failed")
// clang-format on

struct DiscoveryStats {
  REDGE_STATS_MEMBERS(REDGE_DISCOVERY_STATS)
};

inline DiscoveryStats bindDiscoveryStats(MetricsRegistry& metrics) {
  StatsBinder stats_binder(metrics, "redge_discovery_", {});
  return REDGE_STATS_BIND(REDGE_DISCOVERY_STATS);
}

}  // namespace redge
