// Binding of the gateway's stats tables (see gateway_stats.hpp).

#include "services/gateway/gateway_stats.hpp"

#include <string>

namespace redge {

GatewayPoolStats bindGatewayPoolStats(MetricsRegistry& metrics, std::string_view pool) {
  StatsBinder stats_binder(metrics, "redge_gateway_", {{"pool", std::string(pool)}});
  auto picks = [&](const char* source) -> Counter& {
    return metrics.counter("redge_gateway_rotation_picks_total",
                           "Members redis_rotation picked, by where the turn came from",
                           {{"pool", std::string(pool)}, {"source", source}});
  };
  return GatewayPoolStats{REDGE_GATEWAY_POOL_STATS(REDGE_STAT_BIND_COUNTER, REDGE_STAT_BIND_GAUGE,
                                                   REDGE_STAT_BIND_HISTOGRAM) picks("redis"),
                          picks("local")};
}

GatewayMemberStats bindGatewayMemberStats(MetricsRegistry& metrics, std::string_view pool,
                                          std::string_view member) {
  StatsBinder stats_binder(metrics, "redge_gateway_",
                           {{"pool", std::string(pool)}, {"member", std::string(member)}});
  return REDGE_STATS_BIND(REDGE_GATEWAY_MEMBER_STATS);
}

}  // namespace redge
