// The alert engine: rules, their shared history, the repeat/notify decision
// per rule and receiver, and the /alerts status document.

#include "ops/alerts/alert_engine.hpp"

#include "core/json_writer.hpp"
#include "ops/alerts/alert_payload.hpp"

namespace redge {

AlertEngine::AlertEngine(const Clock& clock, int64_t wall_ms_at_start, int64_t interval_ms)
    : clock_(clock),
      mono_at_start_(clock.nowMs()),
      wall_at_start_(wall_ms_at_start),
      history_(interval_ms) {}

std::optional<std::string> AlertEngine::addRule(AlertRuleSpec spec) {
  if (auto error = AlertRule::check(spec)) return error;
  for (const AlertRule& r : rules_) {
    if (r.spec().name == spec.name) return "rule '" + spec.name + "' is defined twice";
  }
  AlertRule rule(std::move(spec));
  if (auto error = rule.declareSelectors(history_)) return error;
  rules_.push_back(std::move(rule));
  tracks_.emplace_back();
  return std::nullopt;
}

std::optional<std::string> AlertEngine::replaceRules(std::vector<AlertRuleSpec> specs,
                                                     std::vector<int>& kept_from) {
  std::vector<int> from(specs.size(), -1);
  std::vector<AlertRule> fresh;  // the changed and new rules, built before anything changes
  for (size_t i = 0; i < specs.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (specs[j].name == specs[i].name) return "rule '" + specs[i].name + "' is defined twice";
    }
    for (size_t j = 0; j < rules_.size(); ++j) {
      if (rules_[j].spec() == specs[i]) from[i] = static_cast<int>(j);
    }
    if (from[i] >= 0) continue;
    if (auto error = AlertRule::check(specs[i])) return error;
    AlertRule rule(specs[i]);
    if (auto error = rule.declareSelectors(history_)) return error;
    fresh.push_back(std::move(rule));
  }
  std::vector<AlertRule> rules;
  std::vector<RuleTrack> tracks;
  size_t next_fresh = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (from[i] >= 0) {
      rules.push_back(std::move(rules_[static_cast<size_t>(from[i])]));
      tracks.push_back(std::move(tracks_[static_cast<size_t>(from[i])]));
    } else {
      rules.push_back(std::move(fresh[next_fresh++]));
      tracks.emplace_back();
    }
  }
  rules_ = std::move(rules);
  tracks_ = std::move(tracks);
  kept_from = std::move(from);
  return std::nullopt;
}

void AlertEngine::evaluate() {
  const int64_t now = clock_.nowMs();
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].evaluate(history_, now)) tracks_[i].changed = true;
  }
  ++evaluations_;
}

std::vector<AlertNotification> AlertEngine::due() {
  const int64_t now = clock_.nowMs();
  std::vector<AlertNotification> out;
  for (size_t i = 0; i < rules_.size(); ++i) {
    const AlertRule& rule = rules_[i];
    RuleTrack& track = tracks_[i];
    std::vector<const Alert*> alerts;
    size_t firing = 0, resolved = 0;
    for (const Alert& a : rule.alerts()) {
      if (a.resolved) {
        alerts.push_back(&a);
        ++resolved;
      } else if (a.state == AlertState::Firing) {
        alerts.push_back(&a);
        ++firing;
      }
    }
    const bool changed = track.changed;
    track.changed = false;
    if (alerts.empty()) continue;
    for (const std::string& receiver : rule.spec().receivers) {
      auto last = track.last_sent_ms.find(receiver);
      bool repeat = false;
      if (!changed && firing > 0 && last != track.last_sent_ms.end()) {
        auto r = repeat_ms_.find(receiver);
        int64_t every = r == repeat_ms_.end() ? 0 : r->second;
        repeat = every > 0 && now - last->second >= every;
      }
      if (!changed && !repeat) continue;
      AlertPayloadInput input;
      input.receiver = receiver;
      input.rule_name = rule.spec().name;
      input.alerts = alerts;
      input.to_wall_ms = [this](int64_t mono) { return wallMs(mono); };
      AlertNotification n;
      n.rule = i;
      n.rule_name = rule.spec().name;
      n.receiver = receiver;
      n.status = alertPayloadStatus(alerts);
      n.payload = buildAlertmanagerPayload(input);
      n.firing = firing;
      n.resolved = resolved;
      out.push_back(std::move(n));
      track.last_sent_ms[receiver] = now;
    }
  }
  return out;
}

void AlertEngine::recordDelivery(const std::string& rule, const std::string& receiver,
                                 const std::string& status, const std::string& outcome) {
  size_t i = 0;
  while (i < rules_.size() && rules_[i].spec().name != rule) ++i;
  if (i == rules_.size()) return;  // removed by a reload meanwhile
  Delivery& d = tracks_[i].last;
  d.wall_ms = wallMs(clock_.nowMs());
  d.receiver = receiver;
  d.status = status;
  d.outcome = outcome;
}

std::string AlertEngine::statusJson() const {
  std::string out;
  JsonWriter w(out);
  auto time_or_null = [&](int64_t mono) -> JsonWriter& {
    if (mono < 0) return w.null();
    return w.string(formatRfc3339(wallMs(mono)));
  };
  w.startObject();
  w.key("interval_ms").integer(history_.intervalMs());
  w.key("evaluations").integer(static_cast<int64_t>(evaluations_));
  w.key("series").integer(static_cast<int64_t>(history_.seriesCount()));
  w.key("rules").startArray();
  for (size_t i = 0; i < rules_.size(); ++i) {
    const AlertRule& rule = rules_[i];
    const AlertRuleSpec& spec = rule.spec();
    w.startObject();
    w.key("name").string(spec.name);
    w.key("expr").string(spec.expr);
    if (!spec.resolve_expr.empty()) w.key("resolve_expr").string(spec.resolve_expr);
    w.key("for_ms").integer(spec.for_ms);
    w.key("keep_firing_for_ms").integer(spec.keep_firing_for_ms);
    w.key("state").string(alertStateName(rule.state()));
    w.key("value").rawValue(jsonNumber(rule.value()));
    w.key("since");
    time_or_null(rule.sinceMs());
    w.key("error");
    if (rule.lastError().empty()) {
      w.null();
    } else {
      w.string(rule.lastError());
    }
    w.key("receivers").startArray();
    for (const std::string& r : spec.receivers) w.string(r);
    w.endArray();
    const Delivery& d = tracks_[i].last;
    w.key("last_notification");
    if (d.wall_ms < 0) {
      w.null();
    } else {
      w.startObject();
      w.key("at").string(formatRfc3339(d.wall_ms));
      w.key("receiver").string(d.receiver);
      w.key("status").string(d.status);
      w.key("outcome").string(d.outcome);
      w.endObject();
    }
    w.key("alerts").startArray();
    for (const Alert& a : rule.alerts()) {
      w.startObject();
      w.key("labels").startObject();
      for (const auto& [k, v] : a.labels) w.key(k).string(v);
      w.endObject();
      w.key("state").string(a.resolved ? "resolved" : alertStateName(a.state));
      w.key("value").rawValue(jsonNumber(a.value));
      w.key("active_since");
      time_or_null(a.active_since_ms);
      w.key("fired_at");
      time_or_null(a.fired_ms);
      w.key("fingerprint").string(a.fingerprint);
      w.key("annotations").startObject();
      for (const auto& [k, v] : a.annotations) w.key(k).string(v);
      w.endObject();
      w.endObject();
    }
    w.endArray();
    w.endObject();
  }
  w.endArray();
  w.endObject();
  return out;
}

}  // namespace redge
