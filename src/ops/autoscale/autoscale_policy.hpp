#pragma once
// The autoscaler's arithmetic for one service, as Kubernetes' horizontal pod
// autoscaler does it, on an injected clock (each call gives the time). Pure.
//
//   recommended = ceil(current × metric ÷ target), held at current while
//                 |metric ÷ target − 1| ≤ tolerance, clamped to [min, max]
//   stabilization: a scale-up takes the lowest recommendation of the last
//                 scale_up window, a scale-down the highest of the last
//                 scale_down window (300 s by default), so a dip in load
//                 does not remove instances it will want back
//   step limits:  at most max_up (max_down) instances added (removed) per
//                 step_period, counting the steps already taken in it
//   cooldown:     no step sooner than cooldown after the last one
//
// Two guards on the scale-down window that the HPA does not need, because
// here steps also come from outside the metric: a step out (a rule's
// order, or the metric's) counts as a recommendation of its size, so the
// metric removes it only after a whole window below target; and no
// scale-down happens before a whole window was observed (since the policy
// began, or since observeFrom(), when this instance took the lease), so a
// new leader does not shrink the fleet on its first few samples.
//
// A metric that is missing (no traffic seen yet) holds, except that a
// service below min is brought to min.

#include <cstdint>
#include <deque>
#include <string>
#include <utility>

namespace redge {

struct AutoscalePolicyOptions {
  int64_t min = 1;
  int64_t max = 10;
  double target = 100;  // per instance
  double tolerance = 0.1;
  int64_t scale_up_stabilization_ms = 0;
  int64_t scale_down_stabilization_ms = 300000;
  int64_t max_scale_up_step = 4;    // instances per step_period_ms
  int64_t max_scale_down_step = 1;  // instances per step_period_ms
  int64_t step_period_ms = 15000;
  int64_t cooldown_ms = 0;
};

struct AutoscaleDecision {
  int64_t current = 0;
  double metric = 0;  // per instance, as given
  bool metric_known = false;
  int64_t recommended = 0;  // before stabilization and limits
  int64_t desired = 0;      // what to scale to now
  std::string reason;       // why desired is what it is, for the log and GET /autoscale
};

class AutoscalePolicy {
 public:
  explicit AutoscalePolicy(const AutoscalePolicyOptions& options) : options_(options) {}

  // What to scale to at `now_ms` with `current` instances and `metric` per
  // instance (nullopt-like: metric_known false).
  AutoscaleDecision decide(int64_t now_ms, int64_t current, double metric, bool metric_known);
  // A step from `from` to `to` instances was taken at `now_ms`.
  void record(int64_t now_ms, int64_t from, int64_t to);
  // Forget what was observed: the windows start again at `now_ms`.
  void observeFrom(int64_t now_ms);

  const AutoscalePolicyOptions& options() const { return options_; }

 private:
  void prune(int64_t now_ms);
  int64_t stepsIn(int64_t now_ms, bool up) const;

  AutoscalePolicyOptions options_;
  std::deque<std::pair<int64_t, int64_t>> recommendations_;  // (time, recommended)
  std::deque<std::pair<int64_t, int64_t>> steps_;            // (time, signed change)
  int64_t last_step_ms_ = 0;
  bool stepped_ = false;
  int64_t observed_since_ms_ = 0;
  bool observing_ = false;
};

}  // namespace redge
