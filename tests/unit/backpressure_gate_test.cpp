// BackpressureGate: the hysteresis between max and recovery, and observe()
// reporting only the switches. RetryAfterEstimator: the drain rate over its
// ten-second window, the idle default, the 1..60 bounds and the breaker floor,
// all on a manual clock.

#include "resilience/backpressure_gate.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "core/clock.hpp"
#include "resilience/retry_after.hpp"

using redge::BackpressureGate;
using redge::ManualClock;
using redge::RetryAfterEstimator;

TEST_CASE("gate: starts accepting and keeps its thresholds", "[gate]") {
  BackpressureGate g(10, 5);
  CHECK(g.accepting());
  CHECK(g.max() == 10);
  CHECK(g.recovery() == 5);
}

TEST_CASE("gate: hysteresis from 0 up to max and back down to recovery", "[gate]") {
  BackpressureGate g(10, 5);
  std::vector<int64_t> switched_at;

  for (int64_t depth = 0; depth <= 10; ++depth) {
    if (g.observe(depth)) switched_at.push_back(depth);
    CHECK(g.accepting() == (depth < 10));
  }
  CHECK(switched_at == std::vector<int64_t>{10});

  for (int64_t depth = 10; depth >= 0; --depth) {
    if (g.observe(depth)) switched_at.push_back(depth);
    // Still refused at 9, 8, 7, 6: only recovery lets messages in again.
    CHECK(g.accepting() == (depth <= 5));
  }
  CHECK(switched_at == std::vector<int64_t>{10, 5});
}

TEST_CASE("gate: observe() is true only on a switch", "[gate]") {
  BackpressureGate g(10, 5);
  CHECK_FALSE(g.observe(3));
  CHECK_FALSE(g.observe(9));
  CHECK(g.observe(12));  // past max in one step
  CHECK_FALSE(g.observe(12));
  CHECK_FALSE(g.observe(10));
  CHECK_FALSE(g.observe(6));
  CHECK(g.observe(0));  // below recovery in one step
  CHECK_FALSE(g.observe(0));
  CHECK_FALSE(g.observe(9));
  CHECK(g.observe(10));
  CHECK(g.observe(5));
}

TEST_CASE("gate: the tightest thresholds, recovery 0 and max 1", "[gate]") {
  BackpressureGate g(1, 0);
  CHECK(g.observe(1));
  CHECK_FALSE(g.accepting());
  CHECK_FALSE(g.observe(1));
  CHECK(g.observe(0));
  CHECK(g.accepting());
}

namespace {

// One drain of `per_second` messages at the end of each of `seconds` seconds.
void drainSteadily(ManualClock& clock, RetryAfterEstimator& est, int64_t per_second, int seconds) {
  for (int i = 0; i < seconds; ++i) {
    clock.advanceMs(1000);
    est.onDrained(per_second);
  }
}

}  // namespace

TEST_CASE("retry-after: idle default when nothing drained", "[gate]") {
  ManualClock clock;
  RetryAfterEstimator est(clock);
  CHECK(est.drainRatePerSecond() == 0);
  CHECK(est.retryAfterSeconds(10, 5, 0) == RetryAfterEstimator::kIdleSeconds);
  CHECK(est.retryAfterSeconds(1000, 5, 0) == RetryAfterEstimator::kIdleSeconds);
  // Nothing to drain: the lower bound, not the idle default.
  CHECK(est.retryAfterSeconds(5, 5, 0) == 1);
  CHECK(est.retryAfterSeconds(0, 5, 0) == 1);
  // Non-positive drains are ignored.
  est.onDrained(0);
  est.onDrained(-3);
  CHECK(est.retryAfterSeconds(10, 5, 0) == RetryAfterEstimator::kIdleSeconds);
}

TEST_CASE("retry-after: estimate from the drain rate", "[gate]") {
  ManualClock clock;
  RetryAfterEstimator est(clock);

  SECTION("one message a second") {
    drainSteadily(clock, est, 1, 10);
    CHECK(est.drainRatePerSecond() == Approx(1.0));
    CHECK(est.retryAfterSeconds(10, 5, 0) == 5);
    CHECK(est.retryAfterSeconds(6, 5, 0) == 1);
  }

  SECTION("two a second, rounded up") {
    drainSteadily(clock, est, 2, 10);
    CHECK(est.drainRatePerSecond() == Approx(2.0));
    CHECK(est.retryAfterSeconds(10, 5, 0) == 3);  // ceil(5 / 2)
    CHECK(est.retryAfterSeconds(9, 5, 0) == 2);
  }

  SECTION("a young estimator divides by the seconds it has seen") {
    est.onDrained(4);
    CHECK(est.drainRatePerSecond() == Approx(4.0));
    CHECK(est.retryAfterSeconds(13, 5, 0) == 2);  // 8 at 4/s
    clock.advanceMs(1000);
    CHECK(est.drainRatePerSecond() == Approx(2.0));
    CHECK(est.retryAfterSeconds(13, 5, 0) == 4);
  }

  SECTION("the window slides: drains older than ten seconds are forgotten") {
    est.onDrained(10);
    clock.advanceMs(9999);
    CHECK(est.drainRatePerSecond() == Approx(1.0));
    CHECK(est.retryAfterSeconds(10, 5, 0) == 5);
    clock.advanceMs(1);
    CHECK(est.drainRatePerSecond() == 0);
    CHECK(est.retryAfterSeconds(10, 5, 0) == RetryAfterEstimator::kIdleSeconds);
  }

  SECTION("a faster recent rate shortens the advice") {
    drainSteadily(clock, est, 1, 10);
    drainSteadily(clock, est, 5, 10);
    CHECK(est.drainRatePerSecond() == Approx(5.0));
    CHECK(est.retryAfterSeconds(30, 5, 0) == 5);
  }
}

TEST_CASE("retry-after: bounded to 1..60 seconds", "[gate]") {
  ManualClock clock;
  RetryAfterEstimator est(clock);

  SECTION("slow drain hits the ceiling") {
    drainSteadily(clock, est, 1, 1);
    clock.advanceMs(9000);  // one message in the last ten seconds: 0.1/s
    CHECK(est.retryAfterSeconds(10, 5, 0) == 50);
    CHECK(est.retryAfterSeconds(12, 5, 0) == 60);
    CHECK(est.retryAfterSeconds(1'000'000'000'000'000, 5, 0) == 60);
  }

  SECTION("fast drain hits the floor") {
    drainSteadily(clock, est, 100, 10);
    CHECK(est.retryAfterSeconds(10, 5, 0) == 1);
  }
}

TEST_CASE("retry-after: never before the breaker's open period is over", "[gate]") {
  ManualClock clock;
  RetryAfterEstimator est(clock);
  drainSteadily(clock, est, 5, 10);
  CHECK(est.retryAfterSeconds(10, 5, 0) == 1);
  CHECK(est.retryAfterSeconds(10, 5, 12500) == 13);  // rounded up
  CHECK(est.retryAfterSeconds(10, 5, 1) == 1);
  CHECK(est.retryAfterSeconds(4, 5, 3000) == 3);  // queue empty, breaker open
  // The queue estimate wins when it is longer.
  CHECK(est.retryAfterSeconds(105, 5, 3000) == 20);
  // The 60 s ceiling holds even for a longer open period.
  CHECK(est.retryAfterSeconds(10, 5, 120000) == 60);
  // And with no drain rate, the longer of the idle default and the breaker.
  RetryAfterEstimator idle(clock);
  CHECK(idle.retryAfterSeconds(10, 5, 8000) == 8);
  CHECK(idle.retryAfterSeconds(10, 5, 2000) == RetryAfterEstimator::kIdleSeconds);
}

TEST_CASE("gate: new thresholds keep the state and judge the next depth", "[gate][reload]") {
  BackpressureGate g(10, 5);
  CHECK(g.observe(10));
  REQUIRE_FALSE(g.accepting());
  g.setThresholds(20, 8);
  CHECK_FALSE(g.accepting());  // a reload does not open a closed gate by itself
  CHECK(g.max() == 20);
  CHECK(g.recovery() == 8);
  CHECK(g.observe(8));  // but 8 is now low enough
  CHECK(g.accepting());
  CHECK_FALSE(g.observe(15));  // and 15 no longer full
  CHECK(g.observe(20));
}
