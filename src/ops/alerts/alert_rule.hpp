#pragma once
// One alert rule and its state machine. Pure: evaluate() is given the
// sample history and the time.
//
// Each element the expression gives is one alert (its labels: the
// element's, then the rule's labels, then alertname). An alert goes
//   inactive -> pending (the expression holds) -> firing (it has held for
//   `for_ms`) -> resolved (it no longer holds) -> gone.
// A pending alert whose expression stops holding is gone at once. A firing
// alert resolves only once it is "clear" -- the expression no longer gives
// it and, when a resolve expression is set, that expression gives it -- and
// has stayed clear for keep_firing_for_ms. Either one keeps a value that
// hovers at the threshold from flapping between firing and resolved.
//
// Annotations are templates: {{ $value }} and {{ $labels.name }} are
// filled per alert.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "ops/alerts/alert_expr.hpp"
#include "ops/alerts/sample_history.hpp"

namespace redge {

struct AlertRuleSpec {
  std::string name;
  std::string expr;
  int64_t for_ms = 0;
  int64_t keep_firing_for_ms = 0;
  std::string resolve_expr;  // empty: none
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> receivers;
  std::vector<std::string> actions;  // alert_action.hpp: run when the rule begins firing

  bool operator==(const AlertRuleSpec&) const = default;
};

enum class AlertState { Inactive, Pending, Firing };
std::string_view alertStateName(AlertState s);

struct Alert {
  Labels labels;  // sorted; alertname among them
  std::string fingerprint;
  AlertState state = AlertState::Pending;
  double value = 0;
  int64_t active_since_ms = 0;  // when the expression first held (pending began)
  int64_t fired_ms = -1;        // when it began firing
  int64_t clear_since_ms = -1;  // firing but clear since then; -1 while it holds
  bool resolved = false;        // resolved in the latest evaluation
  int64_t resolved_ms = -1;
  std::map<std::string, std::string> annotations;  // rendered
};

class AlertRule {
 public:
  // Parses the expressions; the error names the rule and the column.
  static std::optional<std::string> check(const AlertRuleSpec& spec);
  // `spec` must have passed check().
  explicit AlertRule(AlertRuleSpec spec);

  // Tells the history which metrics and windows this rule reads; false with
  // the reason when a window is too long for the history.
  std::optional<std::string> declareSelectors(SampleHistory& history) const;

  // One evaluation at now_ms. Alerts resolved by the previous one are
  // dropped first. Returns true when an alert began firing or resolved
  // (what a receiver must hear about).
  bool evaluate(const SampleHistory& history, int64_t now_ms);

  const AlertRuleSpec& spec() const { return spec_; }
  const std::vector<Alert>& alerts() const { return alerts_; }
  // The highest state among the alerts (firing > pending > inactive).
  AlertState state() const;
  // The value of the alert in that state (the first one), NaN when inactive.
  double value() const;
  // Since when the rule has been in state(); -1 when inactive and never active.
  int64_t sinceMs() const { return since_ms_; }
  size_t count(AlertState s) const;
  const std::string& lastError() const { return last_error_; }

 private:
  AlertRuleSpec spec_;
  std::unique_ptr<Expr> expr_;
  std::unique_ptr<Expr> resolve_;
  std::vector<Alert> alerts_;
  AlertState last_state_ = AlertState::Inactive;
  int64_t since_ms_ = -1;
  std::string last_error_;
};

// Fills {{ $value }} and {{ $labels.x }} in `text`.
std::string renderAlertTemplate(std::string_view text, double value, const Labels& labels);
// Why `text` is not a template this renderer understands, or nothing.
std::optional<std::string> checkAlertTemplate(std::string_view text);

// A stable identity for an alert's label set: 16 hex digits of a 64-bit
// FNV-1a hash over the sorted name/value pairs.
std::string alertFingerprint(const Labels& sorted_labels);

// "0.8523", "1.2e+09": what {{ $value }} and /alerts show.
std::string formatAlertValue(double v);

}  // namespace redge
