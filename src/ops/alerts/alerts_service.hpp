#pragma once
// The alerts service: every interval_ms it samples the metrics registry,
// evaluates every rule (AlertEngine), sets the ALERTS series and hands each
// due notification to its receiver; GET /alerts on the admin listener shows
// the rules' states. A rule that begins firing runs its actions (flags
// switched off through the FlagStore, so every instance follows). One timer,
// the receivers' handles, nothing else. With alerts.fleet_dedupe, a
// notification is claimed in Redis first (SET NX): instances that fire the
// same alerts send it once per fleet.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/stats.hpp"
#include "flags/flag_store.hpp"
#include "ops/alerts/alert_action.hpp"
#include "ops/alerts/alert_engine.hpp"
#include "ops/alerts/alert_receivers.hpp"
#include "ops/alerts/alerts_config.hpp"
#include "ops/alerts/fleet_summary.hpp"
#include "redis/redis_lease.hpp"
#include "services/service.hpp"

namespace redge {

// The rules the options ask for: the built-in ones that are on, then the
// configured ones. The error names the rule.
std::optional<std::string> alertRuleSpecs(const AlertsOptions& options,
                                          std::vector<AlertRuleSpec>& out);

// clang-format off
#define REDGE_ALERTS_STATS(COUNTER, GAUGE, HISTOGRAM)                                      \
  COUNTER(evaluations_total, "Evaluations of every alert rule")                            \
  COUNTER(rule_errors_total, "Rule evaluations that failed (many-to-many matching)")       \
  GAUGE(series, "Series the alert rules keep a history of")                                \
  COUNTER(series_dropped_total, "Series the alert history refused, being full")            \
  HISTOGRAM(evaluation_seconds, "Time to sample the registry and evaluate every rule")
// clang-format on

struct AlertsStats {
  REDGE_STATS_MEMBERS(REDGE_ALERTS_STATS)
};

class AlertsService final : public Service {
 public:
  // `specs` must have been checked (alertRuleSpecs and AlertEngine::addRule
  // in the module's prepare step).
  AlertsService(ModuleContext& context, const AlertsOptions& options,
                std::vector<AlertRuleSpec> specs);
  void start() override;
  // SIGHUP: rules (built-in and configured), receivers and fleet_dedupe
  // change live; an unchanged rule keeps its state (AlertEngine::replaceRules),
  // an unchanged receiver its connections and queue.
  void reload(const Config& next, std::vector<std::string>& live) override;
  void close(std::function<void()> done) override;

  AlertEngine& engine() { return engine_; }

 private:
  void onTick();
  void notify(AlertNotification n);
  void deliver(AlertNotification n);
  // One action of a firing rule: pending until carried out (a scale order
  // another instance's lease or a step under way holds back is asked again
  // every evaluation while the rule fires; its "skipped" is logged once).
  struct ActionState {
    bool pending = false;
    bool skip_logged = false;
  };
  void runAction(const std::string& rule, const AlertAction& action, ActionState& state);
  // The per-rule vectors below for the engine's rules, from scratch.
  void addRuleState(const AlertRuleSpec& spec);
  void setUpReceivers(const std::map<std::string, AlertReceiverOptions>& wanted);
  void setUpFleet();
  void readCanaryFlags(const Config& config);
  void publishFleet(int64_t now_ms);
  void collectFleet();
  std::string canaryFlagOf(const std::string& pool) const;
  Counter& actionCounter(const std::string& action, const std::string& outcome);
  Counter& notificationCounter(const std::string& receiver, const std::string& status);

  ModuleContext& context_;
  Runtime& runtime_;
  RedisClient& redis_;
  std::string key_prefix_;
  std::string holder_;
  AlertsOptions options_;
  AlertEngine engine_;
  TimerPtr timer_;
  AlertsStats stats_;
  std::map<std::string, std::unique_ptr<AlertReceiver>> receivers_;
  // Receivers a reload replaced or removed: closing, kept until closed().
  std::vector<std::unique_ptr<AlertReceiver>> retired_receivers_;
  std::vector<std::pair<Gauge*, Gauge*>> alerts_series_;  // per rule: pending, firing
  std::map<std::string, Counter*> notification_counters_;
  FlagStore* flags_ = nullptr;                           // null: the flags module is off
  std::map<std::string, std::string> canary_flags_;      // pools whose canary.flag is set
  std::vector<std::vector<AlertAction>> actions_;        // per rule
  std::vector<std::vector<ActionState>> action_states_;  // per rule, per action
  std::vector<bool> was_firing_;                         // per rule, at the last tick
  std::map<std::string, Counter*> action_counters_;
  // Rules over the fleet (fleet_summary.hpp): the metrics to publish, this
  // instance's latest values of them, the lease of the instance that reads
  // every instance's.
  std::vector<std::string> fleet_names_;
  std::unique_ptr<SampleHistory> fleet_local_;
  std::unique_ptr<RedisLease> fleet_lease_;
  int64_t next_publish_ms_ = 0;
  bool fleet_reader_ = false;
  Gauge* fleet_reader_gauge_ = nullptr;
  Gauge* fleet_instances_gauge_ = nullptr;
  uint64_t rule_errors_seen_ = 0;
  bool closing_ = false;
};

}  // namespace redge
