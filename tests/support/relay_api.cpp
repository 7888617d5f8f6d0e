// Client side of the relay's HTTP API for the integration tests: building
// requests, and reading message records and stats back with RapidJSON, so a
// test checks fields and types rather than substrings.

#include "support/relay_api.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <thread>

namespace redge_test {
namespace {

bool stringMember(const rapidjson::Value& o, const char* name, std::string& out) {
  auto it = o.FindMember(name);
  if (it == o.MemberEnd() || !it->value.IsString()) return false;
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return true;
}

bool intMember(const rapidjson::Value& o, const char* name, int64_t& out) {
  auto it = o.FindMember(name);
  if (it == o.MemberEnd() || !it->value.IsInt64()) return false;
  out = it->value.GetInt64();
  return true;
}

bool boolMember(const rapidjson::Value& o, const char* name, bool& out) {
  auto it = o.FindMember(name);
  if (it == o.MemberEnd() || !it->value.IsBool()) return false;
  out = it->value.GetBool();
  return true;
}

const rapidjson::Value* objectMember(const rapidjson::Value& o, const char* name) {
  auto it = o.FindMember(name);
  if (it == o.MemberEnd() || !it->value.IsObject()) return nullptr;
  return &it->value;
}

bool countsMember(const rapidjson::Value& o, const char* name,
                  std::map<std::string, int64_t>& out) {
  const rapidjson::Value* counts = objectMember(o, name);
  if (!counts) return false;
  for (auto m = counts->MemberBegin(); m != counts->MemberEnd(); ++m) {
    if (!m->value.IsInt64()) return false;
    out[std::string(m->name.GetString(), m->name.GetStringLength())] = m->value.GetInt64();
  }
  return true;
}

std::string toText(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

RelayMessage readMessage(const rapidjson::Value& o) {
  RelayMessage m;
  if (!o.IsObject()) return m;
  m.raw = toText(o);
  bool ok = stringMember(o, "id", m.id) && stringMember(o, "destination", m.destination) &&
            stringMember(o, "body", m.body) && stringMember(o, "status", m.status) &&
            intMember(o, "attempts", m.attempts) && intMember(o, "created_at", m.created_at) &&
            intMember(o, "updated_at", m.updated_at);
  auto err = o.FindMember("last_error");
  if (err == o.MemberEnd()) {
    ok = false;
  } else if (err->value.IsObject()) {
    m.has_error = true;
    ok = ok && stringMember(err->value, "kind", m.error_kind) &&
         stringMember(err->value, "detail", m.error_detail);
  } else if (!err->value.IsNull()) {
    ok = false;
  }
  m.valid = ok;
  return m;
}

}  // namespace

std::vector<std::string> relaySettings(const FakeUpstreamProcess& upstream,
                                       std::vector<std::string> extra) {
  std::vector<std::string> out = {"relay.enabled=true",
                                  "relay.upstream_url=" + upstream.messageUrl()};
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::string messageJson(const std::string& destination, const std::string& body) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("destination");
  writer.String(destination.data(), static_cast<rapidjson::SizeType>(destination.size()));
  writer.Key("body");
  writer.String(body.data(), static_cast<rapidjson::SizeType>(body.size()));
  writer.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

HttpReply postMessage(const RedgeProcess& redge, const std::string& destination,
                      const std::string& body, const std::string& idempotency_key) {
  HeaderList headers = {"Content-Type: application/json"};
  if (!idempotency_key.empty()) headers.push_back("Idempotency-Key: " + idempotency_key);
  return httpPost(redge.appUrl("/messages"), messageJson(destination, body), headers);
}

RelayMessageReply getMessage(const RedgeProcess& redge, const std::string& id) {
  RelayMessageReply out;
  HttpReply r = httpGet(redge.appUrl("/messages/" + id));
  out.status_code = r.status;
  out.body = r.body;
  if (r.status != 200) return out;
  rapidjson::Document doc;
  doc.Parse(r.body.c_str(), r.body.size());
  if (!doc.HasParseError()) out.message = readMessage(doc);
  return out;
}

std::optional<std::vector<RelayMessage>> parseMessageList(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  auto it = doc.FindMember("messages");
  if (it == doc.MemberEnd() || !it->value.IsArray()) return std::nullopt;
  std::vector<RelayMessage> out;
  for (const auto& v : it->value.GetArray()) {
    RelayMessage m = readMessage(v);
    if (!m.valid) return std::nullopt;
    out.push_back(std::move(m));
  }
  return out;
}

int64_t RelayStats::status(const std::string& name) const {
  auto it = by_status.find(name);
  return it == by_status.end() ? 0 : it->second;
}

int64_t RelayStats::failures(const std::string& kind) const {
  auto it = failures_by_kind.find(kind);
  return it == failures_by_kind.end() ? 0 : it->second;
}

RelayStats relayStats(const RedgeProcess& redge) {
  RelayStats s;
  HttpReply r = httpGet(redge.appUrl("/messages/stats"));
  s.raw = r.body;
  if (r.status != 200) return s;
  rapidjson::Document doc;
  doc.Parse(r.body.c_str(), r.body.size());
  if (doc.HasParseError() || !doc.IsObject()) return s;
  bool ok = intMember(doc, "queue_depth", s.queue_depth) && intMember(doc, "ready", s.ready) &&
            intMember(doc, "held_by_breaker", s.held_by_breaker) &&
            intMember(doc, "in_flight", s.in_flight) &&
            intMember(doc, "processing", s.processing) &&
            intMember(doc, "retry_scheduled", s.retry_scheduled);
  const rapidjson::Value* gate = objectMember(doc, "gate");
  ok = ok && gate && boolMember(*gate, "accepting", s.accepting) &&
       intMember(*gate, "max", s.gate_max) && intMember(*gate, "recovery", s.gate_recovery);
  const rapidjson::Value* breaker = objectMember(doc, "breaker");
  ok = ok && breaker && stringMember(*breaker, "state", s.breaker_state) &&
       intMember(*breaker, "remaining_open_ms", s.remaining_open_ms) &&
       intMember(*breaker, "opened_total", s.opened_total) &&
       intMember(*breaker, "rejected_total", s.rejected_total);
  ok = ok && countsMember(doc, "by_status", s.by_status) &&
       countsMember(doc, "failures_by_kind", s.failures_by_kind);
  s.valid = ok;
  return s;
}

SettledMessages waitForSettled(const RedgeProcess& redge, const std::vector<std::string>& ids,
                               std::chrono::milliseconds timeout) {
  SettledMessages out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    out.pending.clear();
    for (const auto& id : ids) {
      RelayMessage& m = out.records[id];
      if (m.status == "sent" || m.status == "failed") continue;  // final stays final
      RelayMessageReply r = getMessage(redge, id);
      if (r.status_code == 200) m = r.message;
      if (m.status != "sent" && m.status != "failed") {
        out.pending += id + "=" + (m.status.empty() ? "?" : m.status) + " ";
      }
    }
    out.settled = out.pending.empty();
    if (out.settled || std::chrono::steady_clock::now() >= deadline) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::vector<std::string> logLinesWith(const std::string& log, const std::string& needle,
                                      size_t from) {
  std::vector<std::string> out;
  size_t at = from;
  while ((at = log.find(needle, at)) != std::string::npos) {
    size_t start = log.rfind('\n', at);
    start = start == std::string::npos ? 0 : start + 1;
    size_t end = log.find('\n', at);
    if (end == std::string::npos) break;  // still being written
    out.push_back(log.substr(start, end - start));
    at = end;
  }
  return out;
}

std::string logfmtValue(const std::string& line, const std::string& key) {
  std::string marker = key + "=";
  size_t at = 0;
  while ((at = line.find(marker, at)) != std::string::npos) {
    if (at == 0 || line[at - 1] == ' ') {
      size_t begin = at + marker.size();
      size_t end = line.find(' ', begin);
      return line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
    }
    at += marker.size();
  }
  return {};
}

}  // namespace redge_test
