// The gateway module: its section (gateway.*, with the routes list and the
// pools map), the rules across its keys, the start-up resolution of member
// host names, and the service. Disabled by default. It comes after the
// discovery module in src/modules.cpp, so a pool with `discover` finds the
// registry (context.find<ServiceRegistry>()).

#include "core/log.hpp"
#include "core/uri.hpp"
#include "flags/flag.hpp"
#include "net/resolve_host.hpp"
#include "services/discovery/discovery_config.hpp"
#include "services/discovery/instance_record.hpp"
#include "services/gateway/gateway_config.hpp"
#include "services/gateway/gateway_service.hpp"
#include "services/service.hpp"
#include "services/status_panels.hpp"

namespace redge {
namespace {

using namespace config_limits;

constexpr int64_t kMaxRetries = 10;
constexpr int64_t kMaxWeight = 1000;
constexpr int64_t kMaxRiseFall = 100;
constexpr int64_t kMaxVariants = 64;

std::optional<std::string> checkOptionalFlagName(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return checkFlagName(value);
}

std::optional<std::string> checkOptionalStickiness(const std::string& value) {
  if (value.empty() || parseStickiness(value)) return std::nullopt;
  return "must be header:<name>, cookie:<name>, client_address or empty";
}

std::optional<ConfigError> resolveMembers(std::vector<GatewayMemberOptions>& members,
                                          const std::string& path) {
  for (size_t i = 0; i < members.size(); ++i) {
    GatewayMemberOptions& m = members[i];
    std::string host;
    int port = 0;
    parseHostPort(m.address, host, port);  // checked by the key already
    if (!resolveHost(host)) {
      return ConfigError{path + "[" + std::to_string(i) + "].address",
                         "cannot resolve host '" + host + "'"};
    }
    m.resolved_host = std::move(host);
    m.port = port;
  }
  return std::nullopt;
}

void declareKeys(ConfigSchema& schema) {
  auto gateway = schema.moduleSection<GatewayOptions>("gateway");
  gateway
      .boolKey(REDGE_FIELD(GatewayOptions, enabled),
               "run the gateway: a reverse proxy and load balancer over gateway.routes and "
               "gateway.pools")
      .stringKey(REDGE_FIELD(GatewayOptions, bind), "address the gateway listens on",
                 checkBindAddress)
      .intKey(REDGE_FIELD(GatewayOptions, port), 0, kMaxPort, "gateway port (0: any free port)")
      .port()
      .intKey(REDGE_FIELD(GatewayOptions, connect_timeout_ms), 1, kMaxDurationMs,
              "how long a connect to a member may take (then 502 upstream_connect_failed, "
              "or another member)")
      .intKey(REDGE_FIELD(GatewayOptions, timeout_ms), 1, kMaxDurationMs,
              "how long a member may take to answer (then 504 upstream_timeout)")
      .intKey(REDGE_FIELD(GatewayOptions, retries), 0, kMaxRetries,
              "tries on another member after a connect failure, or after a reset of an "
              "idempotent request (or one with an Idempotency-Key)")
      .intKey(REDGE_FIELD(GatewayOptions, retry_budget_percent), 0, 100,
              "retries in flight, as a percentage of a pool's active requests (at least 3 are "
              "always allowed)")
      .intKey(REDGE_FIELD(GatewayOptions, upstream_idle_timeout_ms), 1, kMaxDurationMs,
              "idle kept-alive connections to members are closed after this")
      .intKey(REDGE_FIELD(GatewayOptions, upstream_max_idle), 0, kMaxCount,
              "kept-alive idle connections per member (more are closed)")
      .intKey(REDGE_FIELD(GatewayOptions, max_connections), 1, kMaxCount,
              "open client connections to the gateway; more are refused")
      .intKey(REDGE_FIELD(GatewayOptions, max_body_bytes), 0, kMaxBytes,
              "largest request body forwarded (413 above it); 0: no limit, bodies stream")
      .stringKey(REDGE_FIELD(GatewayOptions, member_header),
                 "a response header naming the member that answered, e.g. X-Upstream-Member "
                 "(empty: none)",
                 checkHeaderName);

  auto route =
      gateway.listKey(REDGE_FIELD(GatewayOptions, routes),
                      "routes, in order: a request goes to the pool of the longest prefix that "
                      "starts its path, routes naming its Host first");
  route
      .stringKey(REDGE_FIELD(GatewayRouteOptions, host),
                 "Host the route is for, without port (empty: any)", checkRouteHost)
      .stringKey(REDGE_FIELD(GatewayRouteOptions, prefix), "path prefix the route takes",
                 checkRoutePrefix)
      .stringKey(REDGE_FIELD(GatewayRouteOptions, pool), "the pool it forwards to")
      .stringKey(REDGE_FIELD(GatewayRouteOptions, flag),
                 "a feature flag the route is bound to: while it is off for a request, the "
                 "route answers 404 feature_disabled (empty: none)",
                 checkOptionalFlagName);
  route.group(REDGE_FIELD(GatewayRouteOptions, cache))
      .boolKey(REDGE_FIELD(GatewayCacheOptions, enabled),
               "cache the route's GET answers in memory, as RFC 9111 allows a shared cache, and "
               "clear them on the route's writes")
      .intKey(REDGE_FIELD(GatewayCacheOptions, max_entries), 1, kMaxCount,
              "answers the route's cache holds at most (least recently used evicted)")
      .intKey(REDGE_FIELD(GatewayCacheOptions, max_bytes), 1024, kMaxBytes,
              "bytes (keys, headers, bodies) the route's cache holds at most")
      .intKey(REDGE_FIELD(GatewayCacheOptions, max_object_bytes), 0, kMaxBytes,
              "largest body stored; a larger answer passes through uncached")
      .intKey(REDGE_FIELD(GatewayCacheOptions, default_ttl_ms), 0, kMaxDurationMs,
              "how long an answer that states no lifetime (no max-age, s-maxage or Expires) "
              "stays fresh; 0: such answers are only stored when they can be revalidated")
      .boolKey(REDGE_FIELD(GatewayCacheOptions, invalidate_parent),
               "a write (POST, PUT, PATCH, DELETE) also clears the collection above its "
               "target, with every query (/courses/7 clears /courses and /courses?...)")
      .boolKey(REDGE_FIELD(GatewayCacheOptions, shared),
               "also keep the answers in Redis, shared by every gateway on it: one fetches a "
               "missing URI for all, and writes and purges clear every gateway's copy")
      .intKey(REDGE_FIELD(GatewayCacheOptions, fill_lock_ms), 1, kMaxDurationMs,
              "shared: how long other gateways wait for the one fetching a missing URI before "
              "they fetch it themselves")
      .intKey(REDGE_FIELD(GatewayCacheOptions, stale_while_revalidate_ms), 0, kMaxDurationMs,
              "how long past freshness an answer that states no stale-while-revalidate is "
              "served at once while one background request refreshes it; 0: none")
      .intKey(REDGE_FIELD(GatewayCacheOptions, stale_if_error_ms), 0, kMaxDurationMs,
              "how long past freshness an answer that states no stale-if-error is served "
              "instead of a member's failure (no connection, reset, timeout, 500, 502, 503, "
              "504); 0: none")
      .intKey(REDGE_FIELD(GatewayCacheOptions, max_variants), 1, kMaxVariants,
              "answers kept per URI for different Vary selections (oldest dropped)");

  auto pool = gateway.mapKey(REDGE_FIELD(GatewayOptions, pools), "upstream pools by name");
  pool.listKey(REDGE_FIELD(GatewayPoolOptions, members), "members from the configuration")
      .stringKey(REDGE_FIELD(GatewayMemberOptions, address),
                 "host:port of the member (a name is resolved at start-up)", checkMemberAddress)
      .intKey(REDGE_FIELD(GatewayMemberOptions, weight), 1, kMaxWeight, "its share of traffic");
  pool.stringKey(REDGE_FIELD(GatewayPoolOptions, discover),
                 "a service in the registry whose instances join the pool (needs "
                 "discovery.enabled)")
      .enumKey(REDGE_FIELD(GatewayPoolOptions, balance),
               {"round_robin", "least_request", "hash", "redis_rotation"},
               "how a member is picked: smooth weighted round robin, the lesser loaded of two "
               "random members, a consistent hash of hash_by, or a rotation shared in Redis "
               "(one LMOVE per request)")
      .stringKey(REDGE_FIELD(GatewayPoolOptions, hash_by),
                 "what balance=hash hashes: client_address, header:<name> or cookie:<name>",
                 checkHashBy);
  pool.group(REDGE_FIELD(GatewayPoolOptions, health))
      .boolKey(REDGE_FIELD(GatewayHealthCheckOptions, enabled),
               "probe members (false: every member takes traffic until requests fail)")
      .stringKey(REDGE_FIELD(GatewayHealthCheckOptions, path), "the path probed with GET",
                 checkHealthPath)
      .intKey(REDGE_FIELD(GatewayHealthCheckOptions, interval_ms), 1, kMaxDurationMs,
              "time between the end of one probe and the next")
      .intKey(REDGE_FIELD(GatewayHealthCheckOptions, timeout_ms), 1, kMaxDurationMs,
              "a probe not answered in this time fails")
      .intKey(REDGE_FIELD(GatewayHealthCheckOptions, rise), 1, kMaxRiseFall,
              "passed probes in a row that bring a down member back (a new member needs one)")
      .intKey(REDGE_FIELD(GatewayHealthCheckOptions, fall), 1, kMaxRiseFall,
              "failed probes in a row (status outside 200-399, error, timeout) that take a "
              "member down");
  pool.group(REDGE_FIELD(GatewayPoolOptions, passive))
      .intKey(REDGE_FIELD(GatewayPassiveOptions, consecutive_failures), 0, kMaxCount,
              "failed requests in a row (5xx or no answer) that eject a member (0: never)")
      .intKey(REDGE_FIELD(GatewayPassiveOptions, base_ejection_ms), 1, kMaxDurationMs,
              "an ejection lasts this times the member's ejection count")
      .intKey(REDGE_FIELD(GatewayPassiveOptions, max_ejection_ms), 1, kMaxDurationMs,
              "the longest an ejection lasts")
      .intKey(REDGE_FIELD(GatewayPassiveOptions, max_ejection_percent), 0, 100,
              "the most of a pool's members ejected at once");

  auto canary = pool.group(REDGE_FIELD(GatewayPoolOptions, canary));
  canary
      .listKey(REDGE_FIELD(GatewayCanaryOptions, members),
               "canary members from the configuration: they take the share of requests the "
               "canary flag gives, the stable members the rest")
      .stringKey(REDGE_FIELD(GatewayMemberOptions, address),
                 "host:port of the canary member (a name is resolved at start-up)",
                 checkMemberAddress)
      .intKey(REDGE_FIELD(GatewayMemberOptions, weight), 1, kMaxWeight,
              "its share of the canary side's traffic");
  canary
      .stringKey(REDGE_FIELD(GatewayCanaryOptions, tag),
                 "registry instances of the discovered service with this tag are canary "
                 "members (empty: none are)")
      .stringKey(REDGE_FIELD(GatewayCanaryOptions, flag),
                 "the feature flag whose rollout is the canary's share in percent while it is "
                 "on (empty: canary.<pool>)",
                 checkOptionalFlagName)
      .stringKey(REDGE_FIELD(GatewayCanaryOptions, stickiness),
                 "what keeps a user on one side through a ramp: header:<name>, cookie:<name> or "
                 "client_address (empty: a random draw per request)",
                 checkOptionalStickiness);

  schema.addRule([](const Config& c, const ConfigSchema& s) -> std::optional<ConfigError> {
    const GatewayOptions& g = c.module<GatewayOptions>();
    const std::string pools_path = s.pathOf(c, &g.pools);
    for (const auto& [name, p] : g.pools) {
      const std::string at = pools_path + "." + name;
      if (auto reason = checkPoolName(name)) return ConfigError{at, "a pool name " + *reason};
      if (p.members.empty() && p.discover.empty()) {
        return ConfigError{at, "has neither members nor discover; give it one or both"};
      }
      if (!p.discover.empty()) {
        if (auto reason = checkServiceName(p.discover)) {
          return ConfigError{at + ".discover", *reason};
        }
        if (g.enabled && c.modules.has<DiscoveryOptions>() &&
            !c.module<DiscoveryOptions>().enabled) {
          return ConfigError{at + ".discover",
                             "needs discovery.enabled=true (the registry the pool follows)"};
        }
      }
      for (const GatewayMemberOptions& cm : p.canary.members) {
        for (const GatewayMemberOptions& m : p.members) {
          if (m.address == cm.address) {
            return ConfigError{
                at + ".canary.members",
                "'" + cm.address + "' is also a stable member; a member is on one side only"};
          }
        }
      }
      if (p.passive.base_ejection_ms > p.passive.max_ejection_ms) {
        return ConfigError{at + ".passive.base_ejection_ms",
                           "must be at most " + at + ".passive.max_ejection_ms (" +
                               std::to_string(p.passive.max_ejection_ms) + ")"};
      }
    }
    const std::string routes_path = s.pathOf(c, &g.routes);
    for (size_t i = 0; i < g.routes.size(); ++i) {
      const GatewayRouteOptions& r = g.routes[i];
      if (g.pools.count(r.pool) == 0) {
        return ConfigError{routes_path + "[" + std::to_string(i) + "].pool",
                           r.pool.empty() ? "is missing: name one of gateway.pools"
                                          : "no pool named '" + r.pool + "' in gateway.pools"};
      }
      if (r.cache.max_object_bytes > r.cache.max_bytes) {
        const std::string at = routes_path + "[" + std::to_string(i) + "].cache";
        return ConfigError{at + ".max_object_bytes", "must be at most " + at + ".max_bytes (" +
                                                         std::to_string(r.cache.max_bytes) + ")"};
      }
    }
    if (g.enabled && g.routes.empty()) {
      return ConfigError{routes_path,
                         "the gateway is enabled but has no route: every request would be 404"};
    }
    return std::nullopt;
  });
}

std::optional<ConfigError> prepare(Config& config) {
  GatewayOptions& g = config.module<GatewayOptions>();
  for (auto& [name, p] : g.pools) {
    const std::string at = "gateway.pools." + name;
    if (auto e = resolveMembers(p.members, at + ".members")) return e;
    if (auto e = resolveMembers(p.canary.members, at + ".canary.members")) return e;
  }
  return std::nullopt;
}

std::unique_ptr<Service> create(ModuleContext& context) {
  auto service =
      std::make_unique<GatewayService>(context, context.config().module<GatewayOptions>());
  if (StatusPanels* panels = context.find<StatusPanels>()) {
    GatewayService* gateway = service.get();
    panels->addPanel("gateway", [gateway](JsonWriter& w) { gateway->writeStatus(w); });
  }
  return service;
}

}  // namespace

Module gatewayModule() {
  return {"gateway", &declareKeys,
          [](const Config& c) { return c.module<GatewayOptions>().enabled; }, &prepare, &create};
}

}  // namespace redge
