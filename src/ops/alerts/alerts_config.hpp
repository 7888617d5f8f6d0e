#pragma once
// The alerts section (alerts.*): the rules, the receivers they notify and the
// built-in rules' switches. Declared in alerts_module.cpp.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "net/http/http_url.hpp"

namespace redge {

struct AlertRuleOptions {
  std::string name;
  std::string expr;
  int64_t for_ms = 0;
  int64_t keep_firing_for_ms = 0;
  std::string resolve_expr;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> receivers;
  std::vector<std::string> actions;  // "canary_abort:<pool>", "flag_off:<flag>"
};

struct AlertReceiverOptions {
  std::string type = "webhook";   // webhook | command
  std::string url;                // webhook
  std::vector<std::string> argv;  // command
  std::string format = "json";    // command: json (the webhook's payload) | email (RFC 5322)
  std::string email_to;           // format email: To
  std::string email_from = "redge <redge@localhost>";
  int64_t timeout_ms = 5000;
  int64_t repeat_interval_ms = 14'400'000;  // 4 h, Alertmanager's default
  int64_t max_retries = 3;                  // webhook
  HttpUrl target;                           // derived from url in prepare
};

// The built-in rules, each on or off.
struct AlertDefaultsOptions {
  bool cpu = true;
  double cpu_ratio = 0.8;  // of one core
  bool memory = true;
  double memory_ratio = 0.8;  // RSS over MemTotal
  bool app_error_ratio = true;
  double app_error_ratio_max = 0.05;
  bool app_p99 = true;
  double app_p99_seconds = 0.5;
  int64_t for_ms = 60000;
  std::vector<std::string> receivers;
};

struct AlertsOptions {
  bool enabled = false;
  int64_t interval_ms = 1000;
  // A notification another instance on the same Redis already sent (the
  // same rule, receiver, status and alerts) is not sent again.
  bool fleet_dedupe = true;
  // How often each instance publishes the metrics `fleet:` rules read
  // (fleet_summary.hpp).
  int64_t fleet_publish_ms = 2000;
  std::vector<AlertRuleOptions> rules;
  std::map<std::string, AlertReceiverOptions> receivers;
  AlertDefaultsOptions defaults;
};

}  // namespace redge
