#pragma once
// The stats of a pool and of each of its members, declared once here and
// bound once per label set (core/stats.hpp), so the gateway and the health
// checker count with an integer add:
//
//   redge_gateway_pool_members{pool}                   gauge
//   redge_gateway_pool_members_healthy{pool}           gauge: taking traffic now
//   redge_gateway_retries_total{pool}                  counter (the gateway's)
//   redge_gateway_retries_refused_total{pool}          counter: retry budget spent (the gateway's)
//   redge_gateway_member_healthy{pool,member}          gauge: 1 while taking traffic
//   redge_gateway_member_ejected{pool,member}          gauge
//   redge_gateway_member_ejections_total{pool,member}  counter
//   redge_gateway_member_ejections_refused_total{pool,member}  counter: max_ejection_percent
//   redge_gateway_member_downs_total{pool,member}      counter: taken out by active checks
//   redge_gateway_health_checks_total{pool,member,result}  counter: pass|fail|timeout|error
//
// HealthChecker binds and keeps the pool's and its members' stats current
// from the health events; the gateway counts retries on the pool's table.
// A member removed from the pool keeps its series (the registry forgets
// nothing) with its gauges at 0; one added again under the same name gets
// them back.

#include <string_view>

#include "core/metrics.hpp"
#include "core/stats.hpp"
#include "upstream/health_probe.hpp"

namespace redge {

// clang-format off
#define REDGE_UPSTREAM_POOL_STATS(COUNTER, GAUGE, HISTOGRAM)                                \
  GAUGE(pool_members, "Members in the upstream pool")                                       \
  GAUGE(pool_members_healthy, "Members of the upstream pool taking traffic now")            \
  COUNTER(retries_total, "Requests tried again on another member of the pool")              \
  COUNTER(retries_refused_total, "Retries not made because the pool's retry budget was spent")

#define REDGE_UPSTREAM_MEMBER_STATS(COUNTER, GAUGE, HISTOGRAM)                              \
  GAUGE(member_healthy,                                                                     \
        "1 while the pool member takes traffic: its checks pass and it is not ejected")     \
  GAUGE(member_ejected, "1 while the pool member is ejected for failed requests in a row")  \
  COUNTER(member_ejections_total, "Times the pool member was ejected for failed requests")  \
  COUNTER(member_ejections_refused_total,                                                   \
          "Ejections not made because max_ejection_percent of the pool was already out")    \
  COUNTER(member_downs_total, "Times active health checks took the pool member out")
// clang-format on

inline constexpr std::string_view kUpstreamStatsPrefix = "redge_gateway_";

struct UpstreamPoolStats {
  REDGE_STATS_MEMBERS(REDGE_UPSTREAM_POOL_STATS)
};

struct UpstreamMemberStats {
  REDGE_STATS_MEMBERS(REDGE_UPSTREAM_MEMBER_STATS)
};

// redge_gateway_health_checks_total, one series per result, bound at once.
class HealthCheckCounters {
 public:
  HealthCheckCounters(MetricsRegistry& metrics, std::string_view pool, std::string_view member);
  Counter& of(HealthCheckResult result) { return *by_result_[static_cast<size_t>(result)]; }

 private:
  Counter* by_result_[kHealthCheckResults];
};

UpstreamPoolStats bindUpstreamPoolStats(MetricsRegistry& metrics, std::string_view pool);
UpstreamMemberStats bindUpstreamMemberStats(MetricsRegistry& metrics, std::string_view pool,
                                            std::string_view member);

}  // namespace redge
