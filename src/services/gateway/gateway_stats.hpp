#pragma once
// The gateway's own stats, beside the pool and member health tables of
// upstream/upstream_stats.hpp (redge_gateway_pool_members, member_healthy,
// ejections, retries, health checks) and the per-member HTTP client series
// (redge_http_client_requests_total{client="gateway/<pool>/<member>"}):
//
//   redge_gateway_requests_total{pool}               counter: client requests routed to the pool
//   redge_gateway_rotation_fallback{pool}            gauge: 1 while redis_rotation picks locally
//   redge_gateway_rotation_picks_total{pool,source}  counter: redis | local
//   redge_gateway_member_requests_total{pool,member} counter: tries sent to the member
//   redge_gateway_member_inflight{pool,member}       gauge: tries in flight to it now
//   redge_gateway_member_failures_total{pool,member} counter: 5xx answers and errors (passive)
//
// Bound once per pool and once per member (the first time a member of that
// name joins), so counting on the request path is an integer add.

#include <string_view>

#include "core/metrics.hpp"
#include "core/stats.hpp"

namespace redge {

// clang-format off
#define REDGE_GATEWAY_POOL_STATS(COUNTER, GAUGE, HISTOGRAM)                               \
  COUNTER(requests_total, "Client requests the gateway routed to the pool")              \
  GAUGE(rotation_fallback,                                                                \
        "1 while the pool's redis_rotation picks locally because Redis is unavailable")

#define REDGE_GATEWAY_MEMBER_STATS(COUNTER, GAUGE, HISTOGRAM)                             \
  COUNTER(member_requests_total, "Tries the gateway sent to the pool member")            \
  GAUGE(member_inflight, "Tries in flight to the pool member now")                       \
  COUNTER(member_failures_total,                                                          \
          "Tries to the pool member that failed: a 5xx answer, or no answer at all")
// clang-format on

struct GatewayPoolStats {
  REDGE_STATS_MEMBERS(REDGE_GATEWAY_POOL_STATS)
  Counter& rotation_redis_picks;
  Counter& rotation_local_picks;
};

struct GatewayMemberStats {
  REDGE_STATS_MEMBERS(REDGE_GATEWAY_MEMBER_STATS)
};

GatewayPoolStats bindGatewayPoolStats(MetricsRegistry& metrics, std::string_view pool);
GatewayMemberStats bindGatewayMemberStats(MetricsRegistry& metrics, std::string_view pool,
                                          std::string_view member);

}  // namespace redge
