// Helpers of the gateway's integration tests: reading a fake upstream's echo
// answer, and writing a gateway's settings.

#include "support/gateway_echo.hpp"

#include <rapidjson/document.h>

namespace redge_test {

std::vector<std::string> EchoedRequest::values(const std::string& header) const {
  std::vector<std::string> out;
  for (const auto& [name, value] : headers) {
    if (equalsIgnoreCase(name, header)) out.push_back(value);
  }
  return out;
}

EchoedRequest parseEcho(const std::string& body) {
  EchoedRequest e;
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("headers") ||
      !doc["headers"].IsArray()) {
    return e;
  }
  auto text = [&](const char* field) -> std::string {
    auto it = doc.FindMember(field);
    if (it == doc.MemberEnd() || !it->value.IsString()) return "";
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  e.name = text("name");
  e.method = text("method");
  e.target = text("target");
  e.body = text("body");
  if (doc.HasMember("body_bytes") && doc["body_bytes"].IsInt64()) {
    e.body_bytes = doc["body_bytes"].GetInt64();
  }
  for (const auto& h : doc["headers"].GetArray()) {
    if (!h.IsArray() || h.Size() != 2 || !h[0].IsString() || !h[1].IsString()) return e;
    e.headers.emplace_back(std::string(h[0].GetString(), h[0].GetStringLength()),
                           std::string(h[1].GetString(), h[1].GetStringLength()));
  }
  e.valid = true;
  return e;
}

std::string memberAddress(const FakeUpstreamProcess& upstream) {
  return "127.0.0.1:" + std::to_string(upstream.port());
}

std::vector<std::string> gatewaySettings(const std::string& routes, const std::string& pools,
                                         std::vector<std::string> extra) {
  std::vector<std::string> s = {"app.enabled=false", "gateway.enabled=true",
                                "gateway.routes=" + routes, "gateway.pools=" + pools};
  s.insert(s.end(), extra.begin(), extra.end());
  return s;
}

std::string poolJson(const std::vector<const FakeUpstreamProcess*>& members, int interval_ms,
                     const std::string& more) {
  std::string json = "{\"members\": [";
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) json += ", ";
    json += "{\"address\": \"" + memberAddress(*members[i]) + "\"}";
  }
  json += "], \"health\": ";
  if (interval_ms > 0) {
    json += "{\"interval_ms\": " + std::to_string(interval_ms) +
            ", \"timeout_ms\": " + std::to_string(interval_ms) + "}";
  } else {
    json += "{\"enabled\": false}";
  }
  if (!more.empty()) json += ", " + more;
  return json + "}";
}

std::string cachedRoute(const std::string& cache_json) {
  return R"([{"prefix": "/", "pool": "web", "cache": )" + cache_json + "}]";
}

std::string webPool(const FakeUpstreamProcess& upstream) {
  return "{\"web\": {\"members\": [{\"address\": \"" + memberAddress(upstream) +
         "\"}], \"health\": {\"enabled\": false}}}";
}

}  // namespace redge_test
