// Configuration: one table of key descriptors (buildKeyTable(), read through
// keyTable()) drives every way a key can be set or shown. The JSON file
// walker, the environment reader, --set, validateConfig, configToJson and the
// --help text all look keys up in that table, so a key's path, type, bounds
// and help are written exactly once. The path is also the C++ member expression
// (REDGE_CONFIG_KEY stringifies it), so a path cannot drift from the field it
// sets.
//
// Errors are values (ConfigError): the path names what the operator typed,
// and the reason says what was expected; loadConfig adds where the value came
// from (a file or an environment variable).

#include "core/config.hpp"

#include <arpa/inet.h>
#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string_view>
#include <variant>

#include "core/json_parse.hpp"

extern char** environ;

namespace redge {
namespace {

// ---------------------------------------------------------------------------
// The key table.

using BoolField = bool& (*)(Config&);
using IntField = int64_t& (*)(Config&);
using DoubleField = double& (*)(Config&);
using StringField = std::string& (*)(Config&);
using FieldAccess = std::variant<BoolField, IntField, DoubleField, StringField>;

// A string check returns the reason the value is refused, or nothing.
using StringCheck = std::optional<std::string> (*)(const std::string&);

struct KeyDescriptor {
  std::string_view path;
  FieldAccess field;
  std::string_view help;
  int64_t int_min = 0;
  int64_t int_max = 0;
  double double_min = 0;
  double double_max = 0;
  bool double_min_exclusive = false;           // (min, max] rather than [min, max]
  std::vector<std::string_view> choices = {};  // non-empty: the only values a string may take
  StringCheck check = nullptr;
  // A scenario environment name that also sets this key; the REDGE_* name
  // still wins over it.
  std::string_view env_alias = {};
};

// Expands to the path and the accessor of one Config member, so the dotted
// path is the member expression itself and both are written once.
// clang-format off
#define REDGE_CONFIG_KEY(member) \
  #member, [](Config& c) -> auto& { return c.member; }
// clang-format on

// Bounds. Upper limits exist to catch typos (an extra zero or two) before they
// turn into a server that never times out or allocates without end.
constexpr int64_t kMaxPort = 65535;
constexpr int64_t kMaxDurationMs = 86'400'000;   // one day
constexpr int64_t kMaxTtlS = 31'536'000;         // one year
constexpr int64_t kMaxBytes = int64_t{1} << 30;  // one buffer never needs more than 1 GiB
constexpr int64_t kMaxCount = 10'000'000;
constexpr int64_t kMaxAttempts = 100;

// A port that the operator chose as "any free port": allowed on several
// listeners at once, since the kernel gives each its own.
constexpr int64_t kAnyPort = 0;

// Names the JSON text itself rather than a key (parse errors, wrong root).
constexpr std::string_view kJsonPath = "(json)";

constexpr std::string_view kEnvPrefix = "REDGE_";
// REDGE_* variables that are not configuration and must not be rejected as
// unknown keys: the test harness passes its own settings under REDGE_TEST_*.
// Any other REDGE_* name that is not a key is an error, because a misspelt
// key silently ignored is a production setting that never took effect.
constexpr std::string_view kEnvAllowedPrefixes[] = {"REDGE_TEST_"};

KeyDescriptor boolKey(std::string_view path, BoolField field, std::string_view help) {
  KeyDescriptor key{path, field, help};
  return key;
}

KeyDescriptor intKey(std::string_view path, IntField field, int64_t min, int64_t max,
                     std::string_view help) {
  KeyDescriptor key{path, field, help};
  key.int_min = min;
  key.int_max = max;
  return key;
}

KeyDescriptor doubleKey(std::string_view path, DoubleField field, double min, bool min_exclusive,
                        double max, std::string_view help) {
  KeyDescriptor key{path, field, help};
  key.double_min = min;
  key.double_min_exclusive = min_exclusive;
  key.double_max = max;
  return key;
}

KeyDescriptor stringKey(std::string_view path, StringField field, std::string_view help,
                        StringCheck check = nullptr) {
  KeyDescriptor key{path, field, help};
  key.check = check;
  return key;
}

KeyDescriptor enumKey(std::string_view path, StringField field,
                      std::vector<std::string_view> choices, std::string_view help) {
  KeyDescriptor key{path, field, help};
  key.choices = std::move(choices);
  return key;
}

KeyDescriptor withEnvAlias(KeyDescriptor key, std::string_view alias) {
  key.env_alias = alias;
  return key;
}

std::optional<std::string> checkRedisUrl(const std::string& value) {
  // Only the scheme is checked here; the Redis client parses the rest and
  // reports host/port/db problems with its own detail.
  if (value.starts_with("redis://") || value.starts_with("unix://")) return std::nullopt;
  return "must start with redis:// or unix://";
}

std::optional<std::string> checkUpstreamUrl(const std::string& value) {
  // The relay speaks plain HTTP/1.1 only; https:// would fail at the first
  // request rather than at startup.
  if (value.starts_with("http://") && value.size() > std::strlen("http://")) return std::nullopt;
  return "must start with http://";
}

std::optional<std::string> checkBindAddress(const std::string& value) {
  // Literal addresses only: resolving a name at startup would block the loop
  // and make the listening address depend on DNS.
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, value.c_str(), buf) == 1) return std::nullopt;
  if (inet_pton(AF_INET6, value.c_str(), buf) == 1) return std::nullopt;
  return "must be a literal IPv4 or IPv6 address";
}

std::vector<KeyDescriptor> buildKeyTable() {
  std::vector<KeyDescriptor> keys;
  // Order here is the order of configToJson and of --help.
  keys.push_back(
      withEnvAlias(stringKey(REDGE_CONFIG_KEY(redis.url),
                             "Redis server: redis://[user:pass@]host:port/db or unix:///path.sock",
                             checkRedisUrl),
                   "REDIS_URL"));
  keys.push_back(
      stringKey(REDGE_CONFIG_KEY(redis.key_prefix), "prefix of every Redis key redge writes"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(redis.connect_timeout_ms), 1, kMaxDurationMs,
                        "how long one Redis connect may take"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(redis.command_timeout_ms), 1, kMaxDurationMs,
                        "how long one Redis command may wait for its reply"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(redis.reconnect_min_ms), 1, kMaxDurationMs,
                        "first delay before reconnecting to Redis"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(redis.reconnect_max_ms), 1, kMaxDurationMs,
                        "ceiling of the reconnect backoff"));

  keys.push_back(intKey(REDGE_CONFIG_KEY(http.max_header_bytes), 1, kMaxBytes,
                        "largest request head accepted (431 above it)"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(http.max_body_bytes), 1, kMaxBytes,
                        "largest request body accepted (413 above it)"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(http.header_timeout_ms), 1, kMaxDurationMs,
                        "time allowed to receive a complete request head"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(http.idle_timeout_ms), 1, kMaxDurationMs,
                        "idle keep-alive connections are closed after this"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(http.max_connections), 1, kMaxCount,
                        "open HTTP connections per listener; more are refused"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(http.max_output_bytes), 1, kMaxBytes,
                        "a reader slower than this much queued output is cut off"));

  keys.push_back(intKey(REDGE_CONFIG_KEY(server.drain_timeout_ms), 1, kMaxDurationMs,
                        "on SIGTERM, how long in-flight work may finish"));

  keys.push_back(boolKey(REDGE_CONFIG_KEY(app.enabled),
                         "serve the app routes (hello, /set, /get, /recent, /upload, /meow)"));
  keys.push_back(stringKey(REDGE_CONFIG_KEY(app.bind), "address the application listens on",
                           checkBindAddress));
  keys.push_back(
      intKey(REDGE_CONFIG_KEY(app.port), 0, kMaxPort, "application port (0: any free port)"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(app.message_ttl_s), 1, kMaxTtlS,
                        "seconds the /set message lives in Redis"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(app.recent_size), 1, kMaxCount,
                        "how many visited URLs /recent keeps"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(app.max_images), 1, kMaxCount,
                        "images kept; the oldest is dropped beyond this"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(app.max_upload_bytes), 1, kMaxBytes,
                        "largest image upload accepted"));

  keys.push_back(
      boolKey(REDGE_CONFIG_KEY(admin.enabled), "serve health, metrics and admin endpoints"));
  keys.push_back(
      stringKey(REDGE_CONFIG_KEY(admin.bind), "address the admin listener uses", checkBindAddress));
  keys.push_back(
      intKey(REDGE_CONFIG_KEY(admin.port), 0, kMaxPort, "admin port (0: any free port)"));

  keys.push_back(boolKey(REDGE_CONFIG_KEY(cacheproxy.enabled), "serve the caching Redis proxy"));
  keys.push_back(stringKey(REDGE_CONFIG_KEY(cacheproxy.bind), "address the cache proxy listens on",
                           checkBindAddress));
  keys.push_back(intKey(REDGE_CONFIG_KEY(cacheproxy.http_port), 0, kMaxPort,
                        "cache proxy HTTP port (0: any free port)"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(cacheproxy.resp_port), 0, kMaxPort,
                        "cache proxy RESP port (0: any free port)"));
  keys.push_back(
      intKey(REDGE_CONFIG_KEY(cacheproxy.capacity), 1, kMaxCount, "entries the LRU cache holds"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(cacheproxy.ttl_ms), 0, kMaxDurationMs,
                        "how long a cached entry is served"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(cacheproxy.max_connections), 1, kMaxCount,
                        "client connections to the proxy; more are refused"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(cacheproxy.max_inflight), 1, kMaxCount,
                        "commands in flight to Redis before clients wait"));
  keys.push_back(enumKey(REDGE_CONFIG_KEY(cacheproxy.invalidate), {"none", "keyspace"},
                         "cache invalidation: none (TTL only) or keyspace notifications"));

  keys.push_back(boolKey(REDGE_CONFIG_KEY(relay.enabled), "run the message relay"));
  keys.push_back(stringKey(REDGE_CONFIG_KEY(relay.upstream_url),
                           "where relayed messages are POSTed (http:// only)", checkUpstreamUrl));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.timeout_ms), 1, kMaxDurationMs,
                        "how long one upstream request may take"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.concurrency), 1, kMaxCount,
                        "upstream requests in flight at once"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.max_attempts), 1, kMaxAttempts,
                        "attempts per message before it is given up"));
  keys.push_back(withEnvAlias(intKey(REDGE_CONFIG_KEY(relay.queue_max), 1, kMaxCount,
                                     "queued messages at which intake stops"),
                              "QUEUE_MAX_SIZE"));
  keys.push_back(withEnvAlias(intKey(REDGE_CONFIG_KEY(relay.queue_recovery), 0, kMaxCount,
                                     "queue length at which intake resumes"),
                              "QUEUE_RECOVERY_THRESHOLD"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.max_destination_bytes), 1, kMaxBytes,
                        "longest destination accepted"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.max_body_bytes), 1, kMaxBytes,
                        "longest message body accepted"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.breaker.window_ms), 1, kMaxDurationMs,
                        "circuit breaker: sliding window of calls judged"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.breaker.min_calls), 1, kMaxCount,
                        "circuit breaker: calls in the window before the ratio counts"));
  keys.push_back(doubleKey(REDGE_CONFIG_KEY(relay.breaker.failure_ratio), 0, true, 1,
                           "circuit breaker: failure ratio that opens it"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.breaker.consecutive_failures), 1, kMaxCount,
                        "circuit breaker: failures in a row that open it"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.breaker.open_ms), 1, kMaxDurationMs,
                        "circuit breaker: first open period"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.breaker.max_open_ms), 1, kMaxDurationMs,
                        "circuit breaker: ceiling of the growing open period"));
  keys.push_back(intKey(REDGE_CONFIG_KEY(relay.breaker.half_open_probes), 1, kMaxCount,
                        "circuit breaker: trial calls let through when half-open"));

  keys.push_back(enumKey(REDGE_CONFIG_KEY(log.level), {"debug", "info", "warn", "error"},
                         "least severe log level written"));
  keys.push_back(boolKey(REDGE_CONFIG_KEY(log.access), "write one log line per request"));
  return keys;
}

#undef REDGE_CONFIG_KEY

const std::vector<KeyDescriptor>& keyTable() {
  static const std::vector<KeyDescriptor> keys = buildKeyTable();
  return keys;
}

const KeyDescriptor* findKey(std::string_view path) {
  for (const KeyDescriptor& key : keyTable()) {
    if (key.path == path) return &key;
  }
  return nullptr;
}

// True when `path` names a group of keys ("relay", "relay.breaker").
bool isSection(std::string_view path) {
  for (const KeyDescriptor& key : keyTable()) {
    if (key.path.size() > path.size() && key.path.starts_with(path) &&
        key.path[path.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::string environmentName(std::string_view path) {
  std::string name(kEnvPrefix);
  for (char c : path) {
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

// The accessors only form a reference; readers never write through it, so
// handing them a const Config is sound.
template <typename T>
const T& readField(T& (*field)(Config&), const Config& config) {
  return field(const_cast<Config&>(config));
}

// The path of the key that owns `member` (a field of `config`). Cross-key
// rules name their keys this way so no path is spelled outside the table.
std::string pathOf(const Config& config, const void* member) {
  for (const KeyDescriptor& key : keyTable()) {
    const void* address =
        std::visit([&](auto field) -> const void* { return &readField(field, config); }, key.field);
    if (address == member) return std::string(key.path);
  }
  return "(unknown)";
}

// ---------------------------------------------------------------------------
// Checking and assigning values.

std::string formatDouble(double value) {
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

std::string rangeReason(const KeyDescriptor& key) {
  return "must be between " + std::to_string(key.int_min) + " and " + std::to_string(key.int_max);
}

std::optional<std::string> checkInt(const KeyDescriptor& key, int64_t value) {
  if (value < key.int_min || value > key.int_max) return rangeReason(key);
  return std::nullopt;
}

std::optional<std::string> checkDouble(const KeyDescriptor& key, double value) {
  bool below = key.double_min_exclusive ? !(value > key.double_min) : !(value >= key.double_min);
  if (std::isfinite(value) && !below && value <= key.double_max) return std::nullopt;
  if (key.double_min_exclusive) {
    return "must be greater than " + formatDouble(key.double_min) + " and at most " +
           formatDouble(key.double_max);
  }
  return "must be between " + formatDouble(key.double_min) + " and " + formatDouble(key.double_max);
}

std::optional<std::string> checkString(const KeyDescriptor& key, const std::string& value) {
  if (!key.choices.empty()) {
    for (std::string_view choice : key.choices) {
      if (value == choice) return std::nullopt;
    }
    std::string reason = "must be one of ";
    for (size_t i = 0; i < key.choices.size(); ++i) {
      if (i > 0) reason += ", ";
      reason += key.choices[i];
    }
    return reason;
  }
  if (key.check) return key.check(value);
  return std::nullopt;
}

// The per-key rule for whatever value `config` holds now.
std::optional<std::string> checkCurrent(const KeyDescriptor& key, const Config& config) {
  if (auto field = std::get_if<IntField>(&key.field)) {
    return checkInt(key, readField(*field, config));
  }
  if (auto field = std::get_if<DoubleField>(&key.field)) {
    return checkDouble(key, readField(*field, config));
  }
  if (auto field = std::get_if<StringField>(&key.field)) {
    return checkString(key, readField(*field, config));
  }
  return std::nullopt;
}

std::optional<bool> parseBool(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

// Parses `text` per the key's type and stores it; returns the reason on
// failure (and leaves the field untouched).
std::optional<std::string> assignText(const KeyDescriptor& key, const std::string& text,
                                      Config& config) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (auto field = std::get_if<BoolField>(&key.field)) {
    std::optional<bool> value = parseBool(text);
    if (!value) return "expected true or false";
    (*field)(config) = *value;
    return std::nullopt;
  }
  if (auto field = std::get_if<IntField>(&key.field)) {
    // Decimal only, the whole text: "12x", "0x10", " 5" and "+5" are refused
    // rather than half-read.
    int64_t value = 0;
    auto [ptr, ec] = std::from_chars(begin, end, value, 10);
    if (ec == std::errc::result_out_of_range && ptr == end) return rangeReason(key);
    if (ec != std::errc() || ptr != end || text.empty()) return "expected an integer";
    if (auto reason = checkInt(key, value)) return reason;
    (*field)(config) = value;
    return std::nullopt;
  }
  if (auto field = std::get_if<DoubleField>(&key.field)) {
    double value = 0;
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end || text.empty()) return "expected a number";
    if (auto reason = checkDouble(key, value)) return reason;
    (*field)(config) = value;
    return std::nullopt;
  }
  auto field = std::get<StringField>(key.field);
  if (auto reason = checkString(key, text)) return reason;
  field(config) = text;
  return std::nullopt;
}

std::optional<std::string> assignJson(const KeyDescriptor& key, const rapidjson::Value& value,
                                      Config& config) {
  if (auto field = std::get_if<BoolField>(&key.field)) {
    if (!value.IsBool()) return "expected true or false";
    (*field)(config) = value.GetBool();
    return std::nullopt;
  }
  if (auto field = std::get_if<IntField>(&key.field)) {
    // 5.0 and 1e3 are refused: an integer key written as a fraction is more
    // likely a mix-up with another key than a wish to be rounded.
    if (value.IsInt64()) {
      if (auto reason = checkInt(key, value.GetInt64())) return reason;
      (*field)(config) = value.GetInt64();
      return std::nullopt;
    }
    if (value.IsUint64()) return rangeReason(key);
    return "expected an integer";
  }
  if (auto field = std::get_if<DoubleField>(&key.field)) {
    if (!value.IsNumber()) return "expected a number";
    if (auto reason = checkDouble(key, value.GetDouble())) return reason;
    (*field)(config) = value.GetDouble();
    return std::nullopt;
  }
  auto field = std::get<StringField>(key.field);
  if (!value.IsString()) return "expected a string";
  std::string text(value.GetString(), value.GetStringLength());
  if (auto reason = checkString(key, text)) return reason;
  field(config) = std::move(text);
  return std::nullopt;
}

std::optional<ConfigError> applyJsonObject(const rapidjson::Value& object,
                                           const std::string& prefix, std::set<std::string>& seen,
                                           Config& out) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    std::string name(it->name.GetString(), it->name.GetStringLength());
    std::string path = prefix.empty() ? name : prefix + "." + name;
    // RapidJSON keeps both copies of a repeated name; which one an operator
    // meant is a guess, so refuse it.
    if (!seen.insert(path).second) return ConfigError{path, "duplicate key"};
    if (const KeyDescriptor* key = findKey(path)) {
      if (auto reason = assignJson(*key, it->value, out)) return ConfigError{path, *reason};
      continue;
    }
    if (isSection(path)) {
      if (!it->value.IsObject()) return ConfigError{path, "expected an object"};
      if (auto error = applyJsonObject(it->value, path, seen, out)) return error;
      continue;
    }
    return ConfigError{path, "unknown key"};
  }
  return std::nullopt;
}

std::optional<ConfigError> applyEnvironmentValue(const KeyDescriptor& key,
                                                 const std::string& variable,
                                                 const std::string& value, Config& out) {
  if (auto reason = assignText(key, value, out)) {
    return ConfigError{std::string(key.path), *reason + " (from " + variable + ")"};
  }
  return std::nullopt;
}

std::optional<ConfigError> applyEnvironment(const std::map<std::string, std::string>& environment,
                                            Config& out) {
  // Scenario aliases first, so the REDGE_* name of the same key wins.
  for (const KeyDescriptor& key : keyTable()) {
    if (key.env_alias.empty()) continue;
    auto it = environment.find(std::string(key.env_alias));
    if (it == environment.end()) continue;
    if (auto error = applyEnvironmentValue(key, it->first, it->second, out)) return error;
  }
  for (const auto& [name, value] : environment) {
    if (!std::string_view(name).starts_with(kEnvPrefix)) continue;
    bool allowed = false;
    for (std::string_view prefix : kEnvAllowedPrefixes) {
      allowed = allowed || std::string_view(name).starts_with(prefix);
    }
    if (allowed) continue;
    const KeyDescriptor* match = nullptr;
    for (const KeyDescriptor& key : keyTable()) {
      if (environmentName(key.path) == name) {
        match = &key;
        break;
      }
    }
    // The variable name is what the operator typed; a dotted path cannot be
    // recovered from it (underscores are ambiguous), so the error names it.
    if (!match) return ConfigError{name, "unknown key"};
    if (auto error = applyEnvironmentValue(*match, name, value, out)) return error;
  }
  return std::nullopt;
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

std::string typeText(const KeyDescriptor& key) {
  if (std::holds_alternative<BoolField>(key.field)) return "bool";
  if (std::holds_alternative<IntField>(key.field)) {
    return "integer " + std::to_string(key.int_min) + ".." + std::to_string(key.int_max);
  }
  if (std::holds_alternative<DoubleField>(key.field)) {
    return std::string("number ") + (key.double_min_exclusive ? "(" : "[") +
           formatDouble(key.double_min) + ", " + formatDouble(key.double_max) + "]";
  }
  if (!key.choices.empty()) {
    std::string text;
    for (std::string_view choice : key.choices) {
      if (!text.empty()) text += "|";
      text += choice;
    }
    return text;
  }
  return "string";
}

std::string valueText(const KeyDescriptor& key, const Config& config) {
  if (auto field = std::get_if<BoolField>(&key.field)) {
    return readField(*field, config) ? "true" : "false";
  }
  if (auto field = std::get_if<IntField>(&key.field)) {
    return std::to_string(readField(*field, config));
  }
  if (auto field = std::get_if<DoubleField>(&key.field)) {
    return formatDouble(readField(*field, config));
  }
  return "\"" + readField(std::get<StringField>(key.field), config) + "\"";
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API.

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

std::optional<ConfigError> applyJson(const std::string& json_text, Config& out) {
  rapidjson::Document doc;
  // Numbers are converted exactly, so a double written by configToJson reads
  // back equal.
  const JsonParseResult parsed = parseJson(json_text, doc);
  if (!parsed.ok()) return ConfigError{std::string(kJsonPath), "parse error " + parsed.describe()};
  if (!doc.IsObject()) return ConfigError{std::string(kJsonPath), "expected an object"};
  std::set<std::string> seen;
  return applyJsonObject(doc, "", seen, out);
}

std::optional<ConfigError> applyAssignment(const std::string& path, const std::string& value,
                                           Config& out) {
  const KeyDescriptor* key = findKey(path);
  if (!key) return ConfigError{path, "unknown key"};
  if (auto reason = assignText(*key, value, out)) return ConfigError{path, *reason};
  return std::nullopt;
}

std::optional<ConfigError> validateConfig(const Config& config) {
  for (const KeyDescriptor& key : keyTable()) {
    if (auto reason = checkCurrent(key, config)) return ConfigError{std::string(key.path), *reason};
  }

  // Distinct ports, regardless of bind address: two listeners on one port
  // and different addresses are legal but 0.0.0.0 or :: overlaps every
  // address, and a clash found at bind time is a worse error than this one.
  std::vector<const int64_t*> ports;
  if (config.app.enabled) ports.push_back(&config.app.port);
  if (config.admin.enabled) ports.push_back(&config.admin.port);
  if (config.cacheproxy.enabled) {
    ports.push_back(&config.cacheproxy.http_port);
    ports.push_back(&config.cacheproxy.resp_port);
  }
  for (size_t i = 0; i < ports.size(); ++i) {
    if (*ports[i] == kAnyPort) continue;
    for (size_t j = 0; j < i; ++j) {
      if (*ports[i] == *ports[j]) {
        return ConfigError{
            pathOf(config, ports[i]),
            "port " + std::to_string(*ports[i]) + " is also used by " + pathOf(config, ports[j])};
      }
    }
  }

  // Hysteresis needs a gap: resuming at or above the stop mark would flap
  // intake on every message.
  if (config.relay.queue_recovery >= config.relay.queue_max) {
    return ConfigError{pathOf(config, &config.relay.queue_recovery),
                       "must be less than " + pathOf(config, &config.relay.queue_max) + " (" +
                           std::to_string(config.relay.queue_max) + ")"};
  }
  if (config.redis.reconnect_min_ms > config.redis.reconnect_max_ms) {
    return ConfigError{pathOf(config, &config.redis.reconnect_min_ms),
                       "must be at most " + pathOf(config, &config.redis.reconnect_max_ms) + " (" +
                           std::to_string(config.redis.reconnect_max_ms) + ")"};
  }
  if (config.relay.breaker.open_ms > config.relay.breaker.max_open_ms) {
    return ConfigError{pathOf(config, &config.relay.breaker.open_ms),
                       "must be at most " + pathOf(config, &config.relay.breaker.max_open_ms) +
                           " (" + std::to_string(config.relay.breaker.max_open_ms) + ")"};
  }
  return std::nullopt;
}

std::optional<ConfigError> loadConfig(const CommandLine& cmd,
                                      const std::map<std::string, std::string>& environment,
                                      Config& out) {
  out = Config{};

  if (cmd.config_file) {
    const std::string& file = *cmd.config_file;
    std::string text;
    if (auto error = readFile(file, text)) return error;
    if (auto error = applyJson(text, out)) {
      // Errors about the text as a whole name the file; errors about one key
      // name the key and say which file it came from.
      if (error->path == kJsonPath) {
        error->path = file;
      } else {
        error->reason += " (in " + file + ")";
      }
      return error;
    }
  }

  if (auto error = applyEnvironment(environment, out)) return error;

  if (cmd.redis_url) {
    if (auto error = applyAssignment(pathOf(out, &out.redis.url), *cmd.redis_url, out)) {
      error->reason += " (from --redis)";
      return error;
    }
  }

  for (const std::string& assignment : cmd.sets) {
    size_t eq = assignment.find('=');
    if (eq == std::string::npos) return ConfigError{assignment, "expected path=value"};
    if (auto error = applyAssignment(assignment.substr(0, eq), assignment.substr(eq + 1), out)) {
      return error;
    }
  }

  return validateConfig(out);
}

std::string configToJson(const Config& config) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& alloc = doc.GetAllocator();
  for (const KeyDescriptor& key : keyTable()) {
    // Walk (and create) one object per path segment; members appear in the
    // order their first key appears in the table.
    rapidjson::Value* node = &doc;
    std::string_view rest = key.path;
    for (size_t dot; (dot = rest.find('.')) != std::string_view::npos;
         rest.remove_prefix(dot + 1)) {
      std::string segment(rest.substr(0, dot));
      // HasMember/operator[] rather than comparing member iterators, which
      // C++20's reversed operators make ambiguous in RapidJSON.
      if (!node->HasMember(segment)) {
        node->AddMember(rapidjson::Value(segment, alloc), rapidjson::Value(rapidjson::kObjectType),
                        alloc);
      }
      node = &(*node)[segment];
    }
    rapidjson::Value value;
    if (auto field = std::get_if<BoolField>(&key.field)) {
      value.SetBool(readField(*field, config));
    } else if (auto field = std::get_if<IntField>(&key.field)) {
      value.SetInt64(readField(*field, config));
    } else if (auto field = std::get_if<DoubleField>(&key.field)) {
      value.SetDouble(readField(*field, config));
    } else {
      value.SetString(readField(std::get<StringField>(key.field), config), alloc);
    }
    node->AddMember(rapidjson::Value(std::string(rest), alloc), value, alloc);
  }
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  doc.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
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

std::string usageText() {
  std::string text =
      "usage: redge [options]\n"
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
      "Booleans accept true/false, 1/0, yes/no, on/off.\n"
      "\n"
      "keys:\n";
  const Config defaults;
  for (const KeyDescriptor& key : keyTable()) {
    text += "  " + std::string(key.path) + " (" + typeText(key) + ", default " +
            valueText(key, defaults) + ")\n";
    text += "      " + std::string(key.help) + "\n";
    text += "      env " + environmentName(key.path);
    if (!key.env_alias.empty()) text += " or " + std::string(key.env_alias);
    text += "\n";
  }
  return text;
}

std::vector<std::string> configKeyPaths() {
  std::vector<std::string> paths;
  for (const KeyDescriptor& key : keyTable()) paths.emplace_back(key.path);
  return paths;
}

std::string configEnvironmentName(const std::string& path) {
  return environmentName(path);
}

}  // namespace redge
