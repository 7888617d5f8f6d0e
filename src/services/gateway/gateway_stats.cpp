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

GatewaySideStats::GatewaySideStats(MetricsRegistry& metrics, std::string pool, std::string side)
    : requests(metrics.counter("redge_gateway_side_requests_total",
                               "Requests a canary pool sent to the side (stable or canary)",
                               {{"pool", pool}, {"side", side}})),
      duration(metrics.histogram("redge_gateway_side_request_duration_seconds",
                                 "From a canary pool's request to the end of its answer, by side",
                                 {{"pool", pool}, {"side", side}})),
      metrics_(metrics),
      pool_(std::move(pool)),
      side_(std::move(side)) {}

void GatewaySideStats::countStatus(int status) {
  if (status < 100 || status > 599) return;
  Counter*& c = by_status_[static_cast<size_t>(status - 100)];
  if (c == nullptr) {
    c = &metrics_.counter("redge_gateway_side_responses_total",
                          "Answers of a canary pool's requests, by side and status",
                          {{"pool", pool_}, {"side", side_}, {"status", std::to_string(status)}});
  }
  c->inc();
}

void GatewaySideStats::countError(std::string_view code) {
  for (auto& [name, counter] : by_code_) {
    if (name == code) {
      counter->inc();
      return;
    }
  }
  Counter& c = metrics_.counter(
      "redge_gateway_side_errors_total",
      "The gateway's own error answers to a canary pool's requests, by side and code",
      {{"pool", pool_}, {"side", side_}, {"code", std::string(code)}});
  by_code_.emplace_back(std::string(code), &c);
  c.inc();
}

GatewayMemberStats bindGatewayMemberStats(MetricsRegistry& metrics, std::string_view pool,
                                          std::string_view member) {
  StatsBinder stats_binder(metrics, "redge_gateway_",
                           {{"pool", std::string(pool)}, {"member", std::string(member)}});
  return REDGE_STATS_BIND(REDGE_GATEWAY_MEMBER_STATS);
}

}  // namespace redge
