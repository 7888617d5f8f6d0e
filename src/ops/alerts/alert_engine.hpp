#pragma once
// The alert rules together: the sample history they share, one evaluation of
// every rule per tick, and which receiver must hear about which rule now.
// Pure: the Clock is injected, and wall-clock times (what leaves the
// process: startsAt, /alerts) are derived from one wall reading taken at
// construction, so tests are exact.
//
// Per tick the service calls sample(registry), evaluate(), then due(), and
// hands each notification to its receiver; the receiver's outcome comes back
// through recordDelivery() for /alerts.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "ops/alerts/alert_rule.hpp"
#include "ops/alerts/sample_history.hpp"

namespace redge {

struct AlertNotification {
  size_t rule = 0;        // index in rules() when due() made it (a reload may move it)
  std::string rule_name;  // what outlives a reload
  std::string receiver;
  std::string status;   // firing | resolved
  std::string payload;  // Alertmanager v4 JSON
  size_t firing = 0;
  size_t resolved = 0;
};

class AlertEngine {
 public:
  AlertEngine(const Clock& clock, int64_t wall_ms_at_start, int64_t interval_ms);

  // Checks and adds a rule; the error names it.
  std::optional<std::string> addRule(AlertRuleSpec spec);
  // A reload: the rules become `specs`, in that order. A rule whose spec is
  // unchanged keeps its alerts, state and notification record (a firing
  // alert goes on firing, nothing is sent again); a changed or new one
  // starts inactive; a removed one is dropped with its alerts, as
  // Prometheus does on a reload. `kept_from[i]` is the old index of rule i,
  // or -1. On an error (the rule is named) nothing changes.
  std::optional<std::string> replaceRules(std::vector<AlertRuleSpec> specs,
                                          std::vector<int>& kept_from);
  // How often a receiver hears again about a rule that keeps firing (0:
  // only on changes).
  void setRepeatInterval(const std::string& receiver, int64_t ms) { repeat_ms_[receiver] = ms; }

  void sample(const MetricsRegistry& registry) { history_.sample(registry, clock_.nowMs()); }
  void evaluate();
  // What must be sent after the latest evaluate(): one per rule and
  // receiver, for an alert that began firing or resolved, or a firing rule
  // whose repeat interval has passed.
  std::vector<AlertNotification> due();
  // By the rule's name: a reload may have moved or removed it meanwhile.
  void recordDelivery(const std::string& rule, const std::string& receiver,
                      const std::string& status, const std::string& outcome);

  // GET /alerts: every rule with its state, value, since when, its alerts
  // and its last notification.
  std::string statusJson() const;

  int64_t wallMs(int64_t mono_ms) const { return wall_at_start_ + (mono_ms - mono_at_start_); }
  SampleHistory& history() { return history_; }
  const std::vector<AlertRule>& rules() const { return rules_; }
  uint64_t evaluations() const { return evaluations_; }

 private:
  struct Delivery {
    int64_t wall_ms = -1;
    std::string receiver;
    std::string status;
    std::string outcome;
  };
  struct RuleTrack {
    bool changed = false;
    std::map<std::string, int64_t> last_sent_ms;  // by receiver
    Delivery last;
  };

  const Clock& clock_;
  int64_t mono_at_start_;
  int64_t wall_at_start_;
  SampleHistory history_;
  std::vector<AlertRule> rules_;
  std::vector<RuleTrack> tracks_;
  std::map<std::string, int64_t> repeat_ms_;
  uint64_t evaluations_ = 0;
};

}  // namespace redge
