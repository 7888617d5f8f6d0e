#pragma once
// The one typed configuration of redge. Filled in this order, each step
// overriding the last: built-in defaults -> JSON file (--config) -> REDGE_*
// environment (plus a few scenario names) -> --redis -> --set path=value.
// Every key has one dotted path that works in all of them.
//
// Core owns the process-wide sections (redis, http, server, log) and the
// order of the whole table; each module declares its own section into the
// schema (core/config_schema.hpp) and reads it back with config.module<T>().

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/config_schema.hpp"

namespace redge {

struct RedisConfig {
  std::string url = "redis://127.0.0.1:6379/0";
  std::string key_prefix = "redge:";
  int64_t connect_timeout_ms = 1000;
  int64_t command_timeout_ms = 1000;
  int64_t reconnect_min_ms = 100;  // first reconnect delay
  // Backoff ceiling. Low on purpose: a refused connect costs nothing, and
  // service comes back within this (plus a connect) of Redis coming back.
  int64_t reconnect_max_ms = 500;
  // Redis Sentinel: with sentinels set, redge connects to the master they
  // name for master_name (url's host and port are then ignored; its user,
  // password and db still apply to the master).
  std::vector<std::string> sentinels;  // "ip:port", tried in turn
  std::string master_name;
  std::string sentinel_user;  // ACL user for the sentinels (empty: default user)
  std::string sentinel_password;
  // Where the reads that tolerate replication lag go (the cache proxy's
  // misses, /recent, the relay's listing): "master" or "replica". A replica
  // comes from the sentinels (SENTINEL replicas) or, without sentinels,
  // from replica_url; a read it cannot answer is retried on the master.
  std::string read_from = "master";
  std::string replica_url;
};

struct HttpConfig {
  int64_t max_header_bytes = 16384;
  int64_t max_body_bytes = 1048576;
  int64_t header_timeout_ms = 10000;
  int64_t idle_timeout_ms = 60000;
  int64_t max_connections = 10000;
  int64_t max_output_bytes = 8388608;  // a reader slower than this much queued output is cut off
  int64_t body_min_rate = 1024;        // bytes/s a body must average, or 408
};

// The RESP listeners' deadlines (the cache proxy's RESP port).
struct RespConfig {
  // An idle connection is closed after this; 0 keeps it, as Redis's
  // `timeout 0` does.
  int64_t idle_timeout_ms = 0;
  // A command must arrive whole within this of its first byte.
  int64_t command_read_timeout_ms = 10000;
};

struct ServerConfig {
  int64_t drain_timeout_ms = 10000;  // SIGTERM: how long in-flight work may finish
  // Worker processes sharing every port: a count, or "auto" (the CPUs this
  // process may run on). "1" runs no master: the process is the worker.
  std::string workers = "1";
  bool pin_workers = false;  // worker N runs on the N-th CPU of the affinity set
};

// server.workers as a count: the number, or for "auto" the CPUs in this
// process's affinity set (sched_getaffinity), at least 1.
int workerCount(const ServerConfig& server);

struct LogConfig {
  std::string level = "info";  // debug | info | warn | error
  bool access = false;
};

struct Config {
  RedisConfig redis;
  HttpConfig http;
  RespConfig resp;
  ServerConfig server;
  LogConfig log;
  ModuleSections modules;  // one struct per module, declared by the module

  template <typename T>
  T& module() {
    return modules.get<T>();
  }
  template <typename T>
  const T& module() const {
    return modules.get<T>();
  }
};

template <typename S>
// `name` is moved below; clang-tidy 14 does not see a parameter moved in a template.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
ConfigKeys<S> ConfigSchema::coreSection(std::string name, S Config::*m) {
  auto& f = addSection(std::move(name),
                       [m](void* config) -> void* { return &(static_cast<Config*>(config)->*m); });
  return ConfigKeys<S>(*f.element);
}

template <typename S>
// NOLINTNEXTLINE(performance-unnecessary-value-param): moved below, as above
ConfigKeys<S> ConfigSchema::moduleSection(std::string name) {
  module_types_.push_back([](Config& c) { c.modules.add<S>(); });
  auto& f = addSection(std::move(name), [](void* config) -> void* {
    return &static_cast<Config*>(config)->modules.get<S>();
  });
  return ConfigKeys<S>(*f.element);
}

// Bounds shared by every section's declarations. Upper limits exist to catch
// typos (an extra zero or two) before they turn into a server that never
// times out or allocates without end.
namespace config_limits {
inline constexpr int64_t kMaxPort = 65535;
inline constexpr int64_t kMaxDurationMs = 86'400'000;   // one day
inline constexpr int64_t kMaxTtlS = 31'536'000;         // one year
inline constexpr int64_t kMaxBytes = int64_t{1} << 30;  // one buffer never needs more than 1 GiB
inline constexpr int64_t kMaxCount = 10'000'000;
inline constexpr int64_t kMaxAttempts = 100;
}  // namespace config_limits

// Checks for string keys, for modules to reuse.
std::optional<std::string> checkBindAddress(const std::string& value);
std::optional<std::string> checkHttpUrl(const std::string& value);

// The whole table: core's sections first (redis, http, server), then what
// `declare_modules` adds, then log. The order is that of --check-config and
// --help.
ConfigSchema buildConfigSchema(const std::function<void(ConfigSchema&)>& declare_modules);

// What the command line asked for, besides configuration.
struct CommandLine {
  std::optional<std::string> config_file;  // --config FILE
  std::vector<std::string> sets;           // --set path=value (in order)
  std::optional<std::string> redis_url;    // --redis URL (same as --set redis.url=URL)
  bool check_config = false;               // --check-config
  bool help = false;                       // --help
  bool version = false;                    // --version
  // A command instead of the daemon: "flags" and its arguments
  // (`redge flags on set_enabled`); empty: run the daemon.
  std::vector<std::string> command;
};

// Parses argv into a CommandLine. Unknown flags are errors.
std::optional<ConfigError> parseCommandLine(int argc, const char* const* argv, CommandLine& out);

// Builds the effective Config from defaults, the file named on the command
// line, the environment (as a name -> value map, so tests pass their own) and
// the --set list, then validates. On error returns it and leaves `out`
// unspecified.
std::optional<ConfigError> loadConfig(const ConfigSchema& schema, const CommandLine& cmd,
                                      const std::map<std::string, std::string>& environment,
                                      Config& out);

// The process environment as a map (for loadConfig).
std::map<std::string, std::string> processEnvironment();

// The --help text.
std::string usageText(const ConfigSchema& schema);

}  // namespace redge
