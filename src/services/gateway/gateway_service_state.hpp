#pragma once
// The gateway service's private state, shared by its translation units
// (gateway_service.cpp: the request path; gateway_canary.cpp: canary
// pools): a member's connections, a pool side with its transport, a
// request's state, a canary pool's state. Included by nothing else.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flags/flag.hpp"
#include "flags/flag_store.hpp"
#include "services/gateway/canary_split.hpp"
#include "services/gateway/gateway_service.hpp"
#include "services/gateway/gateway_stats.hpp"

namespace redge {

// The connections of one member: its HttpClientPool, and the tries in
// flight on it, so a member that left is closed only once they end.
struct MemberClient {
  std::unique_ptr<HttpClientPool> client;
  int64_t inflight = 0;
  bool retired = false;
  bool closed = false;
};

struct GatewayService::Pool final : public PoolTransport {
  enum class Side { Stable, Canary };

  Pool(GatewayService& service, const std::string& pool_name, const GatewayPoolOptions& o,
       Side pool_side = Side::Stable)
      : gateway(service),
        name(pool_name),
        side(pool_side),
        probe(service.context_.runtime().loop, service.context_.runtime().metrics, pool_name) {
    Runtime& rt = service.context_.runtime();
    RetryBudgetOptions budget;
    budget.budget_ratio = static_cast<double>(service.options_.retry_budget_percent) / 100.0;
    pool = std::make_unique<GatewayPool>(
        pool_name, o, budget,
        GatewayPoolDeps{rt.timers, rt.clock, rt.metrics, service.random_, &probe, this});
  }

  void memberAdded(const PoolMember& m) override {
    probe.addMember(m.index, m.name, m.host, m.port, m.name);
    reapClosed();
    if (m.index >= clients.size()) clients.resize(static_cast<size_t>(m.index) + 1);
    const GatewayOptions& o = gateway.options_;
    HttpClientPoolOptions c;
    c.name = "gateway/" + name + "/" + m.name;
    c.host = m.host;
    c.port = m.port;
    c.authority = m.name;
    c.max_idle = static_cast<size_t>(o.upstream_max_idle);
    c.idle_timeout_ms = o.upstream_idle_timeout_ms;
    auto mc = std::make_unique<MemberClient>();
    mc->client = std::make_unique<HttpClientPool>(gateway.context_.runtime().loop,
                                                  gateway.context_.runtime().metrics, std::move(c));
    clients[m.index] = std::move(mc);
  }

  void memberRemoved(const PoolMember& m) override {
    probe.removeMember(m.index);
    if (m.index >= clients.size() || !clients[m.index]) return;
    std::unique_ptr<MemberClient> mc = std::move(clients[m.index]);
    mc->retired = true;
    MemberClient& ref = *mc;
    retired.push_back(std::move(mc));
    // Tries in flight finish on it; it closes after the last.
    if (ref.inflight == 0) closeClient(ref);
    reapClosed();
  }

  static void closeClient(MemberClient& mc) {
    if (mc.closed) return;
    mc.closed = true;
    mc.client->close();
  }

  // A closed pool with no connection left has no callback pending.
  void reapClosed() {
    std::erase_if(retired, [](const std::unique_ptr<MemberClient>& mc) {
      return mc->closed && mc->client->openConnections() == 0;
    });
  }

  // Its connections' and probes' handles have all closed (after close()).
  bool handlesClosed() {
    reapClosed();
    if (!probe.closed()) return false;
    for (auto& mc : clients) {
      if (mc && (!mc->closed || mc->client->openConnections() != 0)) return false;
    }
    return retired.empty();
  }

  void close() {
    if (rotation) rotation->close();
    pool->stop();
    probe.close();
    for (auto& mc : clients) {
      if (mc) closeClient(*mc);
    }
    for (auto& mc : retired) closeClient(*mc);
  }

  GatewayService& gateway;
  std::string name;  // the canary side's: "<pool>/canary"
  Side side;
  HttpHealthProbe probe;
  std::unique_ptr<GatewayPool> pool;
  std::unique_ptr<SharedRotation> rotation;
  std::vector<std::unique_ptr<MemberClient>> clients;  // by member index
  std::vector<std::unique_ptr<MemberClient>> retired;  // members that left
  // A canary pool's stable side: the canary side and the pool's canary
  // state. A canary side: its stable side.
  Pool* other = nullptr;
  std::unique_ptr<Canary> canary;
  GatewaySideStats* side_stats = nullptr;  // a canary pool's side: its counts
  // Held by every request routed to this side and every refresh sent to
  // it: a retired pool is closed when the service's copy is the last.
  std::shared_ptr<int> lease = std::make_shared<int>(0);
  // A rebuilt pool's stable side: the retired pool that takes its requests
  // until `handover_until_ms` or until one of its members passes its checks.
  Pool* handover = nullptr;
  int64_t handover_until_ms = 0;
  bool closing = false;  // retired and closed; freed once handlesClosed()
};

// A cached route: its cache, the refresher that sends the cache's
// background refreshes to the route's pool (`pool`, which a reload moves to
// the pool's new incarnation), and the route it was built for.
struct GatewayService::CachedRoute {
  GatewayRouteOptions route;
  std::unique_ptr<RouteCache> cache;
  std::unique_ptr<CacheRefresher> refresher;
  Pool* pool = nullptr;
};

// A canary pool's state, held by its stable side.
struct GatewayService::Canary {
  Canary(MetricsRegistry& metrics, const std::string& pool, const GatewayCanaryOptions& o)
      : flag(o.flag.empty() ? defaultCanaryFlag(pool) : o.flag),
        promoted_flag(promotedFlagName(flag)),
        weight_ref(flag),
        stickiness(parseStickiness(o.stickiness)),
        tag(o.tag),
        members(o.members),
        stable_stats(metrics, pool, "stable"),
        canary_stats(metrics, pool, "canary"),
        weight(metrics.gauge("redge_gateway_canary_weight",
                             "The canary side's share of a pool's requests, percent",
                             {{"pool", pool}})),
        aborts(metrics.counter("redge_gateway_canary_actions_total",
                               "Canary aborts and promotions asked of this gateway",
                               {{"pool", pool}, {"action", "abort"}})),
        promotions(metrics.counter("redge_gateway_canary_actions_total",
                                   "Canary aborts and promotions asked of this gateway",
                                   {{"pool", pool}, {"action", "promote"}})) {}

  std::string flag;                      // its weight
  std::string promoted_flag;             // its promoted members
  FlagRef weight_ref;                    // `flag`, for the request path
  std::optional<Stickiness> stickiness;  // nullopt: a random draw per request
  std::string tag;
  std::vector<GatewayMemberOptions> members;  // configured canary members
  std::set<std::string> promoted_here;        // of those, the ones on the stable side now
  GatewaySideStats stable_stats;
  GatewaySideStats canary_stats;
  Gauge& weight;
  Counter& aborts;
  Counter& promotions;
};

struct GatewayService::Request {
  // First, so that it is released last: the pool side outlives the
  // exchange and every callback of the request.
  std::shared_ptr<int> lease;
  Pool* pool = nullptr;
  // A cached route's tap, declared before the exchange that points at it so
  // that it is destroyed after.
  std::unique_ptr<CacheFlow> cache_flow;
  HttpExchange client;  // for the cache's own answer after an absorbed 304
  std::unique_ptr<ForwardExchange> exchange;
  std::string hash_key;
  bool retry_reset = false;  // a reset may be retried (idempotent, or an Idempotency-Key)
  int tries = 0;
  bool retrying = false;  // the next try is a retry, counted in the budget
  std::vector<uint32_t> tried;
  TryOutcome last;  // the last try's outcome, for the answer when no retry follows
  // A canary pool's request: when it began (µs) and the status it was
  // answered with, for its side's counts.
  int64_t started_us = 0;
  int status = 0;
};

}  // namespace redge
