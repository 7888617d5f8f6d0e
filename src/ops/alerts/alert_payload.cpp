// The Alertmanager v4 webhook payload builder (see the header for the shape).

#include "ops/alerts/alert_payload.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>

#include "core/json_writer.hpp"

namespace redge {
namespace {

void writeStringMap(JsonWriter& w, const std::map<std::string, std::string>& m) {
  w.startObject();
  for (const auto& [k, v] : m) w.key(k).string(v);
  w.endObject();
}

}  // namespace

std::string formatRfc3339(int64_t wall_ms) {
  time_t secs = static_cast<time_t>(wall_ms / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(wall_ms % 1000));
  return buf;
}

std::string jsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string alertPayloadStatus(const std::vector<const Alert*>& alerts) {
  for (const Alert* a : alerts) {
    if (!a->resolved && a->state == AlertState::Firing) return "firing";
  }
  return "resolved";
}

std::string buildAlertmanagerPayload(const AlertPayloadInput& in) {
  // Labels and annotations every alert shares, with the same value.
  std::map<std::string, std::string> common_labels;
  std::map<std::string, std::string> common_annotations;
  for (size_t i = 0; i < in.alerts.size(); ++i) {
    const Alert& a = *in.alerts[i];
    std::map<std::string, std::string> labels(a.labels.begin(), a.labels.end());
    if (i == 0) {
      common_labels = labels;
      common_annotations = a.annotations;
      continue;
    }
    for (auto it = common_labels.begin(); it != common_labels.end();) {
      auto f = labels.find(it->first);
      it = f == labels.end() || f->second != it->second ? common_labels.erase(it) : ++it;
    }
    for (auto it = common_annotations.begin(); it != common_annotations.end();) {
      auto f = a.annotations.find(it->first);
      it =
          f == a.annotations.end() || f->second != it->second ? common_annotations.erase(it) : ++it;
    }
  }
  std::string out;
  JsonWriter w(out);
  w.startObject();
  w.key("version").string("4");
  w.key("groupKey").string("{}:{alertname=\"" + in.rule_name + "\"}");
  w.key("truncatedAlerts").integer(0);
  w.key("status").string(alertPayloadStatus(in.alerts));
  w.key("receiver").string(in.receiver);
  w.key("groupLabels").startObject().key("alertname").string(in.rule_name).endObject();
  w.key("commonLabels");
  writeStringMap(w, common_labels);
  w.key("commonAnnotations");
  writeStringMap(w, common_annotations);
  w.key("externalURL").string(in.external_url);
  w.key("alerts").startArray();
  for (const Alert* a : in.alerts) {
    bool firing = !a->resolved && a->state == AlertState::Firing;
    w.startObject();
    w.key("status").string(firing ? "firing" : "resolved");
    w.key("labels").startObject();
    for (const auto& [k, v] : a->labels) w.key(k).string(v);
    w.endObject();
    w.key("annotations");
    writeStringMap(w, a->annotations);
    int64_t starts = a->fired_ms >= 0 ? a->fired_ms : a->active_since_ms;
    w.key("startsAt").string(formatRfc3339(in.to_wall_ms(starts)));
    w.key("endsAt").string(firing ? "0001-01-01T00:00:00Z"
                                  : formatRfc3339(in.to_wall_ms(a->resolved_ms)));
    w.key("generatorURL").string("");
    w.key("fingerprint").string(a->fingerprint);
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return out;
}

std::string notificationIdentity(std::string_view payload) {
  rapidjson::Document d;
  d.Parse(payload.data(), payload.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("alerts") || !d["alerts"].IsArray()) {
    return {};
  }
  auto text = [](const rapidjson::Value& o, const char* name) -> std::string {
    if (!o.IsObject()) return {};
    auto it = o.FindMember(name);
    return it != o.MemberEnd() && it->value.IsString()
               ? std::string(it->value.GetString(), it->value.GetStringLength())
               : std::string();
  };
  std::vector<std::string> alerts;
  for (const auto& a : d["alerts"].GetArray()) {
    alerts.push_back(text(a, "fingerprint") + ":" + text(a, "status"));
  }
  std::sort(alerts.begin(), alerts.end());
  std::string key = text(d, "receiver") + "\n" + text(d, "groupKey") + "\n" + text(d, "status");
  for (const std::string& a : alerts) key += "\n" + a;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace redge
