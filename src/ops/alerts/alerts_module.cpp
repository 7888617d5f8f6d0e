// The alerts module: its section (alerts.*), the check of every rule before
// anything starts (a rule that does not parse stops start-up with exit 2,
// naming the rule), and the AlertsService.

#include "core/clock.hpp"
#include "net/resolve_host.hpp"
#include "ops/alerts/alert_action.hpp"
#include "ops/alerts/alerts_service.hpp"
#include "ops/dashboard/panels.hpp"

namespace redge {
namespace {

using namespace config_limits;

std::optional<std::string> checkReceiverType(const std::string& v) {
  if (v == "webhook" || v == "command") return std::nullopt;
  return "expected webhook or command";
}

// Every rule parsed and typed, with the receivers it names: a schema rule,
// so --check-config refuses a bad rule as start-up does, naming it.
std::optional<ConfigError> checkRules(const Config& config, const ConfigSchema&) {
  const AlertsOptions& o = config.module<AlertsOptions>();
  if (!o.enabled) return std::nullopt;
  std::vector<AlertRuleSpec> specs;
  if (auto error = alertRuleSpecs(o, specs)) return ConfigError{"alerts.rules", *error};
  ManualClock clock;
  AlertEngine engine(clock, 0, o.interval_ms);
  const size_t builtins = specs.size() - o.rules.size();
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string path =
        i < builtins ? "alerts.defaults" : "alerts.rules[" + std::to_string(i - builtins) + "]";
    if (auto error = engine.addRule(specs[i])) return ConfigError{path, *error};
    for (size_t a = 0; a < specs[i].actions.size(); ++a) {
      std::string reason;
      if (!parseAlertAction(specs[i].actions[a], reason)) {
        return ConfigError{path + ".actions[" + std::to_string(a) + "]",
                           "rule '" + specs[i].name + "': " + reason};
      }
    }
  }
  return std::nullopt;
}

void declareKeys(ConfigSchema& schema) {
  auto section = schema.moduleSection<AlertsOptions>("alerts");
  section
      .boolKey(REDGE_FIELD(AlertsOptions, enabled),
               "evaluate alert rules over redge's own metrics and notify receivers")
      .intKey(REDGE_FIELD(AlertsOptions, interval_ms), 10, kMaxDurationMs,
              "time between evaluations (and samples of the metrics)")
      .boolKey(REDGE_FIELD(AlertsOptions, fleet_dedupe),
               "send a notification once per fleet: instances on the same Redis that fire the "
               "same alerts agree through a Redis key which one sends")
      .intKey(REDGE_FIELD(AlertsOptions, fleet_publish_ms), 100, kMaxDurationMs,
              "how often each instance publishes to Redis the metrics that rules read over the "
              "fleet (fleet:<metric>)");
  section.listKey(REDGE_FIELD(AlertsOptions, rules), "alert rules (README: Alerts)")
      .stringKey(REDGE_FIELD(AlertRuleOptions, name), "the rule's name (alertname)")
      .stringKey(REDGE_FIELD(AlertRuleOptions, expr), "the condition, a PromQL subset")
      .intKey(REDGE_FIELD(AlertRuleOptions, for_ms), 0, kMaxDurationMs,
              "how long the condition must hold before the alert fires")
      .intKey(REDGE_FIELD(AlertRuleOptions, keep_firing_for_ms), 0, kMaxDurationMs,
              "how long it must be clear before a firing alert resolves")
      .stringKey(REDGE_FIELD(AlertRuleOptions, resolve_expr),
                 "a firing alert resolves only once this holds for it (empty: when expr no "
                 "longer does)")
      .stringMapKey(REDGE_FIELD(AlertRuleOptions, labels), "labels added to the rule's alerts")
      .stringMapKey(REDGE_FIELD(AlertRuleOptions, annotations),
                    "texts with {{ $value }} and {{ $labels.name }} filled in")
      .stringListKey(REDGE_FIELD(AlertRuleOptions, receivers), "receivers notified")
      .stringListKey(REDGE_FIELD(AlertRuleOptions, actions),
                     "what the rule does when it begins firing: canary_abort:<pool> (the "
                     "pool's canary weight flag off), flag_off:<flag>");
  section.mapKey(REDGE_FIELD(AlertsOptions, receivers), "where notifications go")
      .stringKey(REDGE_FIELD(AlertReceiverOptions, type), "webhook or command", checkReceiverType)
      .stringKey(REDGE_FIELD(AlertReceiverOptions, url), "webhook: http URL to POST to")
      .stringListKey(REDGE_FIELD(AlertReceiverOptions, argv),
                     "command: program and arguments; the payload comes on stdin")
      .enumKey(REDGE_FIELD(AlertReceiverOptions, format), {"json", "email"},
               "command: what comes on stdin: the Alertmanager JSON, or an RFC 5322 message "
               "for msmtp -t / sendmail -t")
      .stringKey(REDGE_FIELD(AlertReceiverOptions, email_to),
                 "format email: the To header (addresses, comma separated)")
      .stringKey(REDGE_FIELD(AlertReceiverOptions, email_from), "format email: the From header")
      .intKey(REDGE_FIELD(AlertReceiverOptions, timeout_ms), 1, kMaxDurationMs,
              "bound on one call (webhook) or run (command, then killed)")
      .intKey(REDGE_FIELD(AlertReceiverOptions, repeat_interval_ms), 0, kMaxDurationMs,
              "notify again while a rule keeps firing (0: only on changes)")
      .intKey(REDGE_FIELD(AlertReceiverOptions, max_retries), 0, kMaxAttempts,
              "webhook: retries after a failed call, with backoff");
  section.group("defaults", &AlertsOptions::defaults)
      .boolKey(REDGE_FIELD(AlertDefaultsOptions, cpu), "built-in rule RedgeHighCpu")
      .doubleKey(REDGE_FIELD(AlertDefaultsOptions, cpu_ratio), 0, true, 1024,
                 "RedgeHighCpu: share of one core")
      .boolKey(REDGE_FIELD(AlertDefaultsOptions, memory), "built-in rule RedgeHighMemory")
      .doubleKey(REDGE_FIELD(AlertDefaultsOptions, memory_ratio), 0, true, 1,
                 "RedgeHighMemory: resident memory over MemTotal")
      .boolKey(REDGE_FIELD(AlertDefaultsOptions, app_error_ratio),
               "built-in rule RedgeAppErrorRatio")
      .doubleKey(REDGE_FIELD(AlertDefaultsOptions, app_error_ratio_max), 0, true, 1,
                 "RedgeAppErrorRatio: share of the app's answers that are 5xx")
      .boolKey(REDGE_FIELD(AlertDefaultsOptions, app_p99), "built-in rule RedgeAppLatencyP99")
      .doubleKey(REDGE_FIELD(AlertDefaultsOptions, app_p99_seconds), 0, true, 3600,
                 "RedgeAppLatencyP99: bound on the app's p99 latency, seconds")
      .intKey(REDGE_FIELD(AlertDefaultsOptions, for_ms), 0, kMaxDurationMs,
              "how long a built-in rule's condition must hold")
      .stringListKey(REDGE_FIELD(AlertDefaultsOptions, receivers),
                     "receivers the built-in rules notify");
  schema.addRule(&checkRules);
}

std::optional<ConfigError> prepare(Config& config) {
  AlertsOptions& o = config.module<AlertsOptions>();
  for (auto& [name, r] : o.receivers) {
    const std::string path = "alerts.receivers." + name;
    if (r.type == "webhook") {
      std::string error = parseHttpUrl(r.url, r.target);
      if (!error.empty()) return ConfigError{path + ".url", error};
      if (!resolveHost(r.target.host)) {
        return ConfigError{path + ".url", "cannot resolve host '" + r.target.host + "'"};
      }
    } else if (r.argv.empty() || r.argv[0].empty()) {
      return ConfigError{path + ".argv", "a command receiver needs a program to run"};
    } else if (r.format == "email" && r.email_to.empty()) {
      return ConfigError{path + ".email_to", "format email needs the address to write To"};
    }
  }
  return std::nullopt;
}

std::unique_ptr<Service> create(ModuleContext& context) {
  const AlertsOptions& o = context.config().module<AlertsOptions>();
  std::vector<AlertRuleSpec> specs;
  alertRuleSpecs(o, specs);  // checked in prepare
  auto service = std::make_unique<AlertsService>(context, o, std::move(specs));
  if (StatusPanels* panels = context.find<StatusPanels>())
    addAlertsPanel(*panels, service->engine());
  return service;
}

}  // namespace

Module alertsModule() {
  return {"alerts", &declareKeys, [](const Config& c) { return c.module<AlertsOptions>().enabled; },
          &prepare, &create};
}

}  // namespace redge
