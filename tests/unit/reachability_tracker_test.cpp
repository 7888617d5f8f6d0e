// ReachabilityTracker: one Lost per outage however many refusals it holds,
// Regained only at the end of an outage (a first success is not news), and
// the probe schedule (once at start, then every reprobe_ms while not known
// reachable, never while reachable), on a manual clock.

#include "resilience/reachability_tracker.hpp"

#include <catch2/catch.hpp>

#include "core/clock.hpp"

using redge::ManualClock;
using redge::ReachabilityTracker;
using Change = redge::ReachabilityTracker::Change;
using State = redge::ReachabilityTracker::State;

TEST_CASE("reachability: starts unknown, and a first success is silent", "[reachability]") {
  ManualClock clock;
  ReachabilityTracker t(clock, 5000);
  CHECK(t.state() == State::Unknown);
  CHECK(t.onConnected() == Change::None);
  CHECK(t.state() == State::Reachable);
  CHECK(t.onConnected() == Change::None);
  CHECK(t.outages() == 0);
}

TEST_CASE("reachability: one Lost per outage, one Regained at its end", "[reachability]") {
  ManualClock clock;
  ReachabilityTracker t(clock, 5000);

  SECTION("refused from the start (nothing listens at start-up)") {
    CHECK(t.onRefused() == Change::Lost);
  }
  SECTION("refused after it was reachable") {
    REQUIRE(t.onConnected() == Change::None);
    CHECK(t.onRefused() == Change::Lost);
  }
  CHECK(t.state() == State::Unreachable);
  CHECK(t.outages() == 1);
  // Every further refusal in the same outage is silent: one line, not one
  // per message.
  for (int i = 0; i < 100; ++i) CHECK(t.onRefused() == Change::None);
  CHECK(t.outages() == 1);

  CHECK(t.onConnected() == Change::Regained);
  CHECK(t.onConnected() == Change::None);
  // The next outage is a new one.
  CHECK(t.onRefused() == Change::Lost);
  CHECK(t.onRefused() == Change::None);
  CHECK(t.outages() == 2);
}

TEST_CASE("reachability: probes once at start, then every reprobe_ms while unreachable",
          "[reachability]") {
  ManualClock clock;
  ReachabilityTracker t(clock, 5000);
  CHECK(t.probeDue());
  CHECK_FALSE(t.probeDue());  // the first probe is running
  t.onRefused();
  clock.advanceMs(4999);
  CHECK_FALSE(t.probeDue());
  clock.advanceMs(1);
  CHECK(t.probeDue());
  CHECK_FALSE(t.probeDue());
  clock.advanceMs(5000);
  CHECK(t.probeDue());
  t.onConnected();
  // Reachable: no probe, however long it stays so; real calls report.
  clock.advanceMs(60000);
  CHECK_FALSE(t.probeDue());
  t.onRefused();
  // An outage found by a real call: the last probe was long ago, so one is
  // due at once, then on schedule.
  CHECK(t.probeDue());
  CHECK_FALSE(t.probeDue());
}

TEST_CASE("reachability: an unanswered first probe is retried after reprobe_ms", "[reachability]") {
  ManualClock clock;
  ReachabilityTracker t(clock, 1000);
  CHECK(t.probeDue());
  clock.advanceMs(999);
  CHECK_FALSE(t.probeDue());
  clock.advanceMs(1);
  CHECK(t.probeDue());
  CHECK(t.state() == State::Unknown);
}
