// Unit tests for the configuration: defaults, the four ways to set a key
// (file, environment, --set, --redis), their precedence, every error an
// operator can cause, the cross-key rules, and the --check-config JSON.

#include "core/config.hpp"

#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "modules.hpp"
#include "ops/admin_service.hpp"
#include "services/app/app_service.hpp"
#include "services/cacheproxy/cache_proxy_config.hpp"
#include "services/relay/relay_config.hpp"

namespace redge {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

// A file under /tmp that lives as long as the object.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/redge_config_test_XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    path_ = name;
    REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    close(fd);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::optional<ConfigError> parseArgs(std::vector<const char*> args, CommandLine& out) {
  args.insert(args.begin(), "redge");
  return parseCommandLine(static_cast<int>(args.size()), args.data(), out);
}

std::optional<ConfigError> loadFromEnvironment(const std::map<std::string, std::string>& env,
                                               Config& out) {
  return loadConfig(configSchema(), CommandLine{}, env, out);
}

const std::vector<std::string> kExpectedKeys = {
    "redis.url",
    "redis.key_prefix",
    "redis.connect_timeout_ms",
    "redis.command_timeout_ms",
    "redis.reconnect_min_ms",
    "redis.reconnect_max_ms",
    "redis.sentinels",
    "redis.master_name",
    "redis.sentinel_user",
    "redis.sentinel_password",
    "redis.read_from",
    "redis.replica_url",
    "http.max_header_bytes",
    "http.max_body_bytes",
    "http.header_timeout_ms",
    "http.idle_timeout_ms",
    "http.max_connections",
    "http.max_output_bytes",
    "http.body_min_rate",
    "resp.idle_timeout_ms",
    "resp.command_read_timeout_ms",
    "server.drain_timeout_ms",
    "server.workers",
    "server.pin_workers",
    "flags.enabled",
    "flags.snapshot_path",
    "app.enabled",
    "app.bind",
    "app.port",
    "app.message_ttl_s",
    "app.recent_size",
    "app.max_images",
    "app.max_upload_bytes",
    "app.flags",
    "admin.enabled",
    "admin.bind",
    "admin.port",
    "admin.token",
    "admin.token_file",
    "admin.events_interval_ms",
    "discovery.enabled",
    "discovery.register_self",
    "discovery.service",
    "discovery.id",
    "discovery.advertise",
    "discovery.tags",
    "discovery.lease_ms",
    "discovery.spawn_command",
    "discovery.destroy_command",
    "discovery.spawn_timeout_ms",
    "discovery.max_instances",
    "discovery.spawn_output",
    "alerts.enabled",
    "alerts.interval_ms",
    "alerts.fleet_dedupe",
    "alerts.fleet_publish_ms",
    "alerts.rules",
    "alerts.receivers",
    "alerts.defaults.cpu",
    "alerts.defaults.cpu_ratio",
    "alerts.defaults.memory",
    "alerts.defaults.memory_ratio",
    "alerts.defaults.app_error_ratio",
    "alerts.defaults.app_error_ratio_max",
    "alerts.defaults.app_p99",
    "alerts.defaults.app_p99_seconds",
    "alerts.defaults.for_ms",
    "alerts.defaults.receivers",
    "gateway.enabled",
    "gateway.bind",
    "gateway.port",
    "gateway.connect_timeout_ms",
    "gateway.timeout_ms",
    "gateway.retries",
    "gateway.retry_budget_percent",
    "gateway.upstream_idle_timeout_ms",
    "gateway.upstream_max_idle",
    "gateway.max_connections",
    "gateway.max_body_bytes",
    "gateway.member_header",
    "gateway.routes",
    "gateway.pools",
    "autoscale.enabled",
    "autoscale.interval_ms",
    "autoscale.lease_ms",
    "autoscale.services",
    "cacheproxy.enabled",
    "cacheproxy.bind",
    "cacheproxy.http_port",
    "cacheproxy.resp_port",
    "cacheproxy.capacity",
    "cacheproxy.ttl_ms",
    "cacheproxy.max_connections",
    "cacheproxy.max_inflight",
    "cacheproxy.invalidate",
    "relay.enabled",
    "relay.upstream_url",
    "relay.timeout_ms",
    "relay.concurrency",
    "relay.max_attempts",
    "relay.queue_max",
    "relay.queue_recovery",
    "relay.max_destination_bytes",
    "relay.max_body_bytes",
    "relay.durability",
    "relay.replication_timeout_ms",
    "relay.replication_acks",
    "relay.breaker.window_ms",
    "relay.breaker.min_calls",
    "relay.breaker.failure_ratio",
    "relay.breaker.consecutive_failures",
    "relay.breaker.open_ms",
    "relay.breaker.max_open_ms",
    "relay.breaker.half_open_probes",
    "ticker.enabled",
    "ticker.bind",
    "ticker.port",
    "ticker.interval_ms",
    "log.level",
    "log.access",
};

TEST_CASE("config: defaults match the design", "[config]") {
  Config config = configSchema().defaults();
  REQUIRE_FALSE(loadConfig(configSchema(), CommandLine{}, {}, config));

  CHECK(config.redis.url == "redis://127.0.0.1:6379/0");
  CHECK(config.redis.connect_timeout_ms == 1000);
  CHECK(config.redis.command_timeout_ms == 1000);
  CHECK(config.http.max_header_bytes == 16384);
  CHECK(config.http.max_body_bytes == 1048576);
  CHECK(config.http.header_timeout_ms == 10000);
  CHECK(config.http.idle_timeout_ms == 60000);
  CHECK(config.http.max_connections == 10000);
  CHECK(config.module<AppOptions>().enabled);
  CHECK(config.module<AppOptions>().bind == "127.0.0.1");
  CHECK(config.module<AppOptions>().port == 3000);
  CHECK(config.module<AppOptions>().message_ttl_s == 10);
  CHECK(config.module<AppOptions>().recent_size == 5);
  CHECK(config.module<AppOptions>().max_images == 100);
  CHECK(config.module<AppOptions>().max_upload_bytes == 8388608);
  CHECK(config.module<AdminOptions>().enabled);
  CHECK(config.module<AdminOptions>().bind == "127.0.0.1");
  CHECK(config.module<AdminOptions>().port == 9090);
  CHECK(config.module<CacheProxyConfig>().enabled);
  CHECK(config.module<CacheProxyConfig>().bind == "127.0.0.1");
  CHECK(config.module<CacheProxyConfig>().http_port == 8081);
  CHECK(config.module<CacheProxyConfig>().resp_port == 6380);
  CHECK(config.module<CacheProxyConfig>().capacity == 10000);
  CHECK(config.module<CacheProxyConfig>().ttl_ms == 60000);
  CHECK(config.module<CacheProxyConfig>().max_connections == 1024);
  CHECK(config.module<CacheProxyConfig>().max_inflight == 64);
  CHECK(config.module<CacheProxyConfig>().invalidate == "none");
  CHECK(config.module<RelayConfig>().enabled);
  CHECK(config.module<RelayConfig>().upstream_url == "http://127.0.0.1:9001/message");
  CHECK(config.module<RelayConfig>().timeout_ms == 1000);
  CHECK(config.module<RelayConfig>().concurrency == 4);
  CHECK(config.module<RelayConfig>().max_attempts == 5);
  CHECK(config.module<RelayConfig>().queue_max == 10);
  CHECK(config.module<RelayConfig>().queue_recovery == 5);
  CHECK(config.module<RelayConfig>().durability == "none");
  CHECK(config.module<RelayConfig>().replication_timeout_ms == 500);
  CHECK(config.module<RelayConfig>().replication_acks == 1);
  CHECK(config.redis.read_from == "master");
  CHECK(config.redis.replica_url.empty());
  CHECK(config.log.level == "info");
  CHECK_FALSE(config.log.access);

  CHECK(configSchema().toJson(config) == configSchema().toJson(configSchema().defaults()));
}

TEST_CASE("config: every field is a key with a derived environment name", "[config]") {
  CHECK(configSchema().paths() == kExpectedKeys);

  std::set<std::string> names;
  for (const std::string& path : configSchema().paths())
    names.insert(ConfigSchema::environmentName(path));
  CHECK(names.size() == kExpectedKeys.size());

  CHECK(ConfigSchema::environmentName("cacheproxy.capacity") == "REDGE_CACHEPROXY_CAPACITY");
  CHECK(ConfigSchema::environmentName("relay.breaker.failure_ratio") ==
        "REDGE_RELAY_BREAKER_FAILURE_RATIO");
}

TEST_CASE("config: a JSON document maps nested objects to dotted paths", "[config]") {
  Config config = configSchema().defaults();
  REQUIRE_FALSE(configSchema().applyJson(R"({
    "redis": {"url": "unix:///run/redis.sock", "key_prefix": "t:"},
    "cacheproxy": {"capacity": 5000, "invalidate": "keyspace", "enabled": false},
    "relay": {"breaker": {"failure_ratio": 0.25, "open_ms": 100}, "queue_max": 20},
    "app": {"bind": "::1"},
    "log": {"level": "debug", "access": true}
  })",
                                         config));
  CHECK(config.redis.url == "unix:///run/redis.sock");
  CHECK(config.redis.key_prefix == "t:");
  CHECK(config.module<CacheProxyConfig>().capacity == 5000);
  CHECK(config.module<CacheProxyConfig>().invalidate == "keyspace");
  CHECK_FALSE(config.module<CacheProxyConfig>().enabled);
  CHECK(config.module<RelayConfig>().breaker.failure_ratio == 0.25);
  CHECK(config.module<RelayConfig>().breaker.open_ms == 100);
  CHECK(config.module<RelayConfig>().queue_max == 20);
  CHECK(config.module<AppOptions>().bind == "::1");
  CHECK(config.log.level == "debug");
  CHECK(config.log.access);
  // Untouched keys keep what they had.
  CHECK(config.module<CacheProxyConfig>().ttl_ms == 60000);

  SECTION("an integer is a valid double") {
    REQUIRE_FALSE(
        configSchema().applyJson(R"({"relay": {"breaker": {"failure_ratio": 1}}})", config));
    CHECK(config.module<RelayConfig>().breaker.failure_ratio == 1.0);
  }
  SECTION("an empty object changes nothing") {
    Config before = config;
    REQUIRE_FALSE(configSchema().applyJson("{}", config));
    CHECK(configSchema().toJson(config) == configSchema().toJson(before));
  }
}

TEST_CASE("config: JSON errors name the key and the reason", "[config]") {
  Config config = configSchema().defaults();
  auto expectError = [&](const std::string& json, const std::string& path,
                         const std::string& reason) {
    auto error = configSchema().applyJson(json, config);
    REQUIRE(error);
    CHECK(error->path == path);
    CHECK_THAT(error->reason, Contains(reason));
  };

  SECTION("unknown key") {
    expectError(R"({"cacheproxy": {"capcity": 5}})", "cacheproxy.capcity", "unknown key");
  }
  SECTION("unknown section") {
    expectError(R"({"cache": {"capacity": 5}})", "cache", "unknown key");
  }
  SECTION("a section given a scalar") {
    expectError(R"({"relay": {"breaker": 5}})", "relay.breaker", "expected an object");
  }
  SECTION("a key given an object") {
    expectError(R"({"app": {"port": {"x": 1}}})", "app.port", "expected an integer");
  }
  SECTION("wrong types") {
    expectError(R"({"app": {"port": "3000"}})", "app.port", "expected an integer");
    expectError(R"({"app": {"port": 3000.5}})", "app.port", "expected an integer");
    expectError(R"({"app": {"port": 3000.0}})", "app.port", "expected an integer");
    expectError(R"({"app": {"enabled": "yes"}})", "app.enabled", "expected true or false");
    expectError(R"({"app": {"enabled": 1}})", "app.enabled", "expected true or false");
    expectError(R"({"redis": {"url": 5}})", "redis.url", "expected a string");
    expectError(R"({"redis": {"url": null}})", "redis.url", "expected a string");
    expectError(R"({"relay": {"breaker": {"failure_ratio": "0.5"}}})",
                "relay.breaker.failure_ratio", "expected a number");
  }
  SECTION("out of range") {
    expectError(R"({"app": {"port": 65536}})", "app.port", "must be between 0 and 65535");
    expectError(R"({"cacheproxy": {"capacity": 0}})", "cacheproxy.capacity",
                "must be between 1 and");
    expectError(R"({"cacheproxy": {"capacity": -3}})", "cacheproxy.capacity",
                "must be between 1 and");
    expectError(R"({"cacheproxy": {"capacity": 18446744073709551615}})", "cacheproxy.capacity",
                "must be between 1 and");
    expectError(R"({"relay": {"breaker": {"failure_ratio": 0}}})", "relay.breaker.failure_ratio",
                "must be greater than 0 and at most 1");
    expectError(R"({"relay": {"breaker": {"failure_ratio": 1.5}}})", "relay.breaker.failure_ratio",
                "must be greater than 0 and at most 1");
  }
  SECTION("bad enum and string values") {
    expectError(R"({"log": {"level": "verbose"}})", "log.level",
                "must be one of debug, info, warn, error");
    expectError(R"({"cacheproxy": {"invalidate": "always"}})", "cacheproxy.invalidate",
                "must be one of none, keyspace");
    expectError(R"({"admin": {"bind": "localhost"}})", "admin.bind", "literal IPv4 or IPv6");
    expectError(R"({"redis": {"url": "http://x"}})", "redis.url",
                "must start with redis:// or unix://");
  }
  SECTION("malformed JSON reports RapidJSON's reason and offset") {
    auto error = configSchema().applyJson(R"({"app": {"port": 3000,}})", config);
    REQUIRE(error);
    CHECK(error->path == "(json)");
    CHECK_THAT(error->reason, StartsWith("parse error at offset 22: "));
  }
  SECTION("nesting deeper than the JSON depth limit") {
    // The file goes through the same depth-limited parser as network JSON,
    // so the walker below it never recurses more than 64 levels.
    std::string deep;
    for (int i = 0; i < 70; ++i) deep += "{\"app\": ";
    auto error = configSchema().applyJson(deep, config);
    REQUIRE(error);
    CHECK(error->path == "(json)");
    CHECK(error->reason ==
          "parse error at offset 512: Arrays and objects are nested deeper than 64 levels.");
  }
  SECTION("empty text") {
    auto error = configSchema().applyJson("", config);
    REQUIRE(error);
    CHECK(error->path == "(json)");
    CHECK_THAT(error->reason, Contains("offset 0"));
  }
  SECTION("the document must be an object") {
    expectError("[1, 2]", "(json)", "expected an object");
    expectError("42", "(json)", "expected an object");
  }
  SECTION("a repeated key") {
    expectError(R"({"app": {"port": 1, "port": 2}})", "app.port", "duplicate key");
  }
}

TEST_CASE("config: assignments parse text per type", "[config]") {
  Config config = configSchema().defaults();

  SECTION("booleans") {
    for (const char* text : {"false", "0", "no", "off", "FALSE", "Off"}) {
      config.log.access = true;
      REQUIRE_FALSE(configSchema().applyAssignment("log.access", text, config));
      CHECK_FALSE(config.log.access);
    }
    for (const char* text : {"true", "1", "yes", "on", "True", "YES"}) {
      config.log.access = false;
      REQUIRE_FALSE(configSchema().applyAssignment("log.access", text, config));
      CHECK(config.log.access);
    }
  }
  SECTION("integers, including the bounds") {
    REQUIRE_FALSE(configSchema().applyAssignment("cacheproxy.capacity", "5000", config));
    CHECK(config.module<CacheProxyConfig>().capacity == 5000);
    REQUIRE_FALSE(configSchema().applyAssignment("app.port", "0", config));
    CHECK(config.module<AppOptions>().port == 0);
    REQUIRE_FALSE(configSchema().applyAssignment("app.port", "65535", config));
    CHECK(config.module<AppOptions>().port == 65535);
  }
  SECTION("doubles") {
    REQUIRE_FALSE(configSchema().applyAssignment("relay.breaker.failure_ratio", "0.75", config));
    CHECK(config.module<RelayConfig>().breaker.failure_ratio == 0.75);
    REQUIRE_FALSE(configSchema().applyAssignment("relay.breaker.failure_ratio", "1", config));
    CHECK(config.module<RelayConfig>().breaker.failure_ratio == 1.0);
  }
  SECTION("strings are taken as they are") {
    REQUIRE_FALSE(configSchema().applyAssignment("redis.key_prefix", "", config));
    CHECK(config.redis.key_prefix.empty());
    REQUIRE_FALSE(configSchema().applyAssignment("redis.key_prefix", "a=b c", config));
    CHECK(config.redis.key_prefix == "a=b c");
    REQUIRE_FALSE(configSchema().applyAssignment("redis.url", "redis://u:p@db:6379/2", config));
    CHECK(config.redis.url == "redis://u:p@db:6379/2");
  }
}

TEST_CASE("config: assignment errors", "[config]") {
  Config config = configSchema().defaults();
  auto expectError = [&](const std::string& path, const std::string& text,
                         const std::string& reason) {
    auto error = configSchema().applyAssignment(path, text, config);
    REQUIRE(error);
    CHECK(error->path == path);
    CHECK_THAT(error->reason, Contains(reason));
  };

  expectError("cacheproxy.capcity", "5", "unknown key");
  expectError("cacheproxy", "5", "unknown key");
  expectError("log.access", "maybe", "expected true or false");
  expectError("log.access", "", "expected true or false");
  expectError("cacheproxy.capacity", "12x", "expected an integer");
  expectError("cacheproxy.capacity", "", "expected an integer");
  expectError("cacheproxy.capacity", " 12", "expected an integer");
  expectError("cacheproxy.capacity", "+12", "expected an integer");
  expectError("cacheproxy.capacity", "0x10", "expected an integer");
  expectError("cacheproxy.capacity", "1.5", "expected an integer");
  expectError("cacheproxy.capacity", "-5", "must be between 1 and");
  expectError("cacheproxy.capacity", "99999999999999999999", "must be between 1 and");
  expectError("app.port", "70000", "must be between 0 and 65535");
  expectError("relay.breaker.failure_ratio", "half", "expected a number");
  expectError("relay.breaker.failure_ratio", "0.5x", "expected a number");
  expectError("relay.breaker.failure_ratio", "nan", "must be greater than 0");
  expectError("relay.breaker.failure_ratio", "inf", "must be greater than 0");
  expectError("relay.breaker.failure_ratio", "-0.1", "must be greater than 0");
  expectError("log.level", "trace", "must be one of");
  expectError("app.bind", "example.com", "literal IPv4 or IPv6");
  expectError("app.bind", "127.0.0.1:80", "literal IPv4 or IPv6");
  expectError("relay.upstream_url", "https://x/", "must start with http://");

  // A refused value leaves the field as it was.
  CHECK(config.module<CacheProxyConfig>().capacity == 10000);
  CHECK(config.module<RelayConfig>().breaker.failure_ratio == 0.5);
}

TEST_CASE("config: the environment sets keys by REDGE_ name and scenario alias", "[config]") {
  Config config = configSchema().defaults();

  SECTION("REDGE_ names") {
    REQUIRE_FALSE(loadFromEnvironment({{"REDGE_CACHEPROXY_CAPACITY", "5000"},
                                       {"REDGE_RELAY_BREAKER_FAILURE_RATIO", "0.3"},
                                       {"REDGE_REDIS_KEY_PREFIX", "x:"},
                                       {"REDGE_LOG_ACCESS", "on"}},
                                      config));
    CHECK(config.module<CacheProxyConfig>().capacity == 5000);
    CHECK(config.module<RelayConfig>().breaker.failure_ratio == 0.3);
    CHECK(config.redis.key_prefix == "x:");
    CHECK(config.log.access);
  }
  SECTION("scenario aliases") {
    REQUIRE_FALSE(loadFromEnvironment({{"QUEUE_MAX_SIZE", "50"},
                                       {"QUEUE_RECOVERY_THRESHOLD", "20"},
                                       {"REDIS_URL", "redis://10.0.0.1:6379/1"}},
                                      config));
    CHECK(config.module<RelayConfig>().queue_max == 50);
    CHECK(config.module<RelayConfig>().queue_recovery == 20);
    CHECK(config.redis.url == "redis://10.0.0.1:6379/1");
  }
  SECTION("the REDGE_ name wins over the alias") {
    REQUIRE_FALSE(
        loadFromEnvironment({{"QUEUE_MAX_SIZE", "50"}, {"REDGE_RELAY_QUEUE_MAX", "60"}}, config));
    CHECK(config.module<RelayConfig>().queue_max == 60);
  }
  SECTION("unrelated variables and REDGE_TEST_* are ignored") {
    REQUIRE_FALSE(loadFromEnvironment(
        {{"PATH", "/bin"}, {"REDGE_TEST_REDIS_PORT", "whatever"}, {"redge_app_port", "1"}},
        config));
    CHECK(configSchema().toJson(config) == configSchema().toJson(configSchema().defaults()));
  }
  SECTION("an unknown REDGE_ variable is an error") {
    auto error = loadFromEnvironment({{"REDGE_CACHEPROXY_CAPCITY", "5"}}, config);
    REQUIRE(error);
    CHECK(error->path == "REDGE_CACHEPROXY_CAPCITY");
    CHECK(error->reason == "unknown key");
  }
  SECTION("a bad value names the key and the variable") {
    auto error = loadFromEnvironment({{"QUEUE_MAX_SIZE", "lots"}}, config);
    REQUIRE(error);
    CHECK(error->path == "relay.queue_max");
    CHECK(error->reason == "expected an integer (from QUEUE_MAX_SIZE)");

    error = loadFromEnvironment({{"REDGE_APP_PORT", "-1"}}, config);
    REQUIRE(error);
    CHECK(error->path == "app.port");
    CHECK(error->reason == "must be between 0 and 65535 (from REDGE_APP_PORT)");
  }
}

TEST_CASE("config: the command line", "[config]") {
  CommandLine cmd;

  SECTION("every flag") {
    REQUIRE_FALSE(
        parseArgs({"--config", "/etc/redge.json", "--set", "app.port=1", "--set=log.level=debug",
                   "--redis", "unix:///r.sock", "--check-config", "--help", "--version"},
                  cmd));
    CHECK(cmd.config_file == "/etc/redge.json");
    CHECK(cmd.sets == std::vector<std::string>{"app.port=1", "log.level=debug"});
    CHECK(cmd.redis_url == "unix:///r.sock");
    CHECK(cmd.check_config);
    CHECK(cmd.help);
    CHECK(cmd.version);
  }
  SECTION("flag=value forms and -h") {
    REQUIRE_FALSE(parseArgs({"--config=a.json", "--redis=redis://h:1/0", "-h"}, cmd));
    CHECK(cmd.config_file == "a.json");
    CHECK(cmd.redis_url == "redis://h:1/0");
    CHECK(cmd.help);
  }
  SECTION("no arguments") {
    REQUIRE_FALSE(parseArgs({}, cmd));
    CHECK_FALSE(cmd.config_file);
    CHECK(cmd.sets.empty());
    CHECK_FALSE(cmd.check_config);
  }
  SECTION("a value may contain '=' after the first") {
    REQUIRE_FALSE(parseArgs({"--set", "redis.key_prefix=a=b"}, cmd));
    CHECK(cmd.sets == std::vector<std::string>{"redis.key_prefix=a=b"});
  }
}

TEST_CASE("config: command line errors", "[config]") {
  CommandLine cmd;
  auto expectError = [&](std::vector<const char*> args, const std::string& path,
                         const std::string& reason) {
    auto error = parseArgs(std::move(args), cmd);
    REQUIRE(error);
    CHECK(error->path == path);
    CHECK(error->reason == reason);
  };

  expectError({"--bogus"}, "--bogus", "unknown option");
  expectError({"--bogus=1"}, "--bogus", "unknown option");
  expectError({"-x"}, "-x", "unknown option");
  expectError({"stray"}, "stray", "unexpected argument");
  expectError({"--config"}, "--config", "needs a value");
  expectError({"--config", "--check-config"}, "--config", "needs a value");
  expectError({"--redis"}, "--redis", "needs a value");
  expectError({"--set"}, "--set", "needs a value");
  expectError({"--set", "app.port"}, "--set", "expected path=value");
  expectError({"--set=app.port"}, "--set", "expected path=value");
  expectError({"--set", "=5"}, "--set", "expected path=value");
  expectError({"--check-config=yes"}, "--check-config", "takes no value");
}

TEST_CASE("config: precedence is defaults < file < environment < --redis < --set", "[config]") {
  TempFile file(R"({"cacheproxy": {"capacity": 1, "ttl_ms": 2, "max_inflight": 3},
                    "redis": {"url": "redis://file:1/0", "key_prefix": "file:"}})");
  CommandLine cmd;
  cmd.config_file = file.path();
  std::map<std::string, std::string> env = {{"REDGE_CACHEPROXY_TTL_MS", "20"},
                                            {"REDGE_CACHEPROXY_MAX_INFLIGHT", "30"},
                                            {"REDIS_URL", "redis://env:1/0"},
                                            {"REDGE_REDIS_KEY_PREFIX", "env:"}};
  Config config = configSchema().defaults();

  SECTION("each later step overrides the earlier ones") {
    cmd.sets = {"cacheproxy.max_inflight=300", "cacheproxy.max_inflight=301"};
    cmd.redis_url = "redis://flag:1/0";
    REQUIRE_FALSE(loadConfig(configSchema(), cmd, env, config));
    CHECK(config.module<CacheProxyConfig>().capacity == 1);        // file only
    CHECK(config.module<CacheProxyConfig>().ttl_ms == 20);         // env over file
    CHECK(config.module<CacheProxyConfig>().max_inflight == 301);  // last --set over env
    CHECK(config.redis.url == "redis://flag:1/0");  // --redis over the REDIS_URL alias
    CHECK(config.redis.key_prefix == "env:");
    CHECK(config.module<CacheProxyConfig>().resp_port == 6380);  // default
  }
  SECTION("--set overrides --redis") {
    cmd.redis_url = "redis://flag:1/0";
    cmd.sets = {"redis.url=redis://set:1/0"};
    REQUIRE_FALSE(loadConfig(configSchema(), cmd, env, config));
    CHECK(config.redis.url == "redis://set:1/0");
  }
  SECTION("an unknown key in --set") {
    cmd.sets = {"cacheproxy.capcity=5"};
    auto error = loadConfig(configSchema(), cmd, env, config);
    REQUIRE(error);
    CHECK(error->path == "cacheproxy.capcity");
    CHECK(error->reason == "unknown key");
  }
  SECTION("a bad --redis URL") {
    cmd.redis_url = "localhost:6379";
    auto error = loadConfig(configSchema(), cmd, env, config);
    REQUIRE(error);
    CHECK(error->path == "redis.url");
    CHECK_THAT(error->reason, Contains("(from --redis)"));
  }
  SECTION("cross-key rules run on the result") {
    cmd.sets = {"relay.queue_recovery=10"};
    auto error = loadConfig(configSchema(), cmd, env, config);
    REQUIRE(error);
    CHECK(error->path == "relay.queue_recovery");
    CHECK(error->reason == "must be less than relay.queue_max (10)");
  }
}

TEST_CASE("config: file errors name the file", "[config]") {
  CommandLine cmd;
  Config config = configSchema().defaults();

  SECTION("a missing file") {
    cmd.config_file = "/nonexistent/redge.json";
    auto error = loadConfig(configSchema(), cmd, {}, config);
    REQUIRE(error);
    CHECK(error->path == "/nonexistent/redge.json");
    CHECK(error->reason == "cannot read: No such file or directory");
  }
  SECTION("a directory") {
    cmd.config_file = "/tmp";
    auto error = loadConfig(configSchema(), cmd, {}, config);
    REQUIRE(error);
    CHECK(error->path == "/tmp");
    CHECK_THAT(error->reason, StartsWith("cannot read: "));
  }
  SECTION("malformed JSON") {
    TempFile file("{\"app\": {\"port\": }}");
    cmd.config_file = file.path();
    auto error = loadConfig(configSchema(), cmd, {}, config);
    REQUIRE(error);
    CHECK(error->path == file.path());
    CHECK_THAT(error->reason, StartsWith("parse error at offset 17: "));
  }
  SECTION("a bad key names the key and the file") {
    TempFile file(R"({"cacheproxy": {"capcity": 5}})");
    cmd.config_file = file.path();
    auto error = loadConfig(configSchema(), cmd, {}, config);
    REQUIRE(error);
    CHECK(error->path == "cacheproxy.capcity");
    CHECK(error->reason == "unknown key (in " + file.path() + ")");
  }
}

TEST_CASE("config: cross-key rules", "[config]") {
  Config config = configSchema().defaults();
  REQUIRE_FALSE(configSchema().validate(config));

  SECTION("enabled listeners need distinct ports") {
    config.module<CacheProxyConfig>().resp_port = config.module<AppOptions>().port;
    auto error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "cacheproxy.resp_port");
    CHECK(error->reason == "port 3000 is also used by app.port");

    config.module<CacheProxyConfig>().resp_port = 6380;
    config.module<CacheProxyConfig>().http_port = config.module<CacheProxyConfig>().resp_port;
    error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "cacheproxy.resp_port");
    CHECK(error->reason == "port 6380 is also used by cacheproxy.http_port");
  }
  SECTION("sentinels need a master name, literal addresses and a redis:// url") {
    std::string sentinels = R"(["127.0.0.1:26379", "[::1]:26380"])";
    REQUIRE_FALSE(configSchema().applyAssignment("redis.sentinels", sentinels, config));
    CHECK(config.redis.sentinels.size() == 2);
    auto error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "redis.master_name");
    CHECK(error->reason == "is required when redis.sentinels is set");
    config.redis.master_name = "mymaster";
    CHECK_FALSE(configSchema().validate(config));
    config.redis.url = "unix:///run/redis.sock";
    error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "redis.url");

    error = configSchema().applyAssignment("redis.sentinels", R"(["sentinel.lan:26379"])", config);
    REQUIRE(error);
    CHECK(error->path == "redis.sentinels[0]");
    CHECK(error->reason == "host must be a literal IPv4 or IPv6 address");
    error = configSchema().applyAssignment("redis.sentinels", R"(["127.0.0.1"])", config);
    REQUIRE(error);
    CHECK(error->reason == "needs a port (ip:port)");
  }
  SECTION("a disabled listener's port may clash") {
    config.module<AdminOptions>().port = config.module<AppOptions>().port;
    config.module<AdminOptions>().enabled = false;
    CHECK_FALSE(configSchema().validate(config));
  }
  SECTION("port 0 may appear on every listener") {
    config.module<AppOptions>().port = config.module<AdminOptions>().port =
        config.module<CacheProxyConfig>().http_port = config.module<CacheProxyConfig>().resp_port =
            0;
    CHECK_FALSE(configSchema().validate(config));
  }
  SECTION("queue_recovery must be below queue_max") {
    config.module<RelayConfig>().queue_recovery = config.module<RelayConfig>().queue_max;
    auto error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "relay.queue_recovery");
    CHECK(error->reason == "must be less than relay.queue_max (10)");
    config.module<RelayConfig>().queue_recovery = 0;
    CHECK_FALSE(configSchema().validate(config));
  }
  SECTION("reconnect and breaker delays are ordered") {
    config.redis.reconnect_min_ms = 6000;
    auto error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "redis.reconnect_min_ms");
    CHECK(error->reason == "must be at most redis.reconnect_max_ms (500)");

    config.redis.reconnect_min_ms = 500;
    config.module<RelayConfig>().breaker.open_ms = 70000;
    error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "relay.breaker.open_ms");
  }
  SECTION("replica reads need a replica; a replicated enqueue fits in the command timeout") {
    REQUIRE_FALSE(configSchema().applyAssignment("redis.read_from", "replica", config));
    auto error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "redis.read_from");
    CHECK(error->reason == "replica needs redis.sentinels (to find one) or redis.replica_url");
    REQUIRE_FALSE(
        configSchema().applyAssignment("redis.replica_url", "redis://127.0.0.1:6380/0", config));
    CHECK_FALSE(configSchema().validate(config));
    CHECK(configSchema().applyAssignment("redis.read_from", "primary", config));
    CHECK(configSchema().applyAssignment("redis.replica_url", "http://127.0.0.1:6380", config));

    REQUIRE_FALSE(configSchema().applyAssignment("relay.durability", "replicated", config));
    REQUIRE_FALSE(configSchema().applyAssignment("relay.replication_timeout_ms", "501", config));
    error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "relay.replication_timeout_ms");
    CHECK(error->reason == "must be at most half of redis.command_timeout_ms (1000)");
    config.module<RelayConfig>().replication_timeout_ms = 500;
    CHECK_FALSE(configSchema().validate(config));
    CHECK(configSchema().applyAssignment("relay.durability", "sync", config));
  }
  SECTION("per-key rules also hold for a Config built in code") {
    config.log.level = "loud";
    auto error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "log.level");

    config.log.level = "warn";
    config.module<CacheProxyConfig>().bind = "not-an-address";
    error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "cacheproxy.bind");

    config.module<CacheProxyConfig>().bind = "0.0.0.0";
    config.module<RelayConfig>().max_attempts = 0;
    error = configSchema().validate(config);
    REQUIRE(error);
    CHECK(error->path == "relay.max_attempts");
  }
}

TEST_CASE("config: configToJson round-trips through applyJson", "[config]") {
  Config config = configSchema().defaults();
  const std::vector<std::pair<std::string, std::string>> changes = {
      {"redis.url", "unix:///run/redis \"quoted\".sock"},
      {"redis.key_prefix", "p\\x:"},
      {"http.max_output_bytes", "123"},
      {"server.drain_timeout_ms", "77"},
      {"app.enabled", "false"},
      {"app.bind", "::"},
      {"app.port", "0"},
      {"cacheproxy.invalidate", "keyspace"},
      {"relay.breaker.failure_ratio", "0.1"},
      {"relay.breaker.half_open_probes", "3"},
      {"log.level", "error"},
      {"log.access", "true"},
  };
  for (const auto& [path, value] : changes)
    REQUIRE_FALSE(configSchema().applyAssignment(path, value, config));

  std::string json = configSchema().toJson(config);
  Config copy = configSchema().defaults();
  REQUIRE_FALSE(configSchema().applyJson(json, copy));
  CHECK(configSchema().toJson(copy) == json);
  CHECK(copy.redis.url == config.redis.url);
  CHECK(copy.redis.key_prefix == config.redis.key_prefix);
  CHECK(copy.module<RelayConfig>().breaker.failure_ratio ==
        config.module<RelayConfig>().breaker.failure_ratio);
  CHECK_FALSE(copy.module<AppOptions>().enabled);

  // Table order, nested by path, pretty-printed.
  CHECK_THAT(json, StartsWith("{\n  \"redis\": {\n    \"url\": "));
  CHECK(json.find("\"redis\"") < json.find("\"http\""));
  CHECK(json.find("\"relay\"") < json.find("\"breaker\""));
  CHECK(json.find("\"breaker\"") < json.find("\"log\""));
  for (const std::string& path : kExpectedKeys) {
    std::string leaf = path.substr(path.rfind('.') + 1);
    CHECK(json.find("\"" + leaf + "\"") != std::string::npos);
  }
}

TEST_CASE("config: usageText lists flags, precedence and every key", "[config]") {
  std::string usage = usageText(configSchema());
  for (const char* flag :
       {"--config", "--set", "--redis", "--check-config", "--help", "-h", "--version"}) {
    CHECK_THAT(usage, Contains(flag));
  }
  CHECK_THAT(usage, Contains("defaults < --config FILE"));
  for (const std::string& path : configSchema().paths()) {
    CHECK_THAT(usage, Contains("  " + path + " ("));
    CHECK_THAT(usage, Contains(ConfigSchema::environmentName(path)));
  }
  CHECK_THAT(usage, Contains("default \"redis://127.0.0.1:6379/0\""));
  CHECK_THAT(usage, Contains("QUEUE_MAX_SIZE"));
}

TEST_CASE("config: processEnvironment reads the process environment", "[config]") {
  REQUIRE(setenv("REDGE_TEST_CONFIG_PROBE", "a=b", 1) == 0);
  auto env = processEnvironment();
  unsetenv("REDGE_TEST_CONFIG_PROBE");
  REQUIRE(env.count("REDGE_TEST_CONFIG_PROBE") == 1);
  CHECK(env["REDGE_TEST_CONFIG_PROBE"] == "a=b");
}

}  // namespace
TEST_CASE("config: changedPaths names the keys whose values differ, in table order", "[config]") {
  const ConfigSchema& schema = configSchema();
  Config a = schema.defaults();
  Config b = a;
  CHECK(schema.changedPaths(a, b).empty());
  REQUIRE_FALSE(schema.applyJson(
      R"({"log": {"level": "debug"}, "app": {"port": 3100},
          "relay": {"breaker": {"open_ms": 700}}, "cacheproxy": {"ttl_ms": 5}})",
      b));
  CHECK(schema.changedPaths(a, b) == std::vector<std::string>{"app.port", "cacheproxy.ttl_ms",
                                                              "relay.breaker.open_ms",
                                                              "log.level"});
  CHECK(schema.changedPaths(b, a) == schema.changedPaths(a, b));
  Config c = b;
  REQUIRE_FALSE(schema.applyJson(R"({"app": {"port": 3000}})", c));  // back to the default
  CHECK(schema.changedPaths(a, c) ==
        std::vector<std::string>{"cacheproxy.ttl_ms", "relay.breaker.open_ms", "log.level"});
}

}  // namespace redge

namespace redge {
namespace {

std::optional<ConfigError> loadWithSets(std::vector<std::string> sets, Config& out,
                                        std::optional<std::string> file = std::nullopt) {
  CommandLine cmd;
  cmd.sets = std::move(sets);
  cmd.config_file = std::move(file);
  return loadConfig(configSchema(), cmd, {}, out);
}

}  // namespace

TEST_CASE("config: server.workers takes a count or auto, from every source", "[config][workers]") {
  Config config;
  REQUIRE_FALSE(loadWithSets({}, config));
  CHECK(config.server.workers == "1");
  CHECK(workerCount(config.server) == 1);
  CHECK_FALSE(config.server.pin_workers);

  REQUIRE_FALSE(loadWithSets({"server.workers=3", "app.port=3001", "admin.port=9091"}, config));
  CHECK(workerCount(config.server) == 3);

  // A JSON file may give the count as a number or as text.
  TempFile number(R"({"server": {"workers": 2, "pin_workers": true}})");
  REQUIRE_FALSE(loadWithSets({}, config, number.path()));
  CHECK(config.server.workers == "2");
  CHECK(config.server.pin_workers);
  TempFile text(R"({"server": {"workers": "auto"}})");
  REQUIRE_FALSE(loadWithSets({}, config, text.path()));
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  CHECK(workerCount(config.server) == CPU_COUNT(&set));

  for (const char* bad : {"0", "-1", "two", "1025", "", "2.5"}) {
    INFO(bad);
    auto error = loadWithSets({std::string("server.workers=") + bad}, config);
    REQUIRE(error);
    CHECK(error->path == "server.workers");
    CHECK_THAT(error->reason, Contains("or auto"));
  }
  TempFile fraction(R"({"server": {"workers": 1.5}})");
  auto error = loadWithSets({}, config, fraction.path());
  REQUIRE(error);
  CHECK_THAT(error->reason, Contains("expected a string"));
}

TEST_CASE("config: more than one worker needs fixed ports", "[config][workers]") {
  Config config;
  auto error = loadWithSets({"server.workers=2", "app.port=0"}, config);
  REQUIRE(error);
  CHECK(error->path == "app.port");
  CHECK_THAT(error->reason, Contains("server.workers"));
  // A disabled section's port does not count; one worker may use port 0.
  CHECK_FALSE(loadWithSets(
      {"server.workers=2", "app.enabled=false", "relay.enabled=false", "app.port=0"}, config));
  CHECK_FALSE(loadWithSets({"server.workers=1", "app.port=0"}, config));
}

}  // namespace redge
