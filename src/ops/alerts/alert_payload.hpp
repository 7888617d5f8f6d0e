#pragma once
// The webhook body Alertmanager sends (version 4), so receivers written for
// Alertmanager take redge's notifications unchanged:
//
//   {"version":"4","groupKey":"{}:{alertname=\"HighCpu\"}","truncatedAlerts":0,
//    "status":"firing","receiver":"ops","groupLabels":{"alertname":"HighCpu"},
//    "commonLabels":{...},"commonAnnotations":{...},"externalURL":"",
//    "alerts":[{"status":"firing","labels":{...},"annotations":{...},
//               "startsAt":"2024-05-01T10:00:00.000Z","endsAt":"0001-01-01T00:00:00Z",
//               "generatorURL":"","fingerprint":"c0ffee..."}]}
//
// One notification carries one rule's alerts (redge groups by alertname):
// those firing and those resolved by the latest evaluation. Pure.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ops/alerts/alert_rule.hpp"

namespace redge {

struct AlertPayloadInput {
  std::string receiver;
  std::string rule_name;
  std::vector<const Alert*> alerts;
  // Monotonic ms (the rule's clock) to wall-clock ms since the epoch.
  std::function<int64_t(int64_t)> to_wall_ms;
  std::string external_url;
};

// "firing" when any alert fires, else "resolved".
std::string alertPayloadStatus(const std::vector<const Alert*>& alerts);

std::string buildAlertmanagerPayload(const AlertPayloadInput& input);

// What makes two instances' notifications the same one, for sending it once
// per fleet: receiver, group, status and each alert's fingerprint and
// status, hashed (16 hex digits). Start times differ between instances and
// are left out. Empty if the payload does not parse.
std::string notificationIdentity(std::string_view payload);

// RFC 3339 in UTC with milliseconds: 2024-05-01T10:00:00.000Z.
std::string formatRfc3339(int64_t wall_ms);

// A double as JSON: the number, or null for NaN and infinities.
std::string jsonNumber(double v);

}  // namespace redge
