// The HPA arithmetic (see the header): tolerance, stabilization windows,
// step limits per period, cooldown, bounds.

#include "ops/autoscale/autoscale_policy.hpp"

#include <algorithm>
#include <cmath>

namespace redge {

void AutoscalePolicy::prune(int64_t now_ms) {
  int64_t keep = std::max(options_.scale_up_stabilization_ms, options_.scale_down_stabilization_ms);
  while (!recommendations_.empty() && recommendations_.front().first < now_ms - keep) {
    recommendations_.pop_front();
  }
  while (!steps_.empty() && steps_.front().first <= now_ms - options_.step_period_ms) {
    steps_.pop_front();
  }
}

int64_t AutoscalePolicy::stepsIn(int64_t now_ms, bool up) const {
  int64_t total = 0;
  for (const auto& [at, change] : steps_) {
    if (at <= now_ms - options_.step_period_ms) continue;
    if (up && change > 0) total += change;
    if (!up && change < 0) total -= change;
  }
  return total;
}

AutoscaleDecision AutoscalePolicy::decide(int64_t now_ms, int64_t current, double metric,
                                          bool metric_known) {
  const AutoscalePolicyOptions& o = options_;
  AutoscaleDecision d;
  d.current = current;
  d.metric = metric;
  d.metric_known = metric_known;
  if (!observing_) observeFrom(now_ms);
  prune(now_ms);
  if (current < o.min || current > o.max) {
    d.recommended = d.desired = std::clamp(current, o.min, o.max);
    d.reason = current < o.min ? "below min" : "above max";
    return d;
  }
  if (!metric_known || current == 0) {
    d.recommended = d.desired = current;
    d.reason = "no metric yet: holding";
    return d;
  }
  double ratio = metric / o.target;
  if (std::fabs(ratio - 1.0) <= o.tolerance) {
    d.recommended = current;
  } else {
    double wanted = std::ceil(static_cast<double>(current) * ratio - 1e-9);
    d.recommended = std::clamp(static_cast<int64_t>(std::min(wanted, 1e9)), o.min, o.max);
  }
  recommendations_.emplace_back(now_ms, d.recommended);

  // Stabilization: up to the lowest recommendation of the up window, down
  // to the highest of the down window.
  int64_t up_to = INT64_MAX;
  int64_t down_to = INT64_MIN;
  for (const auto& [at, r] : recommendations_) {
    if (at >= now_ms - o.scale_up_stabilization_ms) up_to = std::min(up_to, r);
    if (at >= now_ms - o.scale_down_stabilization_ms) down_to = std::max(down_to, r);
  }
  d.desired = current;
  if (up_to > current) {
    d.desired = up_to;
    d.reason = "metric above target";
  } else if (down_to < current && now_ms - observed_since_ms_ < o.scale_down_stabilization_ms) {
    d.reason = "scale-down stabilization: the last " +
               std::to_string(o.scale_down_stabilization_ms / 1000) +
               " s have not all been observed yet";
  } else if (down_to < current) {
    d.desired = down_to;
    d.reason = "metric below target for the whole scale-down window";
  } else if (d.recommended > current) {
    d.reason = "scale-up stabilization: an earlier recommendation in the window was lower";
  } else if (d.recommended < current) {
    d.reason = "scale-down stabilization: a recommendation in the last " +
               std::to_string(o.scale_down_stabilization_ms / 1000) + " s was higher";
  } else {
    d.reason = "within tolerance";
  }
  if (d.desired == current) return d;

  if (stepped_ && now_ms - last_step_ms_ < o.cooldown_ms) {
    d.reason += "; cooldown: holding";
    d.desired = current;
    return d;
  }
  if (d.desired > current) {
    int64_t room = o.max_scale_up_step - stepsIn(now_ms, true);
    if (room <= 0) {
      d.reason += "; step limit reached for this period: holding";
      d.desired = current;
    } else if (d.desired - current > room) {
      d.desired = current + room;
      d.reason += "; limited to " + std::to_string(o.max_scale_up_step) + " per period";
    }
  } else {
    int64_t room = o.max_scale_down_step - stepsIn(now_ms, false);
    if (room <= 0) {
      d.reason += "; step limit reached for this period: holding";
      d.desired = current;
    } else if (current - d.desired > room) {
      d.desired = current - room;
      d.reason += "; limited to " + std::to_string(o.max_scale_down_step) + " per period";
    }
  }
  return d;
}

void AutoscalePolicy::record(int64_t now_ms, int64_t from, int64_t to) {
  if (from == to) return;
  steps_.emplace_back(now_ms, to - from);
  last_step_ms_ = now_ms;
  stepped_ = true;
  if (to > from) recommendations_.emplace_back(now_ms, to);
}

void AutoscalePolicy::observeFrom(int64_t now_ms) {
  recommendations_.clear();
  observed_since_ms_ = now_ms;
  observing_ = true;
}

}  // namespace redge
