// Parsing the registry's messages (see the header). The hash keeps every
// field as a string, so numbers arrive as strings; a number is accepted too,
// which is what cjson writes for seq.

#include "services/discovery/registry_messages.hpp"

#include <charconv>

#include "core/json_escape.hpp"
#include "core/json_parse.hpp"

namespace redge {
namespace {

bool readInt(const rapidjson::Value& v, int64_t& out) {
  if (v.IsInt64()) {
    out = v.GetInt64();
    return true;
  }
  if (v.IsDouble()) {  // cjson writes large integers in floating form
    double d = v.GetDouble();
    if (d < -9.2e18 || d > 9.2e18) return false;
    out = static_cast<int64_t>(d);
    return true;
  }
  if (!v.IsString()) return false;
  const char* s = v.GetString();
  const char* end = s + v.GetStringLength();
  auto [ptr, ec] = std::from_chars(s, end, out);
  return ec == std::errc() && ptr == end;
}

bool memberString(const rapidjson::Value& obj, const char* name, std::string& out) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return false;
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

// Missing numbers read as 0: an older writer may not have every field.
bool memberInt(const rapidjson::Value& obj, const char* name, int64_t& out) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) {
    out = 0;
    return true;
  }
  return readInt(it->value, out);
}

bool readInstance(const rapidjson::Value& v, InstanceRecord& r) {
  if (!v.IsObject()) return false;
  if (!memberString(v, "id", r.id) || r.id.empty()) return false;
  if (!memberString(v, "service", r.service)) return false;
  if (!memberString(v, "address", r.address)) return false;
  std::string tags;
  memberString(v, "tags", tags);
  r.tags = splitTags(tags);
  memberString(v, "version", r.version);
  memberString(v, "host", r.host);
  return memberInt(v, "pid", r.pid) && memberInt(v, "lease_ms", r.lease_ms) &&
         memberInt(v, "started_at", r.started_at_ms) &&
         memberInt(v, "heartbeat_at", r.heartbeat_at_ms) &&
         memberInt(v, "expires_at", r.expires_at_ms);
}

bool parseObjectText(std::string_view json, rapidjson::Document& doc) {
  return parseJson(json, doc).ok() && doc.IsObject();
}

}  // namespace

std::string_view changeOpName(ChangeOp op) {
  switch (op) {
    case ChangeOp::Added:
      return "added";
    case ChangeOp::Updated:
      return "updated";
    case ChangeOp::Removed:
      return "removed";
  }
  return "unknown";
}

std::optional<RegistryMessage> parseRegistryMessage(std::string_view json) {
  rapidjson::Document doc;
  if (!parseObjectText(json, doc)) return std::nullopt;
  RegistryMessage m;
  auto seq = doc.FindMember("seq");
  if (seq == doc.MemberEnd() || !readInt(seq->value, m.seq) || m.seq <= 0) return std::nullopt;
  std::string op;
  if (!memberString(doc, "op", op)) return std::nullopt;
  if (op == "added") {
    m.op = ChangeOp::Added;
  } else if (op == "updated") {
    m.op = ChangeOp::Updated;
  } else if (op == "removed") {
    m.op = ChangeOp::Removed;
  } else {
    return std::nullopt;
  }
  if (!memberString(doc, "id", m.id) || m.id.empty()) return std::nullopt;
  memberString(doc, "reason", m.reason);
  auto inst = doc.FindMember("instance");
  if (inst != doc.MemberEnd()) {
    InstanceRecord r;
    if (!readInstance(inst->value, r) || r.id != m.id) return std::nullopt;
    m.instance = std::move(r);
  }
  if (m.op != ChangeOp::Removed && !m.instance) return std::nullopt;
  return m;
}

std::optional<RegistryLoad> parseRegistryLoad(std::string_view json) {
  rapidjson::Document doc;
  if (!parseObjectText(json, doc)) return std::nullopt;
  RegistryLoad load;
  auto seq = doc.FindMember("seq");
  if (seq == doc.MemberEnd() || !readInt(seq->value, load.seq) || load.seq < 0) {
    return std::nullopt;
  }
  auto list = doc.FindMember("instances");
  if (list == doc.MemberEnd()) return std::nullopt;
  if (list->value.IsObject() && list->value.MemberCount() == 0) return load;  // cjson's empty table
  if (!list->value.IsArray()) return std::nullopt;
  for (const auto& v : list->value.GetArray()) {
    InstanceRecord r;
    if (!readInstance(v, r)) return std::nullopt;
    load.instances.push_back(std::move(r));
  }
  return load;
}

std::optional<ControlMessage> parseControlMessage(std::string_view json) {
  rapidjson::Document doc;
  if (!parseObjectText(json, doc)) return std::nullopt;
  ControlMessage m;
  if (!memberString(doc, "op", m.op) || !memberString(doc, "id", m.id)) return std::nullopt;
  return m;
}

std::optional<InstanceRecord> parseInstanceRecord(std::string_view json) {
  rapidjson::Document doc;
  InstanceRecord r;
  if (!parseObjectText(json, doc) || !readInstance(doc, r)) return std::nullopt;
  return r;
}

std::string encodeRegistryMessage(const RegistryMessage& m) {
  std::string out = "{\"seq\":" + std::to_string(m.seq) + ",\"op\":";
  appendJsonString(out, changeOpName(m.op));
  out.append(",\"reason\":");
  appendJsonString(out, m.reason);
  out.append(",\"id\":");
  appendJsonString(out, m.id);
  if (m.instance) {
    const InstanceRecord& r = *m.instance;
    // As the hash keeps them: every field a string.
    auto field = [&out](const char* name, std::string_view value) {
      out.append(",\"").append(name).append("\":");
      appendJsonString(out, value);
    };
    out.append(",\"instance\":{\"id\":");
    appendJsonString(out, r.id);
    field("service", r.service);
    field("address", r.address);
    field("tags", joinTags(r.tags));
    field("version", r.version);
    field("host", r.host);
    field("pid", std::to_string(r.pid));
    field("lease_ms", std::to_string(r.lease_ms));
    field("started_at", std::to_string(r.started_at_ms));
    field("heartbeat_at", std::to_string(r.heartbeat_at_ms));
    field("expires_at", std::to_string(r.expires_at_ms));
    out.append("}");
  }
  out.append("}");
  return out;
}

}  // namespace redge
