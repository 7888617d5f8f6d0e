// The table engine's shapes beyond scalars, on a toy module section: groups,
// lists and maps of structs and lists of strings, set from a file, the
// environment and --set (JSON text), validated per element with paths that
// name the element, printed back, and listed in --help.

#include "core/config_schema.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace redge {
namespace {

struct Member {
  std::string address;
  int64_t weight = 1;
};

struct Pool {
  std::string balance = "round_robin";
  std::vector<Member> members;
};

struct Route {
  std::string prefix = "/";
  std::string pool;
};

struct Limits {
  int64_t retries = 1;
};

struct ToyOptions {
  bool enabled = true;
  int64_t port = 8080;
  std::vector<Route> routes;
  std::map<std::string, Pool> pools;
  std::vector<std::string> tags;
  Limits limits;
};

std::optional<std::string> notEmpty(const std::string& v) {
  if (v.empty()) return "must not be empty";
  return std::nullopt;
}

ConfigSchema toySchema() {
  return buildConfigSchema([](ConfigSchema& s) {
    auto toy = s.moduleSection<ToyOptions>("toy");
    toy.boolKey(REDGE_FIELD(ToyOptions, enabled), "run the toy")
        .intKey(REDGE_FIELD(ToyOptions, port), 0, 65535, "toy port")
        .port()
        .stringListKey(REDGE_FIELD(ToyOptions, tags), "labels", notEmpty);
    toy.listKey(REDGE_FIELD(ToyOptions, routes), "routes, in order")
        .stringKey(REDGE_FIELD(Route, prefix), "path prefix", notEmpty)
        .stringKey(REDGE_FIELD(Route, pool), "pool name");
    auto pool = toy.mapKey(REDGE_FIELD(ToyOptions, pools), "pools by name");
    pool.enumKey(REDGE_FIELD(Pool, balance), {"round_robin", "hash"}, "how to pick");
    pool.listKey(REDGE_FIELD(Pool, members), "members")
        .stringKey(REDGE_FIELD(Member, address), "host:port", notEmpty)
        .intKey(REDGE_FIELD(Member, weight), 1, 100, "share of traffic");
    toy.group(REDGE_FIELD(ToyOptions, limits))
        .intKey(REDGE_FIELD(Limits, retries), 0, 5, "tries after the first");
    s.addRule([](const Config& c, const ConfigSchema&) -> std::optional<ConfigError> {
      const ToyOptions& t = c.module<ToyOptions>();
      for (size_t i = 0; i < t.routes.size(); ++i) {
        if (!t.pools.count(t.routes[i].pool)) {
          return ConfigError{"toy.routes[" + std::to_string(i) + "].pool",
                             "no pool named '" + t.routes[i].pool + "'"};
        }
      }
      return std::nullopt;
    });
  });
}

const char* kToyJson = R"({"toy": {
  "routes": [{"prefix": "/api", "pool": "api"}, {"pool": "web"}],
  "pools": {"web": {"members": [{"address": "10.0.0.1:80"}]},
            "api": {"balance": "hash", "members": [{"address": "10.0.0.2:80", "weight": 3},
                                                   {"address": "10.0.0.3:80"}]}},
  "tags": ["blue", "canary"],
  "limits": {"retries": 2}
}})";

}  // namespace

TEST_CASE("config schema: lists, maps and groups from a file", "[config]") {
  ConfigSchema schema = toySchema();
  Config config = schema.defaults();
  REQUIRE_FALSE(schema.applyJson(kToyJson, config));
  REQUIRE_FALSE(schema.validate(config));
  const ToyOptions& t = config.module<ToyOptions>();
  REQUIRE(t.routes.size() == 2);
  CHECK(t.routes[0].prefix == "/api");
  CHECK(t.routes[1].prefix == "/");  // the element's default
  CHECK(t.pools.at("api").balance == "hash");
  CHECK(t.pools.at("api").members[0].weight == 3);
  CHECK(t.pools.at("api").members[1].weight == 1);
  CHECK(t.tags == std::vector<std::string>{"blue", "canary"});
  CHECK(t.limits.retries == 2);

  SECTION("printed back, it reads back the same") {
    std::string json = schema.toJson(config);
    Config copy = schema.defaults();
    REQUIRE_FALSE(schema.applyJson(json, copy));
    CHECK(schema.toJson(copy) == json);
  }
  SECTION("a Config copy is deep") {
    Config copy = config;
    copy.module<ToyOptions>().routes.clear();
    CHECK(config.module<ToyOptions>().routes.size() == 2);
  }
}

TEST_CASE("config schema: errors name the element", "[config]") {
  ConfigSchema schema = toySchema();
  struct Case {
    const char* json;
    const char* path;
    const char* reason;
  } cases[] = {
      {R"({"toy": {"routes": [{"prefix": ""}]}})", "toy.routes[0].prefix", "must not be empty"},
      {R"({"toy": {"routes": [{"prefix": "/", "bogus": 1}]}})", "toy.routes[0].bogus",
       "unknown key"},
      {R"({"toy": {"routes": {"prefix": "/"}}})", "toy.routes", "expected an array of objects"},
      {R"({"toy": {"routes": [1]}})", "toy.routes[0]", "expected an object"},
      {R"({"toy": {"pools": {"web": {"balance": "random"}}}})", "toy.pools.web.balance",
       "must be one of round_robin, hash"},
      {R"({"toy": {"pools": {"web": {"members": [{"address": "a", "weight": 0}]}}}})",
       "toy.pools.web.members[0].weight", "must be between 1 and 100"},
      {R"({"toy": {"tags": ["ok", ""]}})", "toy.tags[1]", "must not be empty"},
      {R"({"toy": {"tags": "blue"}})", "toy.tags", "expected an array of strings"},
  };
  for (const Case& c : cases) {
    INFO(c.json);
    Config config = schema.defaults();
    auto error = schema.applyJson(c.json, config);
    REQUIRE(error);
    CHECK(error->path == c.path);
    CHECK(error->reason == c.reason);
  }
  SECTION("a rule across keys") {
    Config config = schema.defaults();
    REQUIRE_FALSE(schema.applyJson(R"({"toy": {"routes": [{"pool": "nope"}]}})", config));
    auto error = schema.validate(config);
    REQUIRE(error);
    CHECK(error->path == "toy.routes[0].pool");
  }
}

TEST_CASE("config schema: a list is set from the environment or --set as JSON", "[config]") {
  ConfigSchema schema = toySchema();
  Config config = schema.defaults();
  REQUIRE_FALSE(schema.applyEnvironment(
      {{"REDGE_TOY_ROUTES", R"([{"prefix": "/x", "pool": "p"}])"}, {"REDGE_TOY_TAGS", R"(["a"])"}},
      config));
  CHECK(config.module<ToyOptions>().routes.at(0).prefix == "/x");
  CHECK(config.module<ToyOptions>().tags == std::vector<std::string>{"a"});
  REQUIRE_FALSE(schema.applyAssignment("toy.pools", R"({"p": {"members": []}})", config));
  CHECK(config.module<ToyOptions>().pools.count("p") == 1);
  REQUIRE_FALSE(schema.validate(config));

  auto error = schema.applyAssignment("toy.routes", "[{", config);
  REQUIRE(error);
  CHECK(error->path == "toy.routes");
  CHECK(error->reason.rfind("expected JSON", 0) == 0);
  error = schema.applyEnvironment({{"REDGE_TOY_TAGS", "[1]"}}, config);
  REQUIRE(error);
  CHECK(error->path == "toy.tags[0]");
  CHECK(error->reason == "expected a string (from REDGE_TOY_TAGS)");
}

TEST_CASE("config schema: --help lists a container's element keys", "[config]") {
  std::string help = toySchema().keysHelp();
  CHECK(help.find("  toy.routes (list of {prefix, pool}, JSON, default [])") != std::string::npos);
  CHECK(help.find("  toy.routes[].prefix (string, default \"/\")") != std::string::npos);
  CHECK(help.find("  toy.pools.<name>.members[].weight (integer 1..100, default 1)") !=
        std::string::npos);
  CHECK(help.find("env REDGE_TOY_ROUTES") != std::string::npos);
  CHECK(help.find("  toy.limits.retries (integer 0..5, default 1)") != std::string::npos);
}

TEST_CASE("config schema: a port counts only while its section is enabled", "[config]") {
  ConfigSchema schema = buildConfigSchema([](ConfigSchema& s) {
    s.moduleSection<ToyOptions>("toy")
        .boolKey(REDGE_FIELD(ToyOptions, enabled), "on")
        .intKey(REDGE_FIELD(ToyOptions, port), 0, 65535, "port")
        .port();
    s.moduleSection<Limits>("other").intKey(REDGE_FIELD(Limits, retries), 0, 65535, "x").port();
  });
  Config config = schema.defaults();
  REQUIRE_FALSE(schema.applyAssignment("other.retries", "8080", config));
  auto error = schema.validate(config);
  REQUIRE(error);
  CHECK(error->path == "other.retries");
  CHECK(error->reason == "port 8080 is also used by toy.port");
  REQUIRE_FALSE(schema.applyAssignment("toy.enabled", "false", config));
  CHECK_FALSE(schema.validate(config));
}

}  // namespace redge
