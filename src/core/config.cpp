// Configuration: core's own sections and their keys, the command line, and
// loadConfig, which applies the file, the environment, --redis and --set in
// that order through the table engine (core/config_schema). Modules declare
// their sections themselves; core fixes only where they go: after redis,
// http and server, before log.
//
// Errors are values (ConfigError): the path names what the operator typed,
// and the reason says what was expected; loadConfig adds where the value came
// from (a file or an environment variable).

#include "core/config.hpp"

#include <arpa/inet.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/uri.hpp"

extern char** environ;

namespace redge {

using namespace config_limits;

std::optional<std::string> checkBindAddress(const std::string& value) {
  // Literal addresses only: resolving a name at startup would block the loop
  // and make the listening address depend on DNS.
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, value.c_str(), buf) == 1) return std::nullopt;
  if (inet_pton(AF_INET6, value.c_str(), buf) == 1) return std::nullopt;
  return "must be a literal IPv4 or IPv6 address";
}

namespace {

// The most workers redge starts; beyond any machine it runs on today, and a
// typo like 1000 is refused rather than forking a thousand processes.
constexpr int64_t kMaxWorkers = 1024;

std::optional<std::string> checkWorkers(const std::string& value) {
  if (value == "auto") return std::nullopt;
  int64_t n = 0;
  if (value.empty() || value.size() > 5) return "must be a number from 1 to 1024, or auto";
  for (char c : value) {
    if (c < '0' || c > '9') return "must be a number from 1 to 1024, or auto";
    n = n * 10 + (c - '0');
  }
  if (n < 1 || n > kMaxWorkers) return "must be a number from 1 to 1024, or auto";
  return std::nullopt;
}

}  // namespace

int workerCount(const ServerConfig& server) {
  if (server.workers == "auto") {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return std::max(1, CPU_COUNT(&set));
  }
  int n = std::atoi(server.workers.c_str());
  return n < 1 ? 1 : n;
}

std::optional<std::string> checkHttpUrl(const std::string& value) {
  // Plain HTTP/1.1 only; https:// would fail at the first request rather
  // than at startup.
  if (value.starts_with("http://") && value.size() > std::strlen("http://")) return std::nullopt;
  return "must start with http://";
}

namespace {

std::optional<std::string> checkRedisUrl(const std::string& value) {
  // Only the scheme is checked here; the Redis client parses the rest and
  // reports host/port/db problems with its own detail.
  if (value.starts_with("redis://") || value.starts_with("unix://")) return std::nullopt;
  return "must start with redis:// or unix://";
}

// Literal addresses only, like listeners' binds: hiredis would resolve a
// name with a blocking lookup on the loop at every connect.
std::optional<std::string> checkSentinelAddress(const std::string& value) {
  std::string host;
  int port = 0;
  std::string error = parseHostPort(value, host, port);
  if (!error.empty()) return error;
  if (port == 0) return "needs a port (ip:port)";
  if (auto reason = checkBindAddress(host)) return "host " + *reason;
  return std::nullopt;
}

void declareProcessSections(ConfigSchema& schema) {
  schema.coreSection("redis", &Config::redis)
      .stringKey(REDGE_FIELD(RedisConfig, url),
                 "Redis server: redis://[user:pass@]host:port/db or unix:///path.sock",
                 checkRedisUrl)
      .envAlias("REDIS_URL")
      .stringKey(REDGE_FIELD(RedisConfig, key_prefix), "prefix of every Redis key redge writes")
      .intKey(REDGE_FIELD(RedisConfig, connect_timeout_ms), 1, kMaxDurationMs,
              "how long one Redis connect may take")
      .intKey(REDGE_FIELD(RedisConfig, command_timeout_ms), 1, kMaxDurationMs,
              "how long one Redis command may wait for its reply")
      .intKey(REDGE_FIELD(RedisConfig, reconnect_min_ms), 1, kMaxDurationMs,
              "first delay before reconnecting to Redis")
      .intKey(REDGE_FIELD(RedisConfig, reconnect_max_ms), 1, kMaxDurationMs,
              "ceiling of the reconnect backoff")
      .stringListKey(REDGE_FIELD(RedisConfig, sentinels),
                     "Redis Sentinel addresses (ip:port), tried in turn; when set, redge "
                     "follows the master they name for redis.master_name, and redis.url's "
                     "host and port are ignored (its user, password and db still apply)",
                     checkSentinelAddress)
      .stringKey(REDGE_FIELD(RedisConfig, master_name),
                 "the master's name in the sentinels' configuration (required with "
                 "redis.sentinels)")
      .stringKey(REDGE_FIELD(RedisConfig, sentinel_user),
                 "ACL user for the sentinels (empty: the default user)")
      .stringKey(REDGE_FIELD(RedisConfig, sentinel_password),
                 "password for the sentinels (the master's comes from redis.url)")
      .enumKey(REDGE_FIELD(RedisConfig, read_from), {"master", "replica"},
               "where the reads that tolerate replication lag go (cache proxy misses, "
               "/recent, the relay's listing); a read the replica cannot answer is retried "
               "on the master")
      .stringKey(REDGE_FIELD(RedisConfig, replica_url),
                 "the replica for redis.read_from=replica without sentinels: "
                 "redis://[user:pass@]host:port/db or unix:///path.sock (empty: none)",
                 [](const std::string& v) -> std::optional<std::string> {
                   if (v.empty()) return std::nullopt;
                   return checkRedisUrl(v);
                 });

  schema.coreSection("http", &Config::http)
      .intKey(REDGE_FIELD(HttpConfig, max_header_bytes), 1, kMaxBytes,
              "largest request head accepted (431 above it)")
      .intKey(REDGE_FIELD(HttpConfig, max_body_bytes), 1, kMaxBytes,
              "largest request body accepted (413 above it)")
      .intKey(REDGE_FIELD(HttpConfig, header_timeout_ms), 1, kMaxDurationMs,
              "time allowed to receive a complete request head")
      .intKey(REDGE_FIELD(HttpConfig, idle_timeout_ms), 1, kMaxDurationMs,
              "idle keep-alive connections are closed after this")
      .intKey(REDGE_FIELD(HttpConfig, max_connections), 1, kMaxCount,
              "open HTTP connections per listener; more are refused")
      .intKey(REDGE_FIELD(HttpConfig, max_output_bytes), 1, kMaxBytes,
              "a reader slower than this much queued output is cut off")
      .intKey(REDGE_FIELD(HttpConfig, body_min_rate), 0, kMaxBytes,
              "bytes a second a request body must keep up: each one received extends "
              "its header_timeout_ms deadline by 1/rate s (0: one fixed deadline)");

  schema.coreSection("resp", &Config::resp)
      .intKey(REDGE_FIELD(RespConfig, idle_timeout_ms), 0, kMaxDurationMs,
              "idle RESP connections are closed after this (0: never, as Redis)")
      .intKey(REDGE_FIELD(RespConfig, command_read_timeout_ms), 1, kMaxDurationMs,
              "time allowed to receive a whole RESP command once it has begun");

  schema.coreSection("server", &Config::server)
      .intKey(REDGE_FIELD(ServerConfig, drain_timeout_ms), 1, kMaxDurationMs,
              "on SIGTERM, how long in-flight work may finish")
      .stringKey(REDGE_FIELD(ServerConfig, workers),
                 "worker processes sharing every port: a number, or auto (one per CPU this "
                 "process may run on)",
                 checkWorkers)
      .numberAsText()
      .boolKey(REDGE_FIELD(ServerConfig, pin_workers),
               "pin worker N to the N-th CPU this process may run on");

  // Every worker binds the same ports (SO_REUSEPORT); port 0 would give each
  // worker a different one, so more than one worker needs fixed ports.
  schema.addRule([](const Config& c, const ConfigSchema& s) -> std::optional<ConfigError> {
    if (workerCount(c.server) <= 1) return std::nullopt;
    if (auto path = s.firstAnyPort(c)) {
      return ConfigError{*path,
                         "must not be 0 when server.workers is more than 1: every worker binds "
                         "the same port, so it must be fixed"};
    }
    return std::nullopt;
  });

  schema.addRule([](const Config& c, const ConfigSchema& s) -> std::optional<ConfigError> {
    if (c.redis.sentinels.empty()) return std::nullopt;
    if (c.redis.master_name.empty()) {
      return ConfigError{s.pathOf(c, &c.redis.master_name),
                         "is required when redis.sentinels is set"};
    }
    if (c.redis.url.starts_with("unix://")) {
      return ConfigError{s.pathOf(c, &c.redis.url),
                         "must be a redis:// URL when redis.sentinels is set (the sentinels "
                         "name a TCP address)"};
    }
    return std::nullopt;
  });
  schema.addRule([](const Config& c, const ConfigSchema& s) -> std::optional<ConfigError> {
    if (c.redis.read_from != "replica" || !c.redis.sentinels.empty() ||
        !c.redis.replica_url.empty()) {
      return std::nullopt;
    }
    return ConfigError{s.pathOf(c, &c.redis.read_from),
                       "replica needs redis.sentinels (to find one) or redis.replica_url"};
  });
  schema.addRule([](const Config& c, const ConfigSchema& s) -> std::optional<ConfigError> {
    if (c.redis.reconnect_min_ms <= c.redis.reconnect_max_ms) return std::nullopt;
    return ConfigError{s.pathOf(c, &c.redis.reconnect_min_ms),
                       "must be at most " + s.pathOf(c, &c.redis.reconnect_max_ms) + " (" +
                           std::to_string(c.redis.reconnect_max_ms) + ")"};
  });
}

void declareLogSection(ConfigSchema& schema) {
  schema.coreSection("log", &Config::log)
      .enumKey(REDGE_FIELD(LogConfig, level), {"debug", "info", "warn", "error"},
               "least severe log level written")
      .boolKey(REDGE_FIELD(LogConfig, access), "write one log line per request");
}

std::optional<ConfigError> readFile(const std::string& file, std::string& text) {
  std::FILE* stream = std::fopen(file.c_str(), "rb");
  if (!stream) return ConfigError{file, std::string("cannot read: ") + std::strerror(errno)};
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), stream)) > 0) text.append(buf, n);
  // A directory opens fine on Linux and fails at the first read (EISDIR).
  int read_errno = std::ferror(stream) ? errno : 0;
  std::fclose(stream);
  if (read_errno != 0) {
    return ConfigError{file, std::string("cannot read: ") + std::strerror(read_errno)};
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// The command line.

struct FlagDescriptor {
  std::string_view name;
  std::string_view short_name;  // empty when there is none
  std::string_view value_name;  // empty for a flag without a value
  std::string_view help;
  // Stores the flag; returns the reason the value is refused, or nothing.
  std::optional<std::string> (*apply)(std::string_view value, CommandLine& out);
};

const FlagDescriptor kFlags[] = {
    {"--config", "", "FILE", "read configuration from a JSON file",
     [](std::string_view value, CommandLine& out) -> std::optional<std::string> {
       out.config_file = std::string(value);
       return std::nullopt;
     }},
    {"--set", "", "PATH=VALUE", "set one key; repeatable, applied in order",
     [](std::string_view value, CommandLine& out) -> std::optional<std::string> {
       size_t eq = value.find('=');
       if (eq == std::string_view::npos || eq == 0) return "expected path=value";
       out.sets.emplace_back(value);
       return std::nullopt;
     }},
    {"--redis", "", "URL", "the Redis URL; same as --set redis.url=URL",
     [](std::string_view value, CommandLine& out) -> std::optional<std::string> {
       out.redis_url = std::string(value);
       return std::nullopt;
     }},
    {"--check-config", "", "", "print the effective configuration as JSON and exit",
     [](std::string_view, CommandLine& out) -> std::optional<std::string> {
       out.check_config = true;
       return std::nullopt;
     }},
    {"--help", "-h", "", "print this help and exit",
     [](std::string_view, CommandLine& out) -> std::optional<std::string> {
       out.help = true;
       return std::nullopt;
     }},
    {"--version", "", "", "print the version and exit",
     [](std::string_view, CommandLine& out) -> std::optional<std::string> {
       out.version = true;
       return std::nullopt;
     }},
};

const FlagDescriptor* findFlag(std::string_view name) {
  for (const FlagDescriptor& flag : kFlags) {
    if (flag.name == name || (!flag.short_name.empty() && flag.short_name == name)) return &flag;
  }
  return nullptr;
}

}  // namespace

ConfigSchema buildConfigSchema(const std::function<void(ConfigSchema&)>& declare_modules) {
  ConfigSchema schema;
  declareProcessSections(schema);
  declare_modules(schema);
  declareLogSection(schema);
  return schema;
}

std::optional<ConfigError> parseCommandLine(int argc, const char* const* argv, CommandLine& out) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (arg.starts_with("--")) {
      size_t eq = arg.find('=');
      if (eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
    }
    // The first word may name a command; the words after it are its own.
    // ("-" is a word too: a command's "read it from stdin").
    if ((!arg.starts_with("-") || (arg == "-" && !out.command.empty())) &&
        (!out.command.empty() || arg == "flags")) {
      out.command.emplace_back(arg);
      continue;
    }
    const FlagDescriptor* flag = findFlag(name);
    if (!flag) {
      if (!arg.starts_with("-")) return ConfigError{std::string(arg), "unexpected argument"};
      return ConfigError{std::string(name), "unknown option"};
    }
    std::string_view value;
    if (flag->value_name.empty()) {
      if (inline_value) return ConfigError{std::string(name), "takes no value"};
    } else if (inline_value) {
      value = *inline_value;
    } else {
      // A following flag is not taken as the value: "--config --check-config"
      // is a forgotten file name, not a file called "--check-config".
      if (i + 1 >= argc || std::string_view(argv[i + 1]).starts_with("-")) {
        return ConfigError{std::string(name), "needs a value"};
      }
      value = argv[++i];
    }
    if (auto reason = flag->apply(value, out)) return ConfigError{std::string(name), *reason};
  }
  return std::nullopt;
}

std::optional<ConfigError> loadConfig(const ConfigSchema& schema, const CommandLine& cmd,
                                      const std::map<std::string, std::string>& environment,
                                      Config& out) {
  out = schema.defaults();

  if (cmd.config_file) {
    const std::string& file = *cmd.config_file;
    std::string text;
    if (auto error = readFile(file, text)) return error;
    if (auto error = schema.applyJson(text, out)) {
      // Errors about the text as a whole name the file; errors about one key
      // name the key and say which file it came from.
      if (error->path == kConfigJsonPath) {
        error->path = file;
      } else {
        error->reason += " (in " + file + ")";
      }
      return error;
    }
  }

  if (auto error = schema.applyEnvironment(environment, out)) return error;

  if (cmd.redis_url) {
    if (auto error =
            schema.applyAssignment(schema.pathOf(out, &out.redis.url), *cmd.redis_url, out)) {
      error->reason += " (from --redis)";
      return error;
    }
  }

  for (const std::string& assignment : cmd.sets) {
    size_t eq = assignment.find('=');
    if (eq == std::string::npos) return ConfigError{assignment, "expected path=value"};
    if (auto error =
            schema.applyAssignment(assignment.substr(0, eq), assignment.substr(eq + 1), out)) {
      return error;
    }
  }

  return schema.validate(out);
}

std::map<std::string, std::string> processEnvironment() {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry && *entry; ++entry) {
    std::string_view text = *entry;
    size_t eq = text.find('=');
    if (eq == std::string_view::npos) continue;
    environment.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return environment;
}

std::string usageText(const ConfigSchema& schema) {
  std::string text =
      "usage: redge [options]\n"
      "       redge [options] flags list|get NAME|set NAME JSON|on NAME|off NAME|delete NAME\n"
      "\n"
      "The flags command changes the feature flags in Redis (redis.url) directly, as the\n"
      "admin API does, prints the result as JSON and exits 0 (1: it failed, 2: usage).\n"
      "\n"
      "options:\n";
  for (const FlagDescriptor& flag : kFlags) {
    std::string left = "  ";
    if (!flag.short_name.empty()) left.append(flag.short_name).append(", ");
    left.append(flag.name);
    if (!flag.value_name.empty()) left.append(" ").append(flag.value_name);
    if (left.size() < 24) left.resize(24, ' ');
    text += left + " " + std::string(flag.help) + "\n";
  }
  text +=
      "\n"
      "Each step overrides the one before: built-in defaults < --config FILE <\n"
      "environment < --redis < --set (in order). A key's dotted path works in all\n"
      "of them: in the file as nested objects, in the environment as REDGE_ plus\n"
      "the path in upper case with '.' as '_', on the command line as\n"
      "--set path=value. Other REDGE_* variables are refused, except REDGE_TEST_*.\n"
      "Booleans accept true/false, 1/0, yes/no, on/off. Lists and maps take JSON.\n"
      "\n"
      "keys:\n";
  text += schema.keysHelp();
  return text;
}

}  // namespace redge
