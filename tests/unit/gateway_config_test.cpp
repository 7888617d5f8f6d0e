// The gateway's section in redge's one configuration table: its defaults,
// a full file read back the same, and every error an operator can make
// naming the key at fault (exit 2 with that path in main): a route naming
// an unknown pool, a bad address, a pool with neither members nor
// discover, discover without the registry, a bad hash_by or prefix, an
// enabled gateway without routes. Also the help lines of its containers.

#include "services/gateway/gateway_config.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "core/config.hpp"
#include "modules.hpp"

namespace redge {
namespace {

using Catch::Matchers::Contains;

const char* kGoodGateway = R"({"discovery": {"enabled": true}, "gateway": {
  "enabled": true, "port": 8088, "retries": 2,
  "routes": [{"prefix": "/", "pool": "web"},
             {"host": "api.example", "prefix": "/v1/", "pool": "api"}],
  "pools": {
    "web": {"members": [{"address": "127.0.0.1:3001"}, {"address": "127.0.0.1:3002", "weight": 3}],
            "balance": "redis_rotation", "health": {"path": "/", "interval_ms": 500}},
    "api": {"discover": "api", "balance": "hash", "hash_by": "header:X-User",
            "passive": {"consecutive_failures": 0}}
  }}})";

// Applies `json` and validates; the first error.
std::optional<ConfigError> errorOf(const std::string& json) {
  Config config = configSchema().defaults();
  if (auto e = configSchema().applyJson(json, config)) return e;
  return configSchema().validate(config);
}

}  // namespace

TEST_CASE("gateway config: defaults", "[gateway][config]") {
  Config config = configSchema().defaults();
  const GatewayOptions& g = config.module<GatewayOptions>();
  CHECK_FALSE(g.enabled);
  CHECK(g.bind == "127.0.0.1");
  CHECK(g.port == 8080);
  CHECK(g.connect_timeout_ms == 1000);
  CHECK(g.timeout_ms == 30000);
  CHECK(g.retries == 1);
  CHECK(g.retry_budget_percent == 20);
  CHECK(g.routes.empty());
  CHECK(g.pools.empty());
  GatewayPoolOptions p;
  CHECK(p.balance == "round_robin");
  CHECK(p.health.path == "/healthz");
  CHECK(p.health.interval_ms == 2000);
  CHECK(p.health.timeout_ms == 1000);
  CHECK(p.health.rise == 2);
  CHECK(p.health.fall == 3);
  CHECK(p.passive.consecutive_failures == 5);
  CHECK(p.passive.base_ejection_ms == 30000);
  CHECK(p.passive.max_ejection_percent == 50);
  CHECK_FALSE(configSchema().validate(config));
}

TEST_CASE("gateway config: routes and pools from a file, printed back the same",
          "[gateway][config]") {
  Config config = configSchema().defaults();
  REQUIRE_FALSE(configSchema().applyJson(kGoodGateway, config));
  REQUIRE_FALSE(configSchema().validate(config));
  const GatewayOptions& g = config.module<GatewayOptions>();
  REQUIRE(g.routes.size() == 2);
  CHECK(g.routes[1].host == "api.example");
  CHECK(g.pools.at("web").members[1].weight == 3);
  CHECK(g.pools.at("web").health.interval_ms == 500);
  CHECK(g.pools.at("web").health.rise == 2);  // the element's default
  CHECK(g.pools.at("api").hash_by == "header:X-User");
  CHECK(g.pools.at("api").passive.consecutive_failures == 0);

  std::string json = configSchema().toJson(config);
  Config copy = configSchema().defaults();
  REQUIRE_FALSE(configSchema().applyJson(json, copy));
  CHECK(configSchema().toJson(copy) == json);
}

TEST_CASE("gateway config: --set takes the containers as JSON", "[gateway][config]") {
  Config config = configSchema().defaults();
  REQUIRE_FALSE(configSchema().applyAssignment(
      "gateway.pools", R"({"web": {"members": [{"address": "10.0.0.1:80"}]}})", config));
  REQUIRE_FALSE(configSchema().applyAssignment("gateway.routes",
                                               R"([{"prefix": "/", "pool": "web"}])", config));
  REQUIRE_FALSE(configSchema().applyAssignment("gateway.enabled", "true", config));
  CHECK_FALSE(configSchema().validate(config));
}

TEST_CASE("gateway config: errors name the key", "[gateway][config]") {
  struct Case {
    const char* json;
    const char* path;
    const char* reason;
  } cases[] = {
      {R"({"gateway": {"routes": [{"prefix": "/", "pool": "nope"}],
                       "pools": {"web": {"members": [{"address": "10.0.0.1:80"}]}}}})",
       "gateway.routes[0].pool", "no pool named 'nope' in gateway.pools"},
      {R"({"gateway": {"routes": [{"prefix": "/"}],
                       "pools": {"web": {"members": [{"address": "10.0.0.1:80"}]}}}})",
       "gateway.routes[0].pool", "is missing"},
      {R"({"gateway": {"pools": {"web": {"members": [{"address": "10.0.0.1"}]}}}})",
       "gateway.pools.web.members[0].address", "the port is missing"},
      {R"({"gateway": {"pools": {"web": {"members": [{"address": "10.0.0.1:99999"}]}}}})",
       "gateway.pools.web.members[0].address", "port must be 1..65535"},
      {R"({"gateway": {"pools": {"web": {"members": [{"address": "a b:80"}]}}}})",
       "gateway.pools.web.members[0].address", "bad character"},
      {R"({"gateway": {"pools": {"web": {"members": [{"address": "h:80", "weight": 0}]}}}})",
       "gateway.pools.web.members[0].weight", "must be between 1 and 1000"},
      {R"({"gateway": {"pools": {"web": {}}}})", "gateway.pools.web",
       "has neither members nor discover"},
      {R"({"gateway": {"pools": {"web": {"discover": "bad name!"}}}})",
       "gateway.pools.web.discover", ""},
      {R"({"gateway": {"enabled": true, "routes": [{"pool": "web"}],
                       "pools": {"web": {"discover": "app"}}}})",
       "gateway.pools.web.discover", "needs discovery.enabled=true"},
      {R"({"gateway": {"pools": {"web": {"discover": "app", "balance": "random"}}}})",
       "gateway.pools.web.balance",
       "must be one of round_robin, least_request, hash, redis_rotation"},
      {R"({"gateway": {"pools": {"web": {"discover": "app", "hash_by": "query:x"}}}})",
       "gateway.pools.web.hash_by", "client_address, header:<name> or cookie:<name>"},
      {R"({"gateway": {"pools": {"web": {"discover": "app", "hash_by": "header:"}}}})",
       "gateway.pools.web.hash_by", "client_address, header:<name> or cookie:<name>"},
      {R"({"gateway": {"pools": {"web": {"discover": "app", "health": {"path": "healthz"}}}}})",
       "gateway.pools.web.health.path", "must start with /"},
      {R"({"gateway": {"pools": {"web": {"discover": "app", "health": {"rise": 0}}}}})",
       "gateway.pools.web.health.rise", "must be between 1 and 100"},
      {R"({"gateway": {"pools": {"web": {"discover": "app",
                       "passive": {"base_ejection_ms": 5000, "max_ejection_ms": 1000}}}}})",
       "gateway.pools.web.passive.base_ejection_ms",
       "must be at most gateway.pools.web.passive.max_ejection_ms (1000)"},
      {R"({"gateway": {"pools": {"w/eb": {"discover": "app"}}}})", "gateway.pools.w/eb",
       "a pool name may hold only"},
      {R"({"gateway": {"routes": [{"prefix": "api", "pool": "web"}]}})", "gateway.routes[0].prefix",
       "must start with /"},
      {R"({"gateway": {"routes": [{"host": "a.example:80", "pool": "web"}]}})",
       "gateway.routes[0].host", "without a port"},
      {R"({"gateway": {"routes": [], "enabled": true}})", "gateway.routes", "has no route"},
      {R"({"gateway": {"retries": 11}})", "gateway.retries", "must be between 0 and 10"},
      {R"({"gateway": {"pools": {"web": {"members": [], "bogus": 1}}}})", "gateway.pools.web.bogus",
       "unknown key"},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    auto error = errorOf(c.json);
    REQUIRE(error);
    CHECK(error->path == c.path);
    CHECK_THAT(error->reason, Contains(c.reason));
  }
}

TEST_CASE("gateway config: a port shared with another listener is refused", "[gateway][config]") {
  auto error = errorOf(R"({"gateway": {"enabled": true, "port": 3000,
    "routes": [{"pool": "web"}], "pools": {"web": {"members": [{"address": "10.0.0.1:80"}]}}}})");
  REQUIRE(error);
  CHECK(error->path == "gateway.port");
  CHECK_THAT(error->reason, Contains("also used by app.port"));
}

TEST_CASE("gateway config: --help lists the keys of routes and pools", "[gateway][config]") {
  std::string help = configSchema().keysHelp();
  for (const char* line :
       {"  gateway.routes (list of {host, prefix, pool, flag, cache}, JSON, default [])",
        "  gateway.pools.<name>.canary.stickiness (string, default \"\")",
        "  gateway.pools.<name>.canary.tag (string, default \"canary\")",
        "  gateway.routes[].cache.enabled (bool, default false)",
        "  gateway.routes[].cache.max_bytes (integer 1024..1073741824, default 67108864)",
        "  gateway.routes[].cache.max_object_bytes (integer 0..1073741824, default 1048576)",
        "  gateway.routes[].cache.default_ttl_ms (integer 0..86400000, default 0)",
        "  gateway.routes[].cache.invalidate_parent (bool, default false)",
        "  gateway.routes[].prefix (string, default \"/\")",
        "  gateway.pools.<name>.members[].address (string, default \"\")",
        "  gateway.pools.<name>.balance (round_robin|least_request|hash|redis_rotation, default "
        "\"round_robin\")",
        "  gateway.pools.<name>.health.interval_ms (integer 1..86400000, default 2000)",
        "  gateway.pools.<name>.passive.max_ejection_percent (integer 0..100, default 50)"}) {
    INFO(line);
    CHECK(help.find(line) != std::string::npos);
  }
}

TEST_CASE("gateway config: a route's cache is read, and its bad values name the key",
          "[gateway][config][cache]") {
  Config config = configSchema().defaults();
  REQUIRE_FALSE(configSchema().applyJson(R"({"gateway": {"routes": [{"pool": "web", "cache":
      {"enabled": true, "max_entries": 50, "default_ttl_ms": 1500, "invalidate_parent": true}}],
      "pools": {"web": {"members": [{"address": "10.0.0.1:80"}]}}}})",
                                         config));
  REQUIRE_FALSE(configSchema().validate(config));
  const GatewayCacheOptions& c = config.module<GatewayOptions>().routes.at(0).cache;
  CHECK(c.enabled);
  CHECK(c.max_entries == 50);
  CHECK(c.max_bytes == int64_t{64} << 20);
  CHECK(c.max_object_bytes == int64_t{1} << 20);
  CHECK(c.default_ttl_ms == 1500);
  CHECK(c.invalidate_parent);

  auto route = [](const std::string& cache) {
    return R"({"gateway": {"routes": [{"pool": "web"}, {"pool": "web", "cache": )" + cache +
           R"(}], "pools": {"web": {"members": [{"address": "10.0.0.1:80"}]}}}})";
  };
  auto e = errorOf(route(R"({"max_entries": 0})"));
  REQUIRE(e);
  CHECK(e->path == "gateway.routes[1].cache.max_entries");
  e = errorOf(route(R"({"max_bytes": 4096, "max_object_bytes": 8192})"));
  REQUIRE(e);
  CHECK(e->path == "gateway.routes[1].cache.max_object_bytes");
  CHECK_THAT(e->reason, Contains("gateway.routes[1].cache.max_bytes (4096)"));
  e = errorOf(route(R"({"enabled": "yes"})"));
  REQUIRE(e);
  CHECK(e->path == "gateway.routes[1].cache.enabled");
  e = errorOf(route(R"({"ttl": 5})"));
  REQUIRE(e);
  CHECK(e->path == "gateway.routes[1].cache.ttl");
}

TEST_CASE("gateway config: hash_by parses its three forms", "[gateway][config]") {
  CHECK(parseHashBy("client_address")->source == HashBy::Source::ClientAddress);
  auto h = parseHashBy("header:X-User");
  REQUIRE(h);
  CHECK(h->source == HashBy::Source::Header);
  CHECK(h->name == "X-User");
  auto c = parseHashBy("cookie:session");
  REQUIRE(c);
  CHECK(c->source == HashBy::Source::Cookie);
  CHECK(c->name == "session");
  CHECK_FALSE(parseHashBy("cookie:a b"));
  CHECK_FALSE(parseHashBy("client"));
}

TEST_CASE("gateway config: a pool's canary side is read, and its mistakes name the key",
          "[gateway][config][canary]") {
  auto tryConfig = [](const std::string& canary, const std::string& route_flag = "") {
    Config config = configSchema().defaults();
    std::string json = R"({"gateway": {"routes": [{"pool": "web")" +
                       (route_flag.empty() ? "" : R"(, "flag": ")" + route_flag + "\"") +
                       R"(}], "pools": {"web": {"members": [{"address": "10.0.0.1:80"}], "canary": )" +
                       canary + "}}}}";
    if (auto e = configSchema().applyJson(json, config)) return e->path + ": " + e->reason;
    if (auto e = configSchema().validate(config)) return e->path + ": " + e->reason;
    const GatewayPoolOptions& p = config.module<GatewayOptions>().pools.at("web");
    return "ok " + p.canary.members.at(0).address + " " + p.canary.stickiness + " " + p.canary.flag;
  };
  CHECK(tryConfig(R"({"members": [{"address": "10.0.0.2:80"}], "stickiness": "cookie:uid",
                      "flag": "web.weight"})") == "ok 10.0.0.2:80 cookie:uid web.weight");
  CHECK(tryConfig(R"({"members": [{"address": "10.0.0.1:80"}]})") ==
        "gateway.pools.web.canary.members: '10.0.0.1:80' is also a stable member; a member is on "
        "one side only");
  CHECK(tryConfig(R"({"members": [{"address": "10.0.0.2:80"}], "stickiness": "ip"})")
            .find("gateway.pools.web.canary.stickiness") == 0);
  CHECK(tryConfig(R"({"members": [{"address": "10.0.0.2:80"}], "flag": "no spaces"})")
            .find("gateway.pools.web.canary.flag") == 0);
  CHECK(tryConfig(R"({"members": [{"address": "10.0.0.2:80"}]})", "bad flag!")
            .find("gateway.routes[0].flag") == 0);
}

}  // namespace redge
