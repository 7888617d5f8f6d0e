// InstanceRecord's checks and its JSON form (see the header).

#include "services/discovery/instance_record.hpp"

#include "core/json_escape.hpp"
#include "core/uri.hpp"

namespace redge {
namespace {

constexpr size_t kMaxNameBytes = 64;

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

std::optional<std::string> checkChars(const std::string& value, bool tag) {
  if (value.empty() || value.size() > kMaxNameBytes) {
    return "must be 1 to " + std::to_string(kMaxNameBytes) + " characters";
  }
  for (char c : value) {
    if (isNameChar(c) || (tag && (c == ':' || c == '=' || c == '/'))) continue;
    return tag ? std::string("may hold only letters, digits and _ . - : = /")
               : std::string("may hold only letters, digits and _ . -");
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> checkServiceName(const std::string& value) {
  return checkChars(value, false);
}

std::optional<std::string> checkInstanceId(const std::string& value) {
  if (value.empty()) return std::nullopt;  // the key's default: generated
  if (auto reason = checkChars(value, false)) return reason;
  // <prefix>instances:<id> must not be one of the registry's own keys.
  for (std::string_view reserved : {"leases", "changes", "control", "seq"}) {
    if (value == reserved) return "'" + value + "' names one of the registry's own keys";
  }
  return std::nullopt;
}

std::optional<std::string> checkTag(const std::string& value) {
  return checkChars(value, true);
}

std::optional<std::string> checkAdvertise(const std::string& value) {
  if (value.empty()) return std::nullopt;
  std::string host;
  int port = 0;
  std::string error = parseHostPort(value, host, port);
  if (!error.empty()) return error;
  if (host.empty()) return std::string("expected host:port");
  if (port < 1 || port > 65535) return std::string("expected host:port with a port of 1 to 65535");
  return std::nullopt;
}

int addressPort(std::string_view address) {
  std::string host;
  int port = 0;
  if (!parseHostPort(address, host, port).empty()) return 0;
  return port;
}

std::string joinTags(const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) {
    if (!out.empty()) out.push_back(',');
    out.append(t);
  }
  return out;
}

std::vector<std::string> splitTags(std::string_view joined) {
  std::vector<std::string> out;
  while (!joined.empty()) {
    size_t comma = joined.find(',');
    std::string_view tag = joined.substr(0, comma);
    if (!tag.empty()) out.emplace_back(tag);
    if (comma == std::string_view::npos) break;
    joined.remove_prefix(comma + 1);
  }
  return out;
}

void appendInstanceFields(std::string& out, const InstanceRecord& r) {
  out.append("\"id\":");
  appendJsonString(out, r.id);
  out.append(",\"service\":");
  appendJsonString(out, r.service);
  out.append(",\"address\":");
  appendJsonString(out, r.address);
  out.append(",\"tags\":[");
  for (size_t i = 0; i < r.tags.size(); ++i) {
    if (i) out.push_back(',');
    appendJsonString(out, r.tags[i]);
  }
  out.append("],\"version\":");
  appendJsonString(out, r.version);
  out.append(",\"host\":");
  appendJsonString(out, r.host);
  out.append(",\"pid\":").append(std::to_string(r.pid));
  out.append(",\"lease_ms\":").append(std::to_string(r.lease_ms));
  out.append(",\"started_at\":").append(std::to_string(r.started_at_ms));
  out.append(",\"heartbeat_at\":").append(std::to_string(r.heartbeat_at_ms));
  out.append(",\"expires_at\":").append(std::to_string(r.expires_at_ms));
}

}  // namespace redge
