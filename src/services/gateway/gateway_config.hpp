#pragma once
// The gateway section (gateway.*): the listener, the deadlines and limits of
// forwarding, the retry rules, the ordered routes and the named pools, each
// pool with its members (from the configuration and/or the service
// registry), its balancing policy and its health settings. The defaults live
// here, in the member initialisers; gateway_module.cpp declares the keys.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redge {

struct GatewayMemberOptions {
  std::string address;  // host:port ("[v6]:port"); a name is resolved at start-up
  int64_t weight = 1;

  // Filled by the module's prepare step, not keys.
  std::string resolved_host;  // a literal address
  int port = 0;

  bool operator==(const GatewayMemberOptions&) const = default;
};

struct GatewayHealthCheckOptions {
  bool enabled = true;  // false: no probes; members take traffic at once (passive only)
  std::string path = "/healthz";
  int64_t interval_ms = 2000;
  int64_t timeout_ms = 1000;
  int64_t rise = 2;
  int64_t fall = 3;

  bool operator==(const GatewayHealthCheckOptions&) const = default;
};

struct GatewayPassiveOptions {
  int64_t consecutive_failures = 5;  // 5xx answers or errors in a row; 0 never ejects
  int64_t base_ejection_ms = 30000;
  int64_t max_ejection_ms = 300000;
  int64_t max_ejection_percent = 50;

  bool operator==(const GatewayPassiveOptions&) const = default;
};

// A pool's canary side (canary_split.hpp): members of its own, a share of
// the pool's requests given by a feature flag, the rest to the stable side.
struct GatewayCanaryOptions {
  std::vector<GatewayMemberOptions> members;  // canary members from the configuration
  std::string tag = "canary";                 // registry instances with this tag are canary members
  std::string flag;                           // the weight's flag; empty: canary.<pool>
  // What keeps a user on one side: header:<name> | cookie:<name> |
  // client_address; empty: a random draw per request.
  std::string stickiness;

  bool operator==(const GatewayCanaryOptions&) const = default;
};

struct GatewayPoolOptions {
  std::vector<GatewayMemberOptions> members;
  std::string discover;  // a service in the registry whose instances join the pool
  std::string balance = "round_robin";
  std::string hash_by = "client_address";  // header:<name> | cookie:<name> | client_address
  GatewayHealthCheckOptions health;
  GatewayPassiveOptions passive;
  GatewayCanaryOptions canary;

  // Whether the pool has a canary side: members of its own, or a registry
  // tag to find them by.
  bool hasCanary() const {
    return !canary.members.empty() || (!discover.empty() && !canary.tag.empty());
  }
  bool operator==(const GatewayPoolOptions&) const = default;
};

// A route's response cache (gateway_cache.hpp): an in-memory LRU of the
// GET answers the member allows to be stored (RFC 9111), invalidated by the
// route's writes.
struct GatewayCacheOptions {
  bool enabled = false;
  int64_t max_entries = 10000;
  int64_t max_bytes = int64_t{64} << 20;        // keys, headers and bodies held
  int64_t max_object_bytes = int64_t{1} << 20;  // a larger body streams through, not stored
  int64_t default_ttl_ms = 0;      // for answers that state no lifetime; 0: only what they say
  bool invalidate_parent = false;  // a write to /a/7 also clears /a and /a?*
  // Entries also kept in Redis, shared with every gateway on it; writes and
  // purges reach all of them (cache_fleet.hpp).
  bool shared = false;
  int64_t fill_lock_ms = 5000;  // how long the fleet waits on one gateway's fetch
  // RFC 5861 windows for answers that state none (0: only what they say):
  // serve a stale answer at once and refresh it in the background, and
  // serve a stale answer when the member fails.
  int64_t stale_while_revalidate_ms = 0;
  int64_t stale_if_error_ms = 0;
  int64_t max_variants = 8;  // Vary variants kept per URI

  bool operator==(const GatewayCacheOptions&) const = default;
};

struct GatewayRouteOptions {
  std::string host;  // empty: any host
  std::string prefix = "/";
  std::string pool;
  std::string flag;  // a feature flag the route is bound to (404 feature_disabled while off)
  GatewayCacheOptions cache;

  bool operator==(const GatewayRouteOptions&) const = default;
};

struct GatewayOptions {
  bool enabled = false;
  std::string bind = "127.0.0.1";
  int64_t port = 8080;
  int64_t connect_timeout_ms = 1000;
  int64_t timeout_ms = 30000;
  int64_t retries = 1;
  int64_t retry_budget_percent = 20;
  int64_t upstream_idle_timeout_ms = 30000;
  // Kept-alive idle connections per member: enough for every request a
  // busy gateway has in flight on one member, so that each comes back for
  // the next request rather than being closed (HAProxy keeps them all).
  int64_t upstream_max_idle = 1024;
  int64_t max_connections = 10000;
  int64_t max_body_bytes = 0;  // 0: no limit (bodies stream through)
  // A response header naming the member that answered (e.g.
  // X-Upstream-Member, as nginx's add_header X-Upstream $upstream_addr);
  // empty: none, the member's answer is passed as it is.
  std::string member_header;
  std::vector<GatewayRouteOptions> routes;
  std::map<std::string, GatewayPoolOptions> pools;
};

// What a pool's hash_by names.
struct HashBy {
  enum class Source { ClientAddress, Header, Cookie };
  Source source = Source::ClientAddress;
  std::string name;  // the header's or the cookie's
};

// "client_address" | "header:<name>" | "cookie:<name>"; nullopt if neither.
std::optional<HashBy> parseHashBy(std::string_view text);

// Checks of single keys (the reason, or nothing).
std::optional<std::string> checkMemberAddress(const std::string& value);
std::optional<std::string> checkRoutePrefix(const std::string& value);
std::optional<std::string> checkRouteHost(const std::string& value);
std::optional<std::string> checkHashBy(const std::string& value);
std::optional<std::string> checkHealthPath(const std::string& value);
// Empty, or a header name (RFC 9110 token).
std::optional<std::string> checkHeaderName(const std::string& value);
// A pool's name labels metrics and log lines: 1 to 64 of [A-Za-z0-9_.-].
std::optional<std::string> checkPoolName(std::string_view value);

}  // namespace redge
