#pragma once
// The configuration table engine. Every key is declared once, against the
// member of the struct it sets, and that one declaration drives the JSON
// file, the REDGE_* environment, --set, validation, --check-config and
// --help. Core declares its own sections (redis, http, server, log); each
// module declares its section against the Options struct its service takes,
// so core knows no service and a module's defaults live in one place: its
// struct's member initialisers.
//
// Shapes: scalar keys (bool, integer, number, string, one-of), groups (a
// nested struct: relay.breaker.*), lists of structs or strings and maps of
// structs (the gateway's routes and pools) or of strings. A list or map is one key: in a
// file it is JSON; in the environment and on --set its value is JSON text.
//
// Keys are declared with REDGE_FIELD(Struct, member), which expands to the
// member's name and pointer, so a key's path is its member's name and the
// two cannot drift apart.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <vector>

namespace redge {

struct Config;

// A configuration error names the key path (or the flag, or the file) and
// the reason; main prints "config error: <path>: <reason>" and exits 2.
struct ConfigError {
  std::string path;
  std::string reason;
};

// The path an error about the JSON text as a whole names (a parse error, a
// root that is not an object); loadConfig replaces it with the file name.
inline constexpr std::string_view kConfigJsonPath = "(json)";

// A string check returns the reason the value is refused, or nothing.
using StringCheck = std::optional<std::string> (*)(const std::string&);

// clang-format off
#define REDGE_FIELD(Struct, member) #member, &Struct::member
// clang-format on

namespace config_detail {

enum class Kind { Bool, Int, Double, String, StringList, StringMap, List, Map, Group };

struct StructSchema;

// From a struct's address to one of its members'.
using Access = std::function<void*(void*)>;

// Operations on a container, type-erased; each takes the container itself.
struct ContainerOps {
  std::function<void(void*)> clear;
  std::function<size_t(const void*)> size;
  // List: the i-th element. Map: the i-th entry in key order; `key` is set.
  std::function<void*(void*, size_t, std::string* key)> at;
  // Appends a default element (list) or inserts one under `key` (map);
  // returns it, or null if the map already has the key.
  std::function<void*(void*, const std::string& key)> add;
};

struct Field {
  std::string name;
  Kind kind = Kind::Bool;
  Access access;
  std::string help;
  int64_t int_min = 0;
  int64_t int_max = 0;
  double double_min = 0;
  double double_max = 0;
  bool double_min_exclusive = false;  // (min, max] rather than [min, max]
  std::vector<std::string> choices;   // non-empty: the only values a string may take
  StringCheck check = nullptr;
  std::string env_alias;        // a scenario name that also sets this key (REDGE_* still wins)
  bool port = false;            // a listener port: distinct across enabled sections
  bool number_as_text = false;  // String: a JSON integer is taken as its text
  std::shared_ptr<StructSchema> element;  // Group, List, Map
  ContainerOps ops;                       // StringList, List, Map
};

struct StructSchema {
  std::vector<Field> fields;
  // Builds a default instance (for --help defaults of list elements).
  std::function<std::shared_ptr<void>()> make_default;
};

}  // namespace config_detail

// Declares the keys of one struct S. Returned by ConfigSchema::section and by
// group/list/map for nested structs; each declaring call returns *this so a
// modifier (envAlias, port) applies to the key just declared.
template <typename S>
class ConfigKeys {
 public:
  explicit ConfigKeys(config_detail::StructSchema& schema) : schema_(&schema) {}

  ConfigKeys& boolKey(std::string name, bool S::*m, std::string help) {
    return add(std::move(name), config_detail::Kind::Bool, m, std::move(help));
  }
  ConfigKeys& intKey(std::string name, int64_t S::*m, int64_t min, int64_t max, std::string help) {
    auto& f = addField(std::move(name), config_detail::Kind::Int, m, std::move(help));
    f.int_min = min;
    f.int_max = max;
    return *this;
  }
  ConfigKeys& doubleKey(std::string name, double S::*m, double min, bool min_exclusive, double max,
                        std::string help) {
    auto& f = addField(std::move(name), config_detail::Kind::Double, m, std::move(help));
    f.double_min = min;
    f.double_min_exclusive = min_exclusive;
    f.double_max = max;
    return *this;
  }
  ConfigKeys& stringKey(std::string name, std::string S::*m, std::string help,
                        StringCheck check = nullptr) {
    addField(std::move(name), config_detail::Kind::String, m, std::move(help)).check = check;
    return *this;
  }
  // `choices` is moved; clang-tidy 14 does not see a parameter moved in a template.
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  ConfigKeys& enumKey(std::string name, std::string S::*m, std::vector<std::string> choices,
                      std::string help) {
    addField(std::move(name), config_detail::Kind::String, m, std::move(help)).choices =
        std::move(choices);
    return *this;
  }
  ConfigKeys& stringListKey(std::string name, std::vector<std::string> S::*m, std::string help,
                            StringCheck check = nullptr) {
    auto& f = addField(std::move(name), config_detail::Kind::StringList, m, std::move(help));
    f.check = check;
    f.ops = listOps<std::string>();
    return *this;
  }
  // A map from names to strings (app.flags: route -> flag), kept in name
  // order; `check` applies to each value.
  ConfigKeys& stringMapKey(std::string name, std::map<std::string, std::string> S::*m,
                           std::string help, StringCheck check = nullptr) {
    addField(std::move(name), config_detail::Kind::StringMap, m, std::move(help)).check = check;
    return *this;
  }
  // A nested struct: its keys are "<name>.<key>".
  template <typename G>
  ConfigKeys<G> group(std::string name, G S::*m) {
    auto& f = addField(std::move(name), config_detail::Kind::Group, m, "");
    f.element = elementSchema<G>();
    return ConfigKeys<G>(*f.element);
  }
  // A list of structs; declare the element's keys on the returned object.
  template <typename E>
  ConfigKeys<E> listKey(std::string name, std::vector<E> S::*m, std::string help) {
    auto& f = addField(std::move(name), config_detail::Kind::List, m, std::move(help));
    f.element = elementSchema<E>();
    f.ops = listOps<E>();
    return ConfigKeys<E>(*f.element);
  }
  // A map from names to structs, kept in name order.
  template <typename E>
  ConfigKeys<E> mapKey(std::string name, std::map<std::string, E> S::*m, std::string help) {
    auto& f = addField(std::move(name), config_detail::Kind::Map, m, std::move(help));
    f.element = elementSchema<E>();
    using Map = std::map<std::string, E>;
    f.ops.clear = [](void* c) { static_cast<Map*>(c)->clear(); };
    f.ops.size = [](const void* c) { return static_cast<const Map*>(c)->size(); };
    f.ops.at = [](void* c, size_t i, std::string* key) -> void* {
      auto it = static_cast<Map*>(c)->begin();
      std::advance(it, static_cast<std::ptrdiff_t>(i));
      if (key) *key = it->first;
      return &it->second;
    };
    f.ops.add = [](void* c, const std::string& key) -> void* {
      auto [it, inserted] = static_cast<Map*>(c)->try_emplace(key);
      return inserted ? &it->second : nullptr;
    };
    return ConfigKeys<E>(*f.element);
  }

  // Also set by this environment variable (a scenario's own name).
  ConfigKeys& envAlias(std::string alias) {
    schema_->fields.back().env_alias = std::move(alias);
    return *this;
  }
  // A listener port: no two enabled sections may use the same one.
  ConfigKeys& port() {
    schema_->fields.back().port = true;
    return *this;
  }
  // A string key that a JSON file may also give as a number (server.workers:
  // 4 or "auto"); the number is kept as its text.
  ConfigKeys& numberAsText() {
    schema_->fields.back().number_as_text = true;
    return *this;
  }

 private:
  template <typename M>
  config_detail::Field& addField(std::string name, config_detail::Kind kind, M S::*m,
                                 std::string help) {
    config_detail::Field f;
    f.name = std::move(name);
    f.kind = kind;
    f.help = std::move(help);
    f.access = [m](void* base) -> void* { return &(static_cast<S*>(base)->*m); };
    schema_->fields.push_back(std::move(f));
    return schema_->fields.back();
  }
  template <typename M>
  ConfigKeys& add(std::string name, config_detail::Kind kind, M S::*m, std::string help) {
    addField(std::move(name), kind, m, std::move(help));
    return *this;
  }
  template <typename E>
  static std::shared_ptr<config_detail::StructSchema> elementSchema() {
    auto schema = std::make_shared<config_detail::StructSchema>();
    schema->make_default = [] { return std::static_pointer_cast<void>(std::make_shared<E>()); };
    return schema;
  }
  template <typename E>
  static config_detail::ContainerOps listOps() {
    using List = std::vector<E>;
    config_detail::ContainerOps ops;
    ops.clear = [](void* c) { static_cast<List*>(c)->clear(); };
    ops.size = [](const void* c) { return static_cast<const List*>(c)->size(); };
    ops.at = [](void* c, size_t i, std::string*) -> void* { return &(*static_cast<List*>(c))[i]; };
    ops.add = [](void* c, const std::string&) -> void* {
      return &static_cast<List*>(c)->emplace_back();
    };
    return ops;
  }

  config_detail::StructSchema* schema_;
};

// Every module's section, held by type in the Config, so a module reads its
// own struct (config.module<AppOptions>()) and core never names it.
class ModuleSections {
 public:
  ModuleSections() = default;
  ModuleSections(const ModuleSections& other) { copyFrom(other); }
  ModuleSections& operator=(const ModuleSections& other) {
    if (this != &other) {
      boxes_.clear();
      copyFrom(other);
    }
    return *this;
  }
  ModuleSections(ModuleSections&&) = default;
  ModuleSections& operator=(ModuleSections&&) = default;

  template <typename T>
  T& get() {
    return *static_cast<T*>(find(typeid(T)));
  }
  template <typename T>
  const T& get() const {
    return *static_cast<const T*>(find(typeid(T)));
  }
  template <typename T>
  bool has() const {
    return find(typeid(T)) != nullptr;
  }
  template <typename T>
  void add() {
    if (has<T>()) return;
    boxes_.push_back({typeid(T), std::make_shared<T>(), [](const void* p) -> std::shared_ptr<void> {
                        return std::make_shared<T>(*static_cast<const T*>(p));
                      }});
  }

 private:
  struct Box {
    std::type_index type;
    std::shared_ptr<void> value;  // never shared between Configs: copies clone
    std::shared_ptr<void> (*clone)(const void*);
  };
  void* find(std::type_index type) const;
  void copyFrom(const ModuleSections& other);
  std::vector<Box> boxes_;
};

class ConfigSchema {
 public:
  using Rule = std::function<std::optional<ConfigError>(const Config&, const ConfigSchema&)>;

  // A section that is a member of Config (the process-wide ones). Defined
  // in core/config.hpp, where Config is complete.
  template <typename S>
  ConfigKeys<S> coreSection(std::string name, S Config::*m);
  // A module's section, stored in Config::modules (likewise).
  template <typename S>
  ConfigKeys<S> moduleSection(std::string name);
  // A rule across keys (a < b), checked after every key's own bounds.
  void addRule(Rule rule) { rules_.push_back(std::move(rule)); }

  // A Config holding the defaults of every section.
  Config defaults() const;

  std::optional<ConfigError> applyJson(const std::string& json_text, Config& out) const;
  std::optional<ConfigError> applyAssignment(const std::string& path, const std::string& value,
                                             Config& out) const;
  std::optional<ConfigError> applyEnvironment(const std::map<std::string, std::string>& env,
                                              Config& out) const;
  std::optional<ConfigError> validate(const Config& config) const;
  std::string toJson(const Config& config) const;
  // The paths of the keys whose values differ between `a` and `b`, in table
  // order (a list or map key counts as one value: any element changed).
  std::vector<std::string> changedPaths(const Config& a, const Config& b) const;
  // The "keys:" part of --help.
  std::string keysHelp() const;
  std::vector<std::string> paths() const;
  // The path of the key whose field is at `member` inside `config`, for
  // rules to name their keys without spelling a path.
  std::string pathOf(const Config& config, const void* member) const;
  // The path of the first listener port of an enabled section that is 0
  // (any free port), or nothing.
  std::optional<std::string> firstAnyPort(const Config& config) const;

  // The environment variable that sets `path`: "REDGE_" + the path in upper
  // case with '.' as '_' (relay.queue_max -> REDGE_RELAY_QUEUE_MAX).
  static std::string environmentName(std::string_view path);

 private:
  struct FlatKey {
    std::string path;
    std::vector<const config_detail::Field*> chain;  // root section first, the key last
  };
  config_detail::Field& addSection(std::string name, config_detail::Access access);
  const std::vector<FlatKey>& flat() const;
  const FlatKey* findKey(std::string_view path) const;
  bool isGroup(std::string_view path) const;
  // Every port key of an enabled section, with its value, in key order.
  std::vector<std::pair<const std::string*, int64_t>> enabledPorts(Config& config) const;

  config_detail::StructSchema root_;  // one Group field per section
  std::vector<std::function<void(Config&)>> module_types_;
  std::vector<Rule> rules_;
  mutable std::vector<FlatKey> flat_;  // built on first use, after declaration
};

}  // namespace redge
