// The autoscaler's arithmetic (ops/autoscale/autoscale_policy.hpp) on a
// clock given by hand: ceil(current × metric ÷ target), the tolerance, the
// scale-down window holding through a dip, step limits, cooldown, bounds.

#include "ops/autoscale/autoscale_policy.hpp"

#include <catch2/catch.hpp>

using namespace redge;

namespace {

AutoscalePolicyOptions hpaOptions() {
  AutoscalePolicyOptions o;
  o.min = 1;
  o.max = 10;
  o.target = 50;
  o.tolerance = 0.1;
  o.scale_up_stabilization_ms = 0;
  o.scale_down_stabilization_ms = 300000;
  o.max_scale_up_step = 4;
  o.max_scale_down_step = 1;
  o.step_period_ms = 15000;
  return o;
}

}  // namespace

TEST_CASE("autoscale: desired is ceil(current x metric / target), held within tolerance",
          "[autoscale]") {
  AutoscalePolicy p(hpaOptions());
  CHECK(p.decide(0, 2, 54, true).desired == 2);     // 1.08: within 0.1
  CHECK(p.decide(1000, 2, 56, true).desired == 3);  // ceil(2 × 1.12) = 3
  AutoscalePolicy q(hpaOptions());
  AutoscaleDecision d = q.decide(0, 1, 120, true);
  CHECK(d.recommended == 3);  // ceil(2.4)
  CHECK(d.desired == 3);
  CHECK(d.reason == "metric above target");
  AutoscalePolicy r(hpaOptions());
  CHECK(r.decide(0, 3, 500, true).desired == 7);  // recommended 10 (max), 4 per period
  CHECK(r.decide(0, 3, 500, true).recommended == 10);
}

TEST_CASE("autoscale: a scale-down waits for the whole window, a dip does not remove instances",
          "[autoscale]") {
  AutoscalePolicy p(hpaOptions());
  int64_t t = 0;
  CHECK(p.decide(t, 3, 50, true).desired == 3);
  // Load drops to a fifth: the recommendation is 1, but 3 was recommended
  // within the last 300 s.
  for (t = 10000; t < 300000; t += 10000) {
    AutoscaleDecision d = p.decide(t, 3, 10, true);
    CHECK(d.recommended == 1);
    CHECK(d.desired == 3);
  }
  // Past the window: down, one instance per period.
  AutoscaleDecision d = p.decide(310001, 3, 10, true);
  CHECK(d.desired == 2);
  p.record(310001, 3, 2);
  CHECK(p.decide(311000, 2, 10, true).desired == 2);  // step limit for this period
  CHECK(p.decide(326000, 2, 10, true).desired == 1);
  // Never below min.
  CHECK(p.decide(400000, 1, 0.1, true).desired == 1);
}

TEST_CASE("autoscale: step limits, cooldown, bounds and a missing metric", "[autoscale]") {
  AutoscalePolicyOptions o = hpaOptions();
  o.cooldown_ms = 5000;
  AutoscalePolicy p(o);
  CHECK(p.decide(0, 1, 400, true).desired == 5);  // 8 recommended, 4 per period
  p.record(0, 1, 5);
  AutoscaleDecision held = p.decide(1000, 5, 400, true);
  CHECK(held.desired == 5);
  CHECK(held.reason.find("cooldown") != std::string::npos);
  CHECK(p.decide(6000, 5, 400, true).desired == 5);   // step limit: 4 already in the period
  CHECK(p.decide(16000, 5, 400, true).desired == 9);  // ceil(5 × 8) = 40 → max 10, 4 per period
  CHECK(p.decide(0, 0, 0, false).desired == 1);       // below min
  CHECK(p.decide(0, 12, 0, false).desired == 10);     // above max
  AutoscaleDecision unknown = AutoscalePolicy(o).decide(0, 2, 0, false);
  CHECK(unknown.desired == 2);
  CHECK(unknown.reason == "no metric yet: holding");
}

TEST_CASE("autoscale: no scale-down before a whole window was observed, and an order holds for one",
          "[autoscale]") {
  AutoscalePolicyOptions o = hpaOptions();
  o.scale_down_stabilization_ms = 60000;
  o.step_period_ms = 1000;
  AutoscalePolicy p(o);
  // A new leader sees 3 instances and no load: it holds for the window.
  AutoscaleDecision first = p.decide(0, 3, 1, true);
  CHECK(first.recommended == 1);
  CHECK(first.desired == 3);
  CHECK(first.reason == "scale-down stabilization: the last 60 s have not all been observed yet");
  CHECK(p.decide(59999, 3, 1, true).desired == 3);
  CHECK(p.decide(60000, 3, 1, true).desired == 2);
  p.record(60000, 3, 2);
  CHECK(p.decide(61000, 2, 1, true).desired == 1);
  p.record(61000, 2, 1);
  // A rule orders one more while the metric says one is plenty: the step
  // counts as a recommendation of 2, so the metric removes it only after a
  // whole window.
  p.record(70000, 1, 2);
  CHECK(p.decide(70200, 2, 1, true).desired == 2);
  CHECK(p.decide(129999, 2, 1, true).desired == 2);
  CHECK(p.decide(130001, 2, 1, true).desired == 1);
  // Taking the lease again starts the window again.
  p.observeFrom(200000);
  CHECK(p.decide(200000, 2, 1, true).desired == 2);
  CHECK(p.decide(260000, 2, 1, true).desired == 1);
}
