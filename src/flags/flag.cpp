// The flag model's JSON: validation of what an operator writes, reading of
// what redge stored, and the two ways it is written back (the body the store
// script completes, and the answer the admin API and the CLI print).

#include "flags/flag.hpp"

#include <charconv>
#include <cmath>
#include <ctime>
#include <set>

#include "core/json_parse.hpp"

namespace redge {
namespace {

bool nameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// A header or cookie name: an HTTP token, which is what can appear there.
bool tokenChar(char c) {
  if (nameChar(c)) return true;
  std::string_view extra = "!#$%&'*+^`|~";
  return extra.find(c) != std::string_view::npos;
}

std::string_view sv(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

std::string jsonType(const rapidjson::Value& v) {
  if (v.IsString()) return "string";
  if (v.IsNumber()) return "number";
  if (v.IsBool()) return "boolean";
  if (v.IsObject()) return "object";
  if (v.IsArray()) return "array";
  return "null";
}

// Writes a parsed value through JsonWriter, whose strings are always valid
// UTF-8; parseJson bounded the depth.
void writeValue(JsonWriter& w, const rapidjson::Value& v) {
  if (v.IsObject()) {
    w.startObject();
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      w.key(sv(it->name));
      writeValue(w, it->value);
    }
    w.endObject();
  } else if (v.IsArray()) {
    w.startArray();
    for (const auto& e : v.GetArray()) writeValue(w, e);
    w.endArray();
  } else if (v.IsString()) {
    w.string(sv(v));
  } else if (v.IsBool()) {
    w.boolean(v.GetBool());
  } else if (v.IsInt64()) {
    w.integer(v.GetInt64());
  } else if (v.IsNumber()) {
    w.rawValue(formatNumber(v.GetDouble()));
  } else {
    w.null();
  }
}

class FlagReader {
 public:
  FlagReader(std::string_view name, bool stored) : name_(name), stored_(stored) {}

  FlagParse read(const rapidjson::Value& root) {
    FlagParse out;
    if (!root.IsObject()) return fail(out, "(body)", "must be a JSON object");
    Flag flag;
    flag.name = std::string(name_);
    bool has_default_variant = false;
    std::set<std::string, std::less<>> seen;
    for (auto it = root.MemberBegin(); it != root.MemberEnd(); ++it) {
      std::string key(sv(it->name));
      const rapidjson::Value& v = it->value;
      if (!seen.insert(key).second) return fail(out, key, "appears twice");
      if (key == "name") {
        if (!v.IsString()) return fail(out, key, "must be a string");
        if (sv(v) != name_) {
          return fail(out, key, "must be the name in the URL (\"" + std::string(name_) + "\")");
        }
      } else if (key == "enabled") {
        if (!v.IsBool()) return fail(out, key, "must be true or false");
        flag.enabled = v.GetBool();
      } else if (key == "rollout") {
        if (!v.IsNumber() || v.GetDouble() < 0 || v.GetDouble() > 100) {
          return fail(out, key, "must be a number from 0 to 100 (percent of users)");
        }
        flag.rollout = v.GetDouble();
      } else if (key == "stickiness") {
        std::optional<Stickiness> s = v.IsString() ? parseStickiness(sv(v)) : std::nullopt;
        if (!s) {
          return fail(out, key,
                      "must be \"client_address\", \"header:<name>\" or \"cookie:<name>\"");
        }
        flag.stickiness = *s;
      } else if (key == "targets") {
        if (!readTargets(v, flag, out)) return out;
      } else if (key == "variants") {
        if (!readVariants(v, flag, out)) return out;
      } else if (key == "default_variant") {
        if (!v.IsString()) return fail(out, key, "must be a string naming one of the variants");
        flag.default_variant = std::string(sv(v));
        has_default_variant = true;
      } else if (key == "description") {
        if (!v.IsString() || v.GetStringLength() > kMaxFlagDescriptionLength) {
          return fail(out, key, "must be a string of at most 1024 bytes");
        }
        flag.description = std::string(sv(v));
      } else if (key == "updated_by") {
        if (stored_) {
          if (!v.IsString()) return fail(out, key, "must be a string");
          flag.updated_by = std::string(sv(v));
        }
      } else if (key == "updated_at") {
        if (stored_) {
          if (!v.IsInt64()) return fail(out, key, "must be an integer");
          flag.updated_at_ms = v.GetInt64();
        }
      } else if (key == "version") {
        if (stored_) {
          if (!v.IsInt64()) return fail(out, key, "must be an integer");
          flag.version = v.GetInt64();
        }
      } else {
        return fail(out, key,
                    "is not a flag field (name, enabled, rollout, stickiness, targets, variants, "
                    "default_variant, description)");
      }
    }
    if (!flag.variants.empty()) {
      if (!has_default_variant) {
        return fail(out, "default_variant",
                    "is required with variants: it is what the flag serves while off");
      }
      if (flag.variant(flag.default_variant) == nullptr) {
        return fail(out, "default_variant", "must name one of the variants");
      }
    } else if (has_default_variant && !flag.default_variant.empty()) {
      return fail(out, "default_variant", "needs variants to choose from");
    }
    out.flag = std::move(flag);
    return out;
  }

 private:
  static FlagParse& fail(FlagParse& out, std::string field, std::string reason) {
    out.flag.reset();
    out.error = {std::move(field), std::move(reason)};
    return out;
  }

  bool readTargets(const rapidjson::Value& v, Flag& flag, FlagParse& out) {
    if (!v.IsArray() || v.Size() > kMaxFlagTargets) {
      fail(out, "targets", "must be an array of at most 1000 strings (stickiness values)");
      return false;
    }
    std::set<std::string, std::less<>> seen;
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      const rapidjson::Value& t = v[i];
      std::string at = "targets[" + std::to_string(i) + "]";
      if (!t.IsString() || t.GetStringLength() == 0 || t.GetStringLength() > kMaxFlagTargetLength) {
        fail(out, at, "must be a string of 1 to 256 bytes");
        return false;
      }
      if (!seen.insert(std::string(sv(t))).second) {
        fail(out, at, "is listed twice");
        return false;
      }
      flag.targets.emplace_back(sv(t));
    }
    return true;
  }

  bool readVariants(const rapidjson::Value& v, Flag& flag, FlagParse& out) {
    if (!v.IsArray() || v.Size() > kMaxFlagVariants) {
      fail(out, "variants", "must be an array of at most 64 variant objects");
      return false;
    }
    std::string first_type;
    int64_t total = 0;
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      const rapidjson::Value& e = v[i];
      std::string at = "variants[" + std::to_string(i) + "]";
      if (!e.IsObject()) {
        fail(out, at, "must be an object {\"name\", \"weight\", \"value\"}");
        return false;
      }
      FlagVariant variant;
      bool has_value = false;
      for (auto it = e.MemberBegin(); it != e.MemberEnd(); ++it) {
        std::string key(sv(it->name));
        const rapidjson::Value& m = it->value;
        if (key == "name") {
          if (!m.IsString() || checkFlagName(sv(m))) {
            fail(out, at + ".name", "must be 1 to 128 of A-Z a-z 0-9 . _ -");
            return false;
          }
          variant.name = std::string(sv(m));
        } else if (key == "weight") {
          if (!m.IsInt64() || m.GetInt64() < 0 || m.GetInt64() > kMaxVariantWeight) {
            fail(out, at + ".weight", "must be an integer from 0 to 1000000");
            return false;
          }
          variant.weight = m.GetInt64();
        } else if (key == "value") {
          if (m.IsNull()) {
            fail(out, at + ".value", "may not be null");
            return false;
          }
          std::string type = jsonType(m);
          if (!first_type.empty() && type != first_type) {
            fail(out, at + ".value",
                 "must be a " + first_type +
                     " like the other variants' values (a client asks "
                     "for one type)");
            return false;
          }
          first_type = type;
          JsonWriter w(variant.value_json);
          writeValue(w, m);
          has_value = true;
        } else {
          fail(out, at + "." + key, "is not a variant field (name, weight, value)");
          return false;
        }
      }
      if (variant.name.empty()) {
        fail(out, at + ".name", "is required");
        return false;
      }
      if (flag.variant(variant.name) != nullptr) {
        fail(out, at + ".name", "is used by another variant");
        return false;
      }
      if (!has_value) {
        // The name is the value: the common string-variant case stays short.
        if (!first_type.empty() && first_type != "string") {
          fail(out, at + ".value", "is required when the other variants' values are not strings");
          return false;
        }
        first_type = "string";
        JsonWriter w(variant.value_json);
        w.string(variant.name);
      }
      total += variant.weight;
      flag.variants.push_back(std::move(variant));
    }
    if (!flag.variants.empty() && total == 0) {
      fail(out, "variants", "need at least one variant with a weight above 0");
      return false;
    }
    return true;
  }

  std::string_view name_;
  bool stored_;
};

void writeCommon(const Flag& flag, JsonWriter& w) {
  w.key("name").string(flag.name);
  w.key("enabled").boolean(flag.enabled);
  w.key("rollout").rawValue(formatNumber(flag.rollout));
  w.key("stickiness").string(flag.stickiness.text());
  w.key("targets").startArray();
  for (const auto& t : flag.targets) w.string(t);
  w.endArray();
  w.key("variants").startArray();
  for (const auto& v : flag.variants) {
    w.startObject();
    w.key("name").string(v.name);
    w.key("weight").integer(v.weight);
    w.key("value").rawValue(v.value_json);
    w.endObject();
  }
  w.endArray();
  if (!flag.variants.empty()) w.key("default_variant").string(flag.default_variant);
  w.key("description").string(flag.description);
  w.key("updated_by").string(flag.updated_by);
}

}  // namespace

std::string Stickiness::text() const {
  switch (source) {
    case StickinessSource::Header:
      return "header:" + name;
    case StickinessSource::Cookie:
      return "cookie:" + name;
    case StickinessSource::ClientAddress:
      break;
  }
  return "client_address";
}

const FlagVariant* Flag::variant(std::string_view variant_name) const {
  for (const auto& v : variants) {
    if (v.name == variant_name) return &v;
  }
  return nullptr;
}

std::optional<std::string> checkFlagName(std::string_view name) {
  if (name.empty() || name.size() > kMaxFlagNameLength) {
    return "a flag name is 1 to 128 characters";
  }
  for (char c : name) {
    if (!nameChar(c)) return "a flag name may hold only A-Z a-z 0-9 . _ -";
  }
  return std::nullopt;
}

std::optional<Stickiness> parseStickiness(std::string_view text) {
  Stickiness s;
  if (text == "client_address") return s;
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view kind = text.substr(0, colon), name = text.substr(colon + 1);
  if (name.empty() || name.size() > 128) return std::nullopt;
  for (char c : name) {
    if (!tokenChar(c)) return std::nullopt;
  }
  if (kind == "header") {
    s.source = StickinessSource::Header;
  } else if (kind == "cookie") {
    s.source = StickinessSource::Cookie;
  } else {
    return std::nullopt;
  }
  s.name = std::string(name);
  return s;
}

std::string FlagError::message() const {
  if (field == "(body)") return "The flag " + reason + ".";
  return "The flag's " + field + " " + reason + ".";
}

FlagParse parseFlagSpec(std::string_view name, const rapidjson::Value& value) {
  return FlagReader(name, false).read(value);
}

FlagParse parseFlagSpec(std::string_view name, std::string_view json) {
  FlagParse out;
  if (json.size() > kMaxFlagJsonBytes) {
    out.error = {"(body)", "is larger than 65536 bytes"};
    return out;
  }
  rapidjson::Document doc;
  JsonParseResult parsed = parseJson(json, doc);
  if (!parsed.ok()) {
    out.error = {"(body)", "is not valid JSON (" + parsed.describe() + ")"};
    return out;
  }
  return parseFlagSpec(name, doc);
}

std::optional<Flag> parseStoredFlag(const rapidjson::Value& value) {
  if (!value.IsObject()) return std::nullopt;
  auto name = value.FindMember("name");
  if (name == value.MemberEnd() || !name->value.IsString() || checkFlagName(sv(name->value))) {
    return std::nullopt;
  }
  FlagParse p = FlagReader(sv(name->value), true).read(value);
  return std::move(p.flag);
}

std::optional<Flag> parseStoredFlag(std::string_view json) {
  rapidjson::Document doc;
  if (!parseJson(json, doc).ok()) return std::nullopt;
  return parseStoredFlag(doc);
}

std::string flagBodyJson(const Flag& flag) {
  std::string out;
  JsonWriter w(out);
  w.startObject();
  writeCommon(flag, w);
  w.endObject();
  return out;
}

void writeFlagJson(const Flag& flag, JsonWriter& w) {
  w.startObject();
  writeCommon(flag, w);
  if (flag.updated_at_ms > 0) {
    w.key("updated_at").string(formatTimestampMs(flag.updated_at_ms));
  } else {
    w.key("updated_at").null();
  }
  w.key("version").integer(flag.version);
  w.endObject();
}

std::string flagJson(const Flag& flag) {
  std::string out;
  JsonWriter w(out);
  writeFlagJson(flag, w);
  return out;
}

std::string formatNumber(double value) {
  if (!std::isfinite(value)) return "0";
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "0";
  return std::string(buf, ptr);
}

std::string formatTimestampMs(int64_t ms) {
  time_t s = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  gmtime_r(&s, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[8];
  snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(buf, n) + frac;
}

}  // namespace redge
