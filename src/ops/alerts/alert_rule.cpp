// The alert rule's state machine (pending, firing, resolved, with `for`,
// keep_firing_for and the resolve expression), its annotation templates and
// the alert fingerprint.

#include "ops/alerts/alert_rule.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "ops/alerts/alert_eval.hpp"

namespace redge {
namespace {

// The alert's labels: the element's, the rule's over them, then alertname.
Labels alertLabels(const Labels& element, const AlertRuleSpec& spec) {
  Labels out;
  for (const auto& kv : element) {
    if (kv.first == "alertname" || spec.labels.count(kv.first)) continue;
    out.push_back(kv);
  }
  for (const auto& kv : spec.labels) out.push_back(kv);
  out.emplace_back("alertname", spec.name);
  std::sort(out.begin(), out.end());
  return out;
}

std::string_view trimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view alertStateName(AlertState s) {
  switch (s) {
    case AlertState::Inactive:
      return "inactive";
    case AlertState::Pending:
      return "pending";
    case AlertState::Firing:
      return "firing";
  }
  return "inactive";
}

std::string formatAlertValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string alertFingerprint(const Labels& sorted_labels) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // a separator no label text contains
    h *= 1099511628211ull;
  };
  for (const auto& [k, v] : sorted_labels) {
    mix(k);
    mix(v);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::optional<std::string> checkAlertTemplate(std::string_view text) {
  size_t pos = 0;
  while ((pos = text.find("{{", pos)) != std::string_view::npos) {
    size_t end = text.find("}}", pos + 2);
    if (end == std::string_view::npos)
      return "'{{' at offset " + std::to_string(pos) + " is never closed";
    std::string_view inner = trimSpaces(text.substr(pos + 2, end - pos - 2));
    bool ok = inner == "$value" || (inner.substr(0, 8) == "$labels." && inner.size() > 8 &&
                                    inner.find(' ') == std::string_view::npos);
    if (!ok) {
      return "'{{ " + std::string(inner) +
             " }}' is not a template this version fills; use {{ $value }} or {{ $labels.name }}";
    }
    pos = end + 2;
  }
  return std::nullopt;
}

std::string renderAlertTemplate(std::string_view text, double value, const Labels& labels) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    size_t end = open == std::string_view::npos ? open : text.find("}}", open + 2);
    if (end == std::string_view::npos) {
      out.append(text.substr(pos));
      return out;
    }
    out.append(text.substr(pos, open - pos));
    std::string_view inner = trimSpaces(text.substr(open + 2, end - open - 2));
    if (inner == "$value") {
      out.append(formatAlertValue(value));
    } else if (inner.substr(0, 8) == "$labels.") {
      std::string_view name = inner.substr(8);
      for (const auto& kv : labels) {
        if (kv.first == name) out.append(kv.second);
      }
    } else {
      out.append(text.substr(open, end + 2 - open));
    }
    pos = end + 2;
  }
}

std::optional<std::string> AlertRule::check(const AlertRuleSpec& spec) {
  auto named = [&](const std::string& what) { return "rule '" + spec.name + "': " + what; };
  if (spec.name.empty()) return std::string("a rule needs a name");
  ExprParseResult e = parseAlertExpr(spec.expr);
  if (!e.expr) return named("expr: " + e.error);
  if (e.expr->type != ExprType::Vector) {
    return named(
        "expr: gives a single number, not a vector of series; compare a metric, "
        "e.g. process_resident_memory_bytes > 1e9");
  }
  if (!spec.resolve_expr.empty()) {
    ExprParseResult r = parseAlertExpr(spec.resolve_expr);
    if (!r.expr) return named("resolve_expr: " + r.error);
    if (r.expr->type != ExprType::Vector) {
      return named("resolve_expr: gives a single number, not a vector of series");
    }
  }
  for (const auto& [key, text] : spec.annotations) {
    if (auto why = checkAlertTemplate(text)) return named("annotations." + key + ": " + *why);
  }
  return std::nullopt;
}

AlertRule::AlertRule(AlertRuleSpec spec) : spec_(std::move(spec)) {
  expr_ = parseAlertExpr(spec_.expr).expr;
  if (!spec_.resolve_expr.empty()) resolve_ = parseAlertExpr(spec_.resolve_expr).expr;
}

std::optional<std::string> AlertRule::declareSelectors(SampleHistory& history) const {
  std::optional<std::string> error;
  auto declare = [&](const Expr& sel) {
    if (!history.want(sel.metric, sel.range_ms) && !error) {
      error = "rule '" + spec_.name + "': the window of " + sel.metric + " needs more than " +
              std::to_string(SampleHistory::kMaxSamplesPerSeries) +
              " samples at this interval; shorten it or raise alerts.interval_ms";
    }
  };
  forEachSelector(*expr_, declare);
  if (resolve_) forEachSelector(*resolve_, declare);
  return error;
}

bool AlertRule::evaluate(const SampleHistory& history, int64_t now_ms) {
  alerts_.erase(
      std::remove_if(alerts_.begin(), alerts_.end(), [](const Alert& a) { return a.resolved; }),
      alerts_.end());
  EvalResult result = evaluateExpr(*expr_, history, now_ms);
  if (!result.error.empty()) {
    last_error_ = result.error;
    return false;
  }
  std::unordered_set<std::string> clear_by_resolve;
  if (resolve_) {
    EvalResult r = evaluateExpr(*resolve_, history, now_ms);
    if (!r.error.empty()) {
      last_error_ = "resolve_expr: " + r.error;
      return false;
    }
    for (const VectorElement& el : r.value.vector) {
      clear_by_resolve.insert(formatLabels(alertLabels(el.labels, spec_)));
    }
  }
  last_error_.clear();

  std::map<std::string, std::pair<Labels, double>>
      active;  // sorted: /alerts lists alerts in label order
  for (VectorElement& el : result.value.vector) {
    Labels labels = alertLabels(el.labels, spec_);
    std::string key = formatLabels(labels);
    active.emplace(std::move(key), std::make_pair(std::move(labels), el.value));
  }

  bool changed = false;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    Alert& a = *it;
    auto found = active.find(formatLabels(a.labels));
    if (found != active.end()) {
      a.value = found->second.second;
      a.clear_since_ms = -1;
      if (a.state == AlertState::Pending && now_ms - a.active_since_ms >= spec_.for_ms) {
        a.state = AlertState::Firing;
        a.fired_ms = now_ms;
        changed = true;
      }
      active.erase(found);
      ++it;
      continue;
    }
    if (a.state == AlertState::Pending) {
      it = alerts_.erase(it);
      continue;
    }
    bool clear = !resolve_ || clear_by_resolve.count(formatLabels(a.labels)) > 0;
    if (!clear) {
      a.clear_since_ms = -1;
    } else {
      if (a.clear_since_ms < 0) a.clear_since_ms = now_ms;
      if (now_ms - a.clear_since_ms >= spec_.keep_firing_for_ms) {
        a.state = AlertState::Inactive;
        a.resolved = true;
        a.resolved_ms = now_ms;
        changed = true;
      }
    }
    ++it;
  }
  for (auto& [key, entry] : active) {
    Alert a;
    a.labels = std::move(entry.first);
    a.fingerprint = alertFingerprint(a.labels);
    a.value = entry.second;
    a.active_since_ms = now_ms;
    if (spec_.for_ms == 0) {
      a.state = AlertState::Firing;
      a.fired_ms = now_ms;
      changed = true;
    }
    alerts_.push_back(std::move(a));
  }
  for (Alert& a : alerts_) {
    for (const auto& [key, text] : spec_.annotations) {
      a.annotations[key] = renderAlertTemplate(text, a.value, a.labels);
    }
  }
  AlertState now_state = state();
  if (now_state != last_state_) {
    last_state_ = now_state;
    since_ms_ = now_ms;
  }
  return changed;
}

AlertState AlertRule::state() const {
  AlertState s = AlertState::Inactive;
  for (const Alert& a : alerts_) {
    if (a.resolved) continue;
    if (a.state == AlertState::Firing) return AlertState::Firing;
    if (a.state == AlertState::Pending) s = AlertState::Pending;
  }
  return s;
}

double AlertRule::value() const {
  AlertState s = state();
  for (const Alert& a : alerts_) {
    if (!a.resolved && a.state == s) return a.value;
  }
  return std::nan("");
}

size_t AlertRule::count(AlertState s) const {
  size_t n = 0;
  for (const Alert& a : alerts_) {
    if (!a.resolved && a.state == s) ++n;
  }
  return n;
}

}  // namespace redge
