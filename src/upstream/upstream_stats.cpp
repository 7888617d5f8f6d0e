// The binding of the upstream stats tables (see upstream_stats.hpp): the
// pool's and the member's tables, and the health check counters, one series
// per result bound at once.

#include "upstream/upstream_stats.hpp"

#include <string>

namespace redge {

HealthCheckCounters::HealthCheckCounters(MetricsRegistry& metrics, std::string_view pool,
                                         std::string_view member) {
  for (size_t r = 0; r < kHealthCheckResults; ++r) {
    by_result_[r] = &metrics.counter(
        std::string(kUpstreamStatsPrefix) + "health_checks_total",
        "Active health checks of pool members, by result",
        {{"pool", std::string(pool)},
         {"member", std::string(member)},
         {"result", std::string(healthCheckResultName(static_cast<HealthCheckResult>(r)))}});
  }
}

UpstreamPoolStats bindUpstreamPoolStats(MetricsRegistry& metrics, std::string_view pool) {
  StatsBinder stats_binder(metrics, std::string(kUpstreamStatsPrefix),
                           {{"pool", std::string(pool)}});
  return REDGE_STATS_BIND(REDGE_UPSTREAM_POOL_STATS);
}

UpstreamMemberStats bindUpstreamMemberStats(MetricsRegistry& metrics, std::string_view pool,
                                            std::string_view member) {
  StatsBinder stats_binder(metrics, std::string(kUpstreamStatsPrefix),
                           {{"pool", std::string(pool)}, {"member", std::string(member)}});
  return REDGE_STATS_BIND(REDGE_UPSTREAM_MEMBER_STATS);
}

}  // namespace redge
