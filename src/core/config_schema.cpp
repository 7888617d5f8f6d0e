// The configuration table engine (see the header). Declarations form a tree
// of struct schemas: the root holds one group per section, groups nest, and
// lists and maps hold an element schema. Two walks serve everything: over
// the tree (JSON in and out, validation, which recurse into containers) and
// over the flattened leaf keys (the environment, --set, --help, pathOf).
//
// Errors are values: the path names what the operator wrote (for an element
// of a list, "gateway.routes[2].prefix"), the reason says what was expected.

#include "core/config_schema.hpp"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "core/config.hpp"
#include "core/json_parse.hpp"

namespace redge {

using config_detail::Field;
using config_detail::Kind;
using config_detail::StructSchema;

void* ModuleSections::find(std::type_index type) const {
  for (const Box& b : boxes_) {
    if (b.type == type) return b.value.get();
  }
  return nullptr;
}

void ModuleSections::copyFrom(const ModuleSections& other) {
  for (const Box& b : other.boxes_) boxes_.push_back({b.type, b.clone(b.value.get()), b.clone});
}

namespace {

constexpr std::string_view kEnvPrefix = "REDGE_";
// REDGE_* variables that are not configuration and must not be rejected as
// unknown keys: the test harness passes its own settings under REDGE_TEST_*.
// Any other REDGE_* name that is not a key is an error, because a misspelt
// key silently ignored is a production setting that never took effect.
constexpr std::string_view kEnvAllowedPrefixes[] = {"REDGE_TEST_"};
// A port that the operator chose as "any free port": allowed on several
// listeners at once, since the kernel gives each its own.
constexpr int64_t kAnyPort = 0;

template <typename T>
T& as(void* p) {
  return *static_cast<T*>(p);
}
template <typename T>
const T& as(const void* p) {
  return *static_cast<const T*>(p);
}

std::string formatDouble(double value) {
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string(buf, result.ptr);
}

std::string rangeReason(const Field& f) {
  return "must be between " + std::to_string(f.int_min) + " and " + std::to_string(f.int_max);
}

std::optional<std::string> checkInt(const Field& f, int64_t value) {
  if (value < f.int_min || value > f.int_max) return rangeReason(f);
  return std::nullopt;
}

std::optional<std::string> checkDouble(const Field& f, double value) {
  bool below = f.double_min_exclusive ? !(value > f.double_min) : !(value >= f.double_min);
  if (std::isfinite(value) && !below && value <= f.double_max) return std::nullopt;
  if (f.double_min_exclusive) {
    return "must be greater than " + formatDouble(f.double_min) + " and at most " +
           formatDouble(f.double_max);
  }
  return "must be between " + formatDouble(f.double_min) + " and " + formatDouble(f.double_max);
}

std::optional<std::string> checkString(const Field& f, const std::string& value) {
  if (!f.choices.empty()) {
    for (const std::string& choice : f.choices) {
      if (value == choice) return std::nullopt;
    }
    std::string reason = "must be one of ";
    for (size_t i = 0; i < f.choices.size(); ++i) {
      if (i > 0) reason += ", ";
      reason += f.choices[i];
    }
    return reason;
  }
  if (f.check) return f.check(value);
  return std::nullopt;
}

std::optional<bool> parseBool(std::string_view text) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

std::string elementPath(const std::string& path, const Field& f, size_t i, const std::string& key) {
  if (f.kind == Kind::Map) return path + "." + key;
  return path + "[" + std::to_string(i) + "]";
}

// ---------------------------------------------------------------- JSON in

std::optional<ConfigError> applyObject(const StructSchema& schema, const rapidjson::Value& object,
                                       const std::string& prefix, void* base,
                                       std::set<std::string>& seen);

// Stores a JSON value into one field; containers are replaced whole.
std::optional<ConfigError> assignJson(const Field& f, const rapidjson::Value& value,
                                      const std::string& path, void* target) {
  auto fail = [&](std::string reason) { return ConfigError{path, std::move(reason)}; };
  switch (f.kind) {
    case Kind::Bool:
      if (!value.IsBool()) return fail("expected true or false");
      as<bool>(target) = value.GetBool();
      return std::nullopt;
    case Kind::Int:
      // 5.0 and 1e3 are refused: an integer key written as a fraction is more
      // likely a mix-up with another key than a wish to be rounded.
      if (value.IsInt64()) {
        if (auto reason = checkInt(f, value.GetInt64())) return fail(*reason);
        as<int64_t>(target) = value.GetInt64();
        return std::nullopt;
      }
      if (value.IsUint64()) return fail(rangeReason(f));
      return fail("expected an integer");
    case Kind::Double:
      if (!value.IsNumber()) return fail("expected a number");
      if (auto reason = checkDouble(f, value.GetDouble())) return fail(*reason);
      as<double>(target) = value.GetDouble();
      return std::nullopt;
    case Kind::String: {
      std::string text;
      if (f.number_as_text && value.IsInt64()) {
        text = std::to_string(value.GetInt64());
      } else if (!value.IsString()) {
        return fail("expected a string");
      } else {
        text.assign(value.GetString(), value.GetStringLength());
      }
      if (auto reason = checkString(f, text)) return fail(*reason);
      as<std::string>(target) = std::move(text);
      return std::nullopt;
    }
    case Kind::StringList: {
      if (!value.IsArray()) return fail("expected an array of strings");
      std::vector<std::string> items;
      for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
        const rapidjson::Value& v = value[i];
        std::string at = path + "[" + std::to_string(i) + "]";
        if (!v.IsString()) return ConfigError{at, "expected a string"};
        std::string text(v.GetString(), v.GetStringLength());
        if (auto reason = checkString(f, text)) return ConfigError{at, *reason};
        items.push_back(std::move(text));
      }
      as<std::vector<std::string>>(target) = std::move(items);
      return std::nullopt;
    }
    case Kind::StringMap: {
      if (!value.IsObject()) return fail("expected an object of strings");
      std::map<std::string, std::string> items;
      for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
        std::string name(it->name.GetString(), it->name.GetStringLength());
        std::string at = path + "." + name;
        if (name.empty()) return ConfigError{at, "a name may not be empty"};
        if (!it->value.IsString()) return ConfigError{at, "expected a string"};
        std::string text(it->value.GetString(), it->value.GetStringLength());
        if (auto reason = checkString(f, text)) return ConfigError{at, *reason};
        if (!items.emplace(std::move(name), std::move(text)).second) {
          return ConfigError{at, "duplicate key"};
        }
      }
      as<std::map<std::string, std::string>>(target) = std::move(items);
      return std::nullopt;
    }
    case Kind::List:
    case Kind::Map: {
      bool list = f.kind == Kind::List;
      if (list ? !value.IsArray() : !value.IsObject()) {
        return fail(list ? "expected an array of objects" : "expected an object");
      }
      // Rebuilt in place: a refused element stops start-up anyway.
      f.ops.clear(target);
      std::set<std::string> seen;
      if (list) {
        for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
          std::string at = path + "[" + std::to_string(i) + "]";
          if (!value[i].IsObject()) return ConfigError{at, "expected an object"};
          void* element = f.ops.add(target, "");
          if (auto e = applyObject(*f.element, value[i], at, element, seen)) return e;
        }
      } else {
        for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
          std::string name(it->name.GetString(), it->name.GetStringLength());
          std::string at = path + "." + name;
          if (name.empty()) return ConfigError{at, "a name may not be empty"};
          if (!it->value.IsObject()) return ConfigError{at, "expected an object"};
          void* element = f.ops.add(target, name);
          if (element == nullptr) return ConfigError{at, "duplicate key"};
          if (auto e = applyObject(*f.element, it->value, at, element, seen)) return e;
        }
      }
      return std::nullopt;
    }
    case Kind::Group:
      break;
  }
  return fail("expected an object");
}

std::optional<ConfigError> applyObject(const StructSchema& schema, const rapidjson::Value& object,
                                       const std::string& prefix, void* base,
                                       std::set<std::string>& seen) {
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    std::string name(it->name.GetString(), it->name.GetStringLength());
    std::string path = prefix.empty() ? name : prefix + "." + name;
    // RapidJSON keeps both copies of a repeated name; which one an operator
    // meant is a guess, so refuse it.
    if (!seen.insert(path).second) return ConfigError{path, "duplicate key"};
    const Field* field = nullptr;
    for (const Field& f : schema.fields) {
      if (f.name == name) field = &f;
    }
    if (field == nullptr) return ConfigError{path, "unknown key"};
    void* target = field->access(base);
    if (field->kind == Kind::Group) {
      if (!it->value.IsObject()) return ConfigError{path, "expected an object"};
      if (auto error = applyObject(*field->element, it->value, path, target, seen)) return error;
      continue;
    }
    if (auto error = assignJson(*field, it->value, path, target)) return error;
  }
  return std::nullopt;
}

// Parses `text` per the field's type and stores it; returns the reason on
// failure (and leaves the field untouched, for scalars).
std::optional<ConfigError> assignText(const Field& f, const std::string& text,
                                      const std::string& path, void* target) {
  auto fail = [&](std::string reason) { return ConfigError{path, std::move(reason)}; };
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  switch (f.kind) {
    case Kind::Bool: {
      std::optional<bool> value = parseBool(text);
      if (!value) return fail("expected true or false");
      as<bool>(target) = *value;
      return std::nullopt;
    }
    case Kind::Int: {
      // Decimal only, the whole text: "12x", "0x10", " 5" and "+5" are
      // refused rather than half-read.
      int64_t value = 0;
      auto [ptr, ec] = std::from_chars(begin, end, value, 10);
      if (ec == std::errc::result_out_of_range && ptr == end) return fail(rangeReason(f));
      if (ec != std::errc() || ptr != end || text.empty()) return fail("expected an integer");
      if (auto reason = checkInt(f, value)) return fail(*reason);
      as<int64_t>(target) = value;
      return std::nullopt;
    }
    case Kind::Double: {
      double value = 0;
      auto [ptr, ec] = std::from_chars(begin, end, value);
      if (ec != std::errc() || ptr != end || text.empty()) return fail("expected a number");
      if (auto reason = checkDouble(f, value)) return fail(*reason);
      as<double>(target) = value;
      return std::nullopt;
    }
    case Kind::String:
      if (auto reason = checkString(f, text)) return fail(*reason);
      as<std::string>(target) = text;
      return std::nullopt;
    case Kind::StringList:
    case Kind::StringMap:
    case Kind::List:
    case Kind::Map: {
      // A container set from one line of text takes JSON.
      rapidjson::Document doc;
      const JsonParseResult parsed = parseJson(text, doc);
      if (!parsed.ok()) {
        return fail("expected JSON (" + parsed.reason() + " at offset " +
                    std::to_string(parsed.offset) + ")");
      }
      return assignJson(f, doc, path, target);
    }
    case Kind::Group:
      break;
  }
  return fail("expected an object");
}

// ---------------------------------------------------------------- checks

std::optional<ConfigError> checkStruct(const StructSchema& schema, const std::string& prefix,
                                       void* base);

std::optional<ConfigError> checkField(const Field& f, const std::string& path, void* target) {
  auto fail = [&](std::optional<std::string> reason) -> std::optional<ConfigError> {
    if (!reason) return std::nullopt;
    return ConfigError{path, *reason};
  };
  switch (f.kind) {
    case Kind::Bool:
      return std::nullopt;
    case Kind::Int:
      return fail(checkInt(f, as<int64_t>(target)));
    case Kind::Double:
      return fail(checkDouble(f, as<double>(target)));
    case Kind::String:
      return fail(checkString(f, as<std::string>(target)));
    case Kind::StringList: {
      const auto& items = as<std::vector<std::string>>(target);
      for (size_t i = 0; i < items.size(); ++i) {
        if (auto reason = checkString(f, items[i])) {
          return ConfigError{path + "[" + std::to_string(i) + "]", *reason};
        }
      }
      return std::nullopt;
    }
    case Kind::StringMap:
      for (const auto& [name, value] : as<std::map<std::string, std::string>>(target)) {
        if (auto reason = checkString(f, value)) return ConfigError{path + "." + name, *reason};
      }
      return std::nullopt;
    case Kind::List:
    case Kind::Map:
      for (size_t i = 0, n = f.ops.size(target); i < n; ++i) {
        std::string key;
        void* element = f.ops.at(target, i, &key);
        if (auto e = checkStruct(*f.element, elementPath(path, f, i, key), element)) return e;
      }
      return std::nullopt;
    case Kind::Group:
      return checkStruct(*f.element, path, target);
  }
  return std::nullopt;
}

std::optional<ConfigError> checkStruct(const StructSchema& schema, const std::string& prefix,
                                       void* base) {
  for (const Field& f : schema.fields) {
    std::string path = prefix.empty() ? f.name : prefix + "." + f.name;
    if (auto e = checkField(f, path, f.access(base))) return e;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- JSON out

void toJsonStruct(const StructSchema& schema, void* base, rapidjson::Value& out,
                  rapidjson::Document::AllocatorType& alloc);

rapidjson::Value toJsonField(const Field& f, void* target,
                             rapidjson::Document::AllocatorType& alloc) {
  rapidjson::Value v;
  switch (f.kind) {
    case Kind::Bool:
      v.SetBool(as<bool>(target));
      break;
    case Kind::Int:
      v.SetInt64(as<int64_t>(target));
      break;
    case Kind::Double:
      v.SetDouble(as<double>(target));
      break;
    case Kind::String:
      v.SetString(as<std::string>(target), alloc);
      break;
    case Kind::StringList:
      v.SetArray();
      for (const std::string& s : as<std::vector<std::string>>(target)) {
        v.PushBack(rapidjson::Value(s, alloc), alloc);
      }
      break;
    case Kind::StringMap:
      v.SetObject();
      for (const auto& [name, value] : as<std::map<std::string, std::string>>(target)) {
        v.AddMember(rapidjson::Value(name, alloc), rapidjson::Value(value, alloc), alloc);
      }
      break;
    case Kind::List:
      v.SetArray();
      for (size_t i = 0, n = f.ops.size(target); i < n; ++i) {
        rapidjson::Value element(rapidjson::kObjectType);
        toJsonStruct(*f.element, f.ops.at(target, i, nullptr), element, alloc);
        v.PushBack(element, alloc);
      }
      break;
    case Kind::Map:
      v.SetObject();
      for (size_t i = 0, n = f.ops.size(target); i < n; ++i) {
        std::string key;
        void* element_ptr = f.ops.at(target, i, &key);
        rapidjson::Value element(rapidjson::kObjectType);
        toJsonStruct(*f.element, element_ptr, element, alloc);
        v.AddMember(rapidjson::Value(key, alloc), element, alloc);
      }
      break;
    case Kind::Group:
      v.SetObject();
      toJsonStruct(*f.element, target, v, alloc);
      break;
  }
  return v;
}

void toJsonStruct(const StructSchema& schema, void* base, rapidjson::Value& out,
                  rapidjson::Document::AllocatorType& alloc) {
  for (const Field& f : schema.fields) {
    out.AddMember(rapidjson::Value(f.name, alloc), toJsonField(f, f.access(base), alloc), alloc);
  }
}

std::string compactJson(const Field& f, void* target) {
  rapidjson::Document doc;
  rapidjson::Value v = toJsonField(f, target, doc.GetAllocator());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

// ---------------------------------------------------------------- help

std::string typeText(const Field& f) {
  switch (f.kind) {
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "integer " + std::to_string(f.int_min) + ".." + std::to_string(f.int_max);
    case Kind::Double:
      return std::string("number ") + (f.double_min_exclusive ? "(" : "[") +
             formatDouble(f.double_min) + ", " + formatDouble(f.double_max) + "]";
    case Kind::String: {
      if (f.choices.empty()) return "string";
      std::string text;
      for (const std::string& choice : f.choices) {
        if (!text.empty()) text += "|";
        text += choice;
      }
      return text;
    }
    case Kind::StringList:
      return "list of strings, JSON";
    case Kind::StringMap:
      return "map of name to string, JSON";
    case Kind::List:
    case Kind::Map: {
      std::string names;
      for (const Field& e : f.element->fields) names += (names.empty() ? "" : ", ") + e.name;
      return std::string(f.kind == Kind::List ? "list of {" : "map of name to {") + names +
             "}, JSON";
    }
    case Kind::Group:
      return "object";
  }
  return "string";
}

std::string valueText(const Field& f, void* target) {
  switch (f.kind) {
    case Kind::Bool:
      return as<bool>(target) ? "true" : "false";
    case Kind::Int:
      return std::to_string(as<int64_t>(target));
    case Kind::Double:
      return formatDouble(as<double>(target));
    case Kind::String:
      return "\"" + as<std::string>(target) + "\"";
    default:
      return compactJson(f, target);
  }
}

// The keys of a list or map element, as "path[].key" / "path.<name>.key".
void elementHelp(const Field& container, const std::string& path, std::string& text) {
  std::shared_ptr<void> defaults = container.element->make_default();
  for (const Field& e : container.element->fields) {
    std::string at = path + (container.kind == Kind::Map ? ".<name>." : "[].") + e.name;
    void* target = e.access(defaults.get());
    if (e.kind == Kind::Group) {
      for (const Field& g : e.element->fields) {
        text += "  " + at + "." + g.name + " (" + typeText(g) + ", default " +
                valueText(g, g.access(target)) + ")\n";
        text += "      " + g.help + "\n";
      }
      continue;
    }
    text += "  " + at + " (" + typeText(e) + ", default " + valueText(e, target) + ")\n";
    text += "      " + e.help + "\n";
    if (e.kind == Kind::List || e.kind == Kind::Map) elementHelp(e, at, text);
  }
}

}  // namespace

// ---------------------------------------------------------------- schema

Field& ConfigSchema::addSection(std::string name, config_detail::Access access) {
  Field f;
  f.name = std::move(name);
  f.kind = Kind::Group;
  f.access = std::move(access);
  f.element = std::make_shared<StructSchema>();
  root_.fields.push_back(std::move(f));
  flat_.clear();
  return root_.fields.back();
}

Config ConfigSchema::defaults() const {
  Config config;
  for (const auto& add : module_types_) add(config);
  return config;
}

const std::vector<ConfigSchema::FlatKey>& ConfigSchema::flat() const {
  if (!flat_.empty()) return flat_;
  // Depth first, in declaration order: the order of --check-config and --help.
  std::function<void(const StructSchema&, const std::string&, std::vector<const Field*>&)> walk =
      [&](const StructSchema& schema, const std::string& prefix, std::vector<const Field*>& chain) {
        for (const Field& f : schema.fields) {
          std::string path = prefix.empty() ? f.name : prefix + "." + f.name;
          chain.push_back(&f);
          if (f.kind == Kind::Group) {
            walk(*f.element, path, chain);
          } else {
            flat_.push_back({path, chain});
          }
          chain.pop_back();
        }
      };
  std::vector<const Field*> chain;
  walk(root_, "", chain);
  return flat_;
}

namespace {

void* resolve(const std::vector<const Field*>& chain, size_t depth, Config& config) {
  void* p = &config;
  for (size_t i = 0; i < depth; ++i) p = chain[i]->access(p);
  return p;
}

}  // namespace

const ConfigSchema::FlatKey* ConfigSchema::findKey(std::string_view path) const {
  for (const FlatKey& key : flat()) {
    if (key.path == path) return &key;
  }
  return nullptr;
}

std::string ConfigSchema::environmentName(std::string_view path) {
  std::string name(kEnvPrefix);
  for (char c : path) {
    name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

std::optional<ConfigError> ConfigSchema::applyJson(const std::string& json_text,
                                                   Config& out) const {
  rapidjson::Document doc;
  // parseJson rounds numbers exactly, so a double written by toJson reads
  // back equal, and bounds the depth of a file nobody checked.
  const JsonParseResult parsed = parseJson(json_text, doc);
  if (!parsed.ok()) {
    return ConfigError{std::string(kConfigJsonPath), "parse error " + parsed.describe()};
  }
  if (!doc.IsObject()) return ConfigError{std::string(kConfigJsonPath), "expected an object"};
  std::set<std::string> seen;
  return applyObject(root_, doc, "", &out, seen);
}

std::optional<ConfigError> ConfigSchema::applyAssignment(const std::string& path,
                                                         const std::string& value,
                                                         Config& out) const {
  const FlatKey* key = findKey(path);
  if (!key) return ConfigError{path, "unknown key"};
  return assignText(*key->chain.back(), value, path, resolve(key->chain, key->chain.size(), out));
}

std::optional<ConfigError> ConfigSchema::applyEnvironment(
    const std::map<std::string, std::string>& environment, Config& out) const {
  auto apply = [&](const FlatKey& key, const std::string& variable,
                   const std::string& value) -> std::optional<ConfigError> {
    if (auto error = assignText(*key.chain.back(), value, key.path,
                                resolve(key.chain, key.chain.size(), out))) {
      error->reason += " (from " + variable + ")";
      return error;
    }
    return std::nullopt;
  };
  // Scenario aliases first, so the REDGE_* name of the same key wins.
  for (const FlatKey& key : flat()) {
    const std::string& alias = key.chain.back()->env_alias;
    if (alias.empty()) continue;
    auto it = environment.find(alias);
    if (it == environment.end()) continue;
    if (auto error = apply(key, it->first, it->second)) return error;
  }
  for (const auto& [name, value] : environment) {
    if (!std::string_view(name).starts_with(kEnvPrefix)) continue;
    bool allowed = false;
    for (std::string_view prefix : kEnvAllowedPrefixes) {
      allowed = allowed || std::string_view(name).starts_with(prefix);
    }
    if (allowed) continue;
    const FlatKey* match = nullptr;
    for (const FlatKey& key : flat()) {
      if (environmentName(key.path) == name) {
        match = &key;
        break;
      }
    }
    // The variable name is what the operator typed; a dotted path cannot be
    // recovered from it (underscores are ambiguous), so the error names it.
    if (!match) return ConfigError{name, "unknown key"};
    if (auto error = apply(*match, name, value)) return error;
  }
  return std::nullopt;
}

std::optional<ConfigError> ConfigSchema::validate(const Config& config_in) const {
  // The accessors only form pointers; nothing here writes through them.
  Config& config = const_cast<Config&>(config_in);
  if (auto error = checkStruct(root_, "", &config)) return error;

  // Distinct ports, regardless of bind address: two listeners on one port
  // and different addresses are legal but 0.0.0.0 or :: overlaps every
  // address, and a clash found at bind time is a worse error than this one.
  // A port counts only while its section is enabled.
  std::vector<std::pair<const std::string*, int64_t>> ports;
  for (const auto& [path, port] : enabledPorts(config)) {
    if (port == kAnyPort) continue;
    for (const auto& [other_path, other_port] : ports) {
      if (other_port == port) {
        return ConfigError{*path,
                           "port " + std::to_string(port) + " is also used by " + *other_path};
      }
    }
    ports.emplace_back(path, port);
  }
  for (const Rule& rule : rules_) {
    if (auto error = rule(config_in, *this)) return error;
  }
  return std::nullopt;
}

std::optional<std::string> ConfigSchema::firstAnyPort(const Config& config_in) const {
  Config& config = const_cast<Config&>(config_in);  // read only, as in validate
  for (const auto& [path, port] : enabledPorts(config)) {
    if (port == kAnyPort) return *path;
  }
  return std::nullopt;
}

std::vector<std::pair<const std::string*, int64_t>> ConfigSchema::enabledPorts(
    Config& config) const {
  std::vector<std::pair<const std::string*, int64_t>> out;
  for (const FlatKey& key : flat()) {
    const Field& f = *key.chain.back();
    if (!f.port) continue;
    void* parent = resolve(key.chain, key.chain.size() - 1, config);
    const StructSchema& siblings =
        key.chain.size() >= 2 ? *key.chain[key.chain.size() - 2]->element : root_;
    bool enabled = true;
    for (const Field& s : siblings.fields) {
      if (s.kind == Kind::Bool && s.name == "enabled") enabled = as<bool>(s.access(parent));
    }
    if (enabled) out.emplace_back(&key.path, as<int64_t>(f.access(parent)));
  }
  return out;
}

std::string ConfigSchema::toJson(const Config& config_in) const {
  Config& config = const_cast<Config&>(config_in);  // read only, as in validate
  rapidjson::Document doc(rapidjson::kObjectType);
  toJsonStruct(root_, &config, doc, doc.GetAllocator());
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  doc.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::vector<std::string> ConfigSchema::changedPaths(const Config& a_in, const Config& b_in) const {
  // Read only, as in validate: resolve() forms pointers, nothing writes.
  Config& a = const_cast<Config&>(a_in);
  Config& b = const_cast<Config&>(b_in);
  std::vector<std::string> changed;
  for (const FlatKey& key : flat()) {
    const Field& f = *key.chain.back();
    if (compactJson(f, resolve(key.chain, key.chain.size(), a)) !=
        compactJson(f, resolve(key.chain, key.chain.size(), b))) {
      changed.push_back(key.path);
    }
  }
  return changed;
}

std::string ConfigSchema::keysHelp() const {
  std::string text;
  Config defaults_config = defaults();
  for (const FlatKey& key : flat()) {
    const Field& f = *key.chain.back();
    void* target = resolve(key.chain, key.chain.size(), defaults_config);
    text += "  " + key.path + " (" + typeText(f) + ", default " + valueText(f, target) + ")\n";
    text += "      " + f.help + "\n";
    text += "      env " + environmentName(key.path);
    if (!f.env_alias.empty()) text += " or " + f.env_alias;
    text += "\n";
    if (f.kind == Kind::List || f.kind == Kind::Map) elementHelp(f, key.path, text);
  }
  return text;
}

std::vector<std::string> ConfigSchema::paths() const {
  std::vector<std::string> out;
  for (const FlatKey& key : flat()) out.push_back(key.path);
  return out;
}

std::string ConfigSchema::pathOf(const Config& config_in, const void* member) const {
  Config& config = const_cast<Config&>(config_in);  // read only
  for (const FlatKey& key : flat()) {
    if (resolve(key.chain, key.chain.size(), config) == member) return key.path;
  }
  return "(unknown)";
}

}  // namespace redge
