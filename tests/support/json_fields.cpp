// JSON body checks for the integration tests, parsed with RapidJSON rather
// than substring matches so a malformed body cannot pass by accident.

#include "support/json_fields.hpp"

#include <rapidjson/document.h>

namespace redge_test {
namespace {

bool parseObject(const std::string& body, rapidjson::Document& doc) {
  doc.Parse(body.c_str(), body.size());
  return !doc.HasParseError() && doc.IsObject();
}

}  // namespace

std::optional<std::string> jsonString(const std::string& body, const char* field) {
  rapidjson::Document doc;
  if (!parseObject(body, doc)) return std::nullopt;
  auto it = doc.FindMember(field);
  if (it == doc.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<int64_t> jsonInt(const std::string& body, const char* field) {
  rapidjson::Document doc;
  if (!parseObject(body, doc)) return std::nullopt;
  auto it = doc.FindMember(field);
  if (it == doc.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}

std::optional<std::vector<std::string>> jsonStringArray(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsArray()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : doc.GetArray()) {
    if (!v.IsString()) return std::nullopt;
    out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return out;
}

std::string errorCode(const std::string& body) {
  if (!jsonString(body, "message")) return {};
  return jsonString(body, "error").value_or("");
}

}  // namespace redge_test
