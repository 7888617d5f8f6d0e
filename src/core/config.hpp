#pragma once
// The one typed configuration of redge. Filled in this order, each step
// overriding the last: built-in defaults -> JSON file (--config) -> REDGE_*
// environment (plus a few scenario names) -> --set path=value. Every key has
// one dotted path that works in all four places.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace redge {

struct RedisConfig {
  std::string url = "redis://127.0.0.1:6379/0";
  std::string key_prefix = "redge:";
  int64_t connect_timeout_ms = 1000;
  int64_t command_timeout_ms = 1000;
  int64_t reconnect_min_ms = 100;   // first reconnect delay
  int64_t reconnect_max_ms = 5000;  // backoff ceiling
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

struct ServerConfig {
  int64_t drain_timeout_ms = 10000;  // SIGTERM: how long in-flight work may finish
};

struct AppConfig {
  bool enabled = true;
  std::string bind = "127.0.0.1";
  int64_t port = 3000;
  int64_t message_ttl_s = 10;
  int64_t recent_size = 5;
  int64_t max_images = 100;
  int64_t max_upload_bytes = 8388608;
};

struct AdminConfig {
  bool enabled = true;
  std::string bind = "127.0.0.1";
  int64_t port = 9090;
};

struct CacheProxyConfig {
  bool enabled = true;
  std::string bind = "127.0.0.1";
  int64_t http_port = 8081;
  int64_t resp_port = 6380;
  int64_t capacity = 10000;
  int64_t ttl_ms = 60000;
  int64_t max_connections = 1024;
  int64_t max_inflight = 64;
  std::string invalidate = "none";  // none | keyspace
};

struct BreakerConfig {
  int64_t window_ms = 10000;
  int64_t min_calls = 5;
  double failure_ratio = 0.5;
  int64_t consecutive_failures = 5;
  int64_t open_ms = 5000;
  int64_t max_open_ms = 60000;
  int64_t half_open_probes = 1;
};

struct RelayConfig {
  bool enabled = true;
  std::string upstream_url = "http://127.0.0.1:9001/message";
  int64_t timeout_ms = 1000;
  int64_t concurrency = 4;
  int64_t max_attempts = 5;
  int64_t queue_max = 10;
  int64_t queue_recovery = 5;
  int64_t max_destination_bytes = 50;
  int64_t max_body_bytes = 1000;
  BreakerConfig breaker;
};

struct LogConfig {
  std::string level = "info";  // debug | info | warn | error
  bool access = false;
};

struct Config {
  RedisConfig redis;
  HttpConfig http;
  ServerConfig server;
  AppConfig app;
  AdminConfig admin;
  CacheProxyConfig cacheproxy;
  RelayConfig relay;
  LogConfig log;
};

// What the command line asked for, besides configuration.
struct CommandLine {
  std::optional<std::string> config_file;  // --config FILE
  std::vector<std::string> sets;           // --set path=value (in order)
  std::optional<std::string> redis_url;    // --redis URL (same as --set redis.url=URL)
  bool check_config = false;               // --check-config
  bool help = false;                       // --help
  bool version = false;                    // --version
};

// A configuration error names the key path (or the flag) and the reason;
// main prints "config error: <path>: <reason>" and exits 2.
struct ConfigError {
  std::string path;
  std::string reason;
};

// Parses argv into a CommandLine. Unknown flags are errors.
std::optional<ConfigError> parseCommandLine(int argc, const char* const* argv, CommandLine& out);

// Builds the effective Config from defaults, the file named on the command
// line, the environment (as a name -> value map, so tests pass their own) and
// the --set list, then validates cross-key rules. On error returns it and
// leaves `out` unspecified.
std::optional<ConfigError> loadConfig(const CommandLine& cmd,
                                      const std::map<std::string, std::string>& environment,
                                      Config& out);

// Applies one JSON document (the contents of a config file) on top of `out`.
std::optional<ConfigError> applyJson(const std::string& json_text, Config& out);

// Applies one "dotted.path" = "text" assignment, as --set and the
// environment do. The text is parsed according to the key's type.
std::optional<ConfigError> applyAssignment(const std::string& path, const std::string& value,
                                           Config& out);

// Cross-key rules (ports distinct, queue_recovery < queue_max, ...).
std::optional<ConfigError> validateConfig(const Config& config);

// The effective configuration as pretty JSON (what --check-config prints).
std::string configToJson(const Config& config);

// The process environment as a map (for loadConfig).
std::map<std::string, std::string> processEnvironment();

// The --help text.
std::string usageText();

// Every key's dotted path, in table order (the order of configToJson).
std::vector<std::string> configKeyPaths();

// The environment variable that sets `path`: "REDGE_" + the path in upper
// case with '.' as '_' (relay.queue_max -> REDGE_RELAY_QUEUE_MAX).
std::string configEnvironmentName(const std::string& path);

}  // namespace redge
