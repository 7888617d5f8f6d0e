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
// A pool with a canary side counts its two sides apart, so alert rules can
// compare them (side="stable" | "canary"):
//
//   redge_gateway_side_requests_total{pool,side}           counter: requests sent to the side
//   redge_gateway_side_responses_total{pool,side,status}   counter: answers, by status
//   redge_gateway_side_errors_total{pool,side,code}        counter: the gateway's own error answers
//   redge_gateway_side_request_duration_seconds{pool,side} histogram: request to answer's end
//   redge_gateway_canary_weight{pool}                      gauge: the canary's share, percent
//   redge_gateway_canary_actions_total{pool,action}        counter: abort | promote
//
// Bound once per pool and once per member (the first time a member of that
// name joins), so counting on the request path is an integer add.

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// One side of a canary pool. Statuses and error codes bind their series on
// first use (a handful per side).
class GatewaySideStats {
 public:
  GatewaySideStats(MetricsRegistry& metrics, std::string pool, std::string side);
  Counter& requests;
  Histogram& duration;
  void countStatus(int status);
  void countError(std::string_view code);

 private:
  MetricsRegistry& metrics_;
  std::string pool_;
  std::string side_;
  std::array<Counter*, 500> by_status_{};  // 100..599
  std::vector<std::pair<std::string, Counter*>> by_code_;
};

GatewayPoolStats bindGatewayPoolStats(MetricsRegistry& metrics, std::string_view pool);
GatewayMemberStats bindGatewayMemberStats(MetricsRegistry& metrics, std::string_view pool,
                                          std::string_view member);

}  // namespace redge
