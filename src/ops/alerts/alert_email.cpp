// The email form of a notification (see the header): headers from the
// payload's status, rule and severity, a body with one paragraph per alert.

#include "ops/alerts/alert_email.hpp"

#include <rapidjson/document.h>

#include <ctime>

namespace redge {
namespace {

// A header value from data: one line, no control characters.
std::string headerSafe(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  return out;
}

std::string memberString(const rapidjson::Value& o, const char* name) {
  if (!o.IsObject()) return {};
  auto it = o.FindMember(name);
  if (it == o.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

void appendPairs(std::string& out, const rapidjson::Value& o) {
  if (!o.IsObject()) return;
  bool first = true;
  for (auto it = o.MemberBegin(); it != o.MemberEnd(); ++it) {
    if (!it->value.IsString()) continue;
    out += first ? "" : ", ";
    out.append(it->name.GetString(), it->name.GetStringLength());
    out += '=';
    out.append(it->value.GetString(), it->value.GetStringLength());
    first = false;
  }
}

}  // namespace

std::string formatRfc5322Date(int64_t wall_ms) {
  std::time_t t = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

std::string renderAlertEmail(std::string_view payload, const AlertEmailOptions& options,
                             int64_t now_wall_ms) {
  rapidjson::Document d;
  d.Parse(payload.data(), payload.size());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("alerts") || !d["alerts"].IsArray()) {
    return {};
  }
  const std::string status = memberString(d, "status");
  const std::string rule =
      d.HasMember("groupLabels") ? memberString(d["groupLabels"], "alertname") : std::string();
  size_t firing = 0;
  size_t resolved = 0;
  for (const auto& a : d["alerts"].GetArray()) {
    (memberString(a, "status") == "firing" ? firing : resolved) += 1;
  }
  std::string severity =
      d.HasMember("commonLabels") ? memberString(d["commonLabels"], "severity") : std::string();
  std::string subject = "[" + std::string(status == "firing" ? "FIRING:" : "RESOLVED:") +
                        std::to_string(status == "firing" ? firing : resolved) + "] " + rule;
  if (!severity.empty()) subject += " (" + severity + ")";

  std::string m;
  m += "From: " + headerSafe(options.from) + "\r\n";
  m += "To: " + headerSafe(options.to) + "\r\n";
  m += "Subject: " + headerSafe(subject) + "\r\n";
  m += "Date: " + formatRfc5322Date(now_wall_ms) + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "\r\n";
  m += "Rule " + rule + ": " + std::to_string(firing) + " firing, " + std::to_string(resolved) +
       " resolved.\r\n";
  for (const auto& a : d["alerts"].GetArray()) {
    m += "\r\n[" + memberString(a, "status") + "] since " + memberString(a, "startsAt") + "\r\n";
    if (a.HasMember("annotations")) {
      for (auto it = a["annotations"].MemberBegin(); it != a["annotations"].MemberEnd(); ++it) {
        if (!it->value.IsString()) continue;
        m += "  ";
        m.append(it->name.GetString(), it->name.GetStringLength());
        m += ": ";
        m.append(it->value.GetString(), it->value.GetStringLength());
        m += "\r\n";
      }
    }
    m += "  labels: ";
    if (a.HasMember("labels")) appendPairs(m, a["labels"]);
    m += "\r\n";
  }
  m += "\r\n-- \r\nredge alerts, receiver " + memberString(d, "receiver") + "\r\n";
  return m;
}

}  // namespace redge
