// CircuitBreaker: every transition of Closed / Open / HalfOpen on a manual
// clock — the two ways to open (ratio over the rolling window, failures in a
// row), window expiry at bucket granularity, the doubling open period and its
// reset, half-open probe admission, rejection counting, the transition
// observer, and results that arrive late, while the breaker is open. Last,
// the relay's way of using it: calls held back while it is open, and the
// rule that refuses each of them at most once per open period.

#include "resilience/circuit_breaker.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"

using redge::BreakerState;
using redge::CircuitBreaker;
using redge::CircuitBreakerOptions;
using redge::ManualClock;

namespace {

using Transition = std::pair<BreakerState, BreakerState>;

// Options where only the rule under test can open the breaker.
CircuitBreakerOptions ratioOnly(int64_t min_calls, double ratio) {
  CircuitBreakerOptions o;
  o.min_calls = min_calls;
  o.failure_ratio = ratio;
  o.consecutive_failures = 1000;
  return o;
}

CircuitBreakerOptions runOnly(int64_t run) {
  CircuitBreakerOptions o;
  o.min_calls = 1000;
  o.consecutive_failures = run;
  return o;
}

void fail(CircuitBreaker& b, int n) {
  for (int i = 0; i < n; ++i) b.onFailure();
}

void succeed(CircuitBreaker& b, int n) {
  for (int i = 0; i < n; ++i) b.onSuccess();
}

// Trips a closed breaker through its consecutive_failures rule.
void trip(CircuitBreaker& b) {
  fail(b, static_cast<int>(b.options().consecutive_failures));
}

// From Open: waits out the period, admits one probe and fails it.
void reopen(CircuitBreaker& b, ManualClock& clock) {
  clock.advanceMs(b.remainingOpenMs());
  REQUIRE(b.state() == BreakerState::HalfOpen);
  REQUIRE(b.allow());
  b.onFailure();
  REQUIRE(b.state() == BreakerState::Open);
}

}  // namespace

TEST_CASE("breaker: starts closed and allows calls", "[breaker]") {
  ManualClock clock;
  CircuitBreaker b(clock);
  CHECK(b.state() == BreakerState::Closed);
  CHECK(b.allow());
  CHECK(b.remainingOpenMs() == 0);
  CHECK(b.currentOpenMs() == 5000);
  const auto c = b.counts();
  CHECK(c.calls_in_window == 0);
  CHECK(c.failures_in_window == 0);
  CHECK(c.consecutive_failures == 0);
  CHECK(c.opened_total == 0);
  CHECK(c.rejected_total == 0);
}

TEST_CASE("breaker: state names for logs", "[breaker]") {
  CHECK(std::string(redge::breakerStateName(BreakerState::Closed)) == "closed");
  CHECK(std::string(redge::breakerStateName(BreakerState::Open)) == "open");
  CHECK(std::string(redge::breakerStateName(BreakerState::HalfOpen)) == "half_open");
}

TEST_CASE("breaker: stays closed below min_calls even at 100% failure", "[breaker]") {
  ManualClock clock;
  CircuitBreakerOptions o;
  o.min_calls = 10;
  o.consecutive_failures = 5;
  CircuitBreaker b(clock, o);
  fail(b, 4);
  CHECK(b.state() == BreakerState::Closed);
  CHECK(b.counts().failures_in_window == 4);
  CHECK(b.allow());
  // The run, not the ratio, opens it: 5 calls are still below min_calls.
  b.onFailure();
  CHECK(b.state() == BreakerState::Open);
  CHECK(b.counts().calls_in_window == 5);
}

TEST_CASE("breaker: ratio opens at exactly failure_ratio", "[breaker]") {
  ManualClock clock;

  SECTION("0.5 over 4 calls") {
    CircuitBreaker b(clock, ratioOnly(4, 0.5));
    b.onSuccess();
    b.onFailure();
    b.onSuccess();
    CHECK(b.state() == BreakerState::Closed);  // 3 calls < min_calls
    b.onFailure();                             // 2/4 == 0.5
    CHECK(b.state() == BreakerState::Open);
    CHECK(b.counts().opened_total == 1);
  }

  SECTION("0.3 over 10 calls: no rounding lets 3/10 slip under") {
    CircuitBreaker b(clock, ratioOnly(10, 0.3));
    succeed(b, 7);
    fail(b, 2);
    CHECK(b.state() == BreakerState::Closed);
    b.onFailure();  // 3/10
    CHECK(b.state() == BreakerState::Open);
  }

  SECTION("just below the ratio stays closed") {
    CircuitBreaker b(clock, ratioOnly(10, 0.3));
    succeed(b, 8);
    fail(b, 2);  // 2/10
    b.onSuccess();
    b.onFailure();  // 3/12 = 0.25
    CHECK(b.state() == BreakerState::Closed);
    b.onFailure();  // 4/13 = 0.307...
    CHECK(b.state() == BreakerState::Open);
  }

  SECTION("the success that reaches min_calls can open it") {
    CircuitBreaker b(clock, ratioOnly(5, 0.5));
    fail(b, 3);
    b.onSuccess();
    CHECK(b.state() == BreakerState::Closed);  // 4 calls
    b.onSuccess();                             // 3/5 = 0.6 with 5 calls
    CHECK(b.state() == BreakerState::Open);
  }
}

TEST_CASE("breaker: old results age out of the window", "[breaker]") {
  ManualClock clock;  // starts at 1,000,000 ms: on a bucket boundary
  CircuitBreaker b(clock, ratioOnly(5, 0.5));

  SECTION("expiry exact to the bucket") {
    fail(b, 4);
    clock.advanceMs(9999);
    CHECK(b.counts().failures_in_window == 4);
    clock.advanceMs(1);  // the bucket of t0 leaves the 10 s window
    CHECK(b.counts().calls_in_window == 0);
    CHECK(b.counts().failures_in_window == 0);
    // The four old failures no longer count: 1 failure in 5 calls.
    b.onFailure();
    succeed(b, 4);
    CHECK(b.state() == BreakerState::Closed);
    CHECK(b.counts().calls_in_window == 5);
    CHECK(b.counts().failures_in_window == 1);
  }

  SECTION("granularity is window_ms / 10: a result late in a bucket expires with it") {
    clock.advanceMs(999);
    b.onFailure();
    clock.advanceMs(9000);  // 9,000 ms after the failure, still t0's bucket window
    CHECK(b.counts().failures_in_window == 1);
    clock.advanceMs(1);  // 9,001 ms after it: its bucket is gone
    CHECK(b.counts().failures_in_window == 0);
  }

  SECTION("only the old part of the window expires") {
    fail(b, 2);
    clock.advanceMs(5000);
    succeed(b, 2);
    clock.advanceMs(5000);
    CHECK(b.counts().calls_in_window == 2);
    CHECK(b.counts().failures_in_window == 0);
    // 2/5 on what is still in the window; with the expired failures it
    // would have been 4/7 and open.
    fail(b, 2);
    b.onSuccess();
    CHECK(b.state() == BreakerState::Closed);
    CHECK(b.counts().calls_in_window == 5);
    CHECK(b.counts().failures_in_window == 2);
  }

  SECTION("a window shorter than ten milliseconds still expires") {
    CircuitBreakerOptions o = ratioOnly(5, 0.5);
    o.window_ms = 5;
    CircuitBreaker tiny(clock, o);
    fail(tiny, 4);
    clock.advanceMs(4);
    CHECK(tiny.counts().failures_in_window == 4);
    clock.advanceMs(1);
    CHECK(tiny.counts().failures_in_window == 0);
  }

  SECTION("a clock stepped back does not count future buckets") {
    fail(b, 3);
    clock.advanceMs(-2000);
    CHECK(b.counts().calls_in_window == 0);
  }
}

TEST_CASE("breaker: failures in a row open it", "[breaker]") {
  ManualClock clock;
  CircuitBreaker b(clock, runOnly(3));
  fail(b, 2);
  CHECK(b.state() == BreakerState::Closed);
  CHECK(b.counts().consecutive_failures == 2);
  b.onFailure();
  CHECK(b.state() == BreakerState::Open);
  CHECK(b.counts().consecutive_failures == 3);
  CHECK(b.counts().opened_total == 1);
}

TEST_CASE("breaker: a success resets the run", "[breaker]") {
  ManualClock clock;
  CircuitBreaker b(clock, runOnly(3));
  fail(b, 2);
  b.onSuccess();
  CHECK(b.counts().consecutive_failures == 0);
  fail(b, 2);
  CHECK(b.state() == BreakerState::Closed);
  CHECK(b.counts().consecutive_failures == 2);
  b.onFailure();
  CHECK(b.state() == BreakerState::Open);
}

TEST_CASE("breaker: open period doubles on each re-open, capped, reset by closing", "[breaker]") {
  ManualClock clock;
  CircuitBreakerOptions o = runOnly(1);
  o.open_ms = 5000;
  o.max_open_ms = 60000;
  CircuitBreaker b(clock, o);

  trip(b);
  CHECK(b.currentOpenMs() == 5000);
  CHECK(b.remainingOpenMs() == 5000);

  const std::vector<int64_t> expected = {10000, 20000, 40000, 60000, 60000};
  for (int64_t period : expected) {
    reopen(b, clock);
    CHECK(b.currentOpenMs() == period);
    CHECK(b.remainingOpenMs() == period);
  }
  CHECK(b.counts().opened_total == 6);

  // Close: the next open is back to open_ms.
  clock.advanceMs(b.remainingOpenMs());
  REQUIRE(b.allow());
  b.onSuccess();
  REQUIRE(b.state() == BreakerState::Closed);
  CHECK(b.currentOpenMs() == 5000);
  trip(b);
  CHECK(b.remainingOpenMs() == 5000);
  reopen(b, clock);
  CHECK(b.remainingOpenMs() == 10000);
}

TEST_CASE("breaker: the cap applies when doubling overshoots it", "[breaker]") {
  ManualClock clock;
  CircuitBreakerOptions o = runOnly(1);
  o.open_ms = 5000;
  o.max_open_ms = 12000;
  CircuitBreaker b(clock, o);
  trip(b);
  reopen(b, clock);
  CHECK(b.remainingOpenMs() == 10000);
  reopen(b, clock);
  CHECK(b.remainingOpenMs() == 12000);
  reopen(b, clock);
  CHECK(b.remainingOpenMs() == 12000);
}

TEST_CASE("breaker: currentOpenMs names the period of the next open", "[breaker]") {
  ManualClock clock;
  CircuitBreakerOptions o = runOnly(1);
  CircuitBreaker b(clock, o);
  CHECK(b.currentOpenMs() == 5000);  // closed: the first period
  trip(b);
  CHECK(b.currentOpenMs() == 5000);  // open: the running period
  clock.advanceMs(5000);
  // Over but not yet noticed: already half-open in effect, so the next open
  // would be the doubled one.
  CHECK(b.currentOpenMs() == 10000);
  CHECK(b.state() == BreakerState::HalfOpen);
  CHECK(b.currentOpenMs() == 10000);
}

TEST_CASE("breaker: the open period ends exactly on time, lazily", "[breaker]") {
  ManualClock clock;
  CircuitBreaker b(clock, runOnly(1));
  trip(b);
  clock.advanceMs(4999);
  CHECK(b.state() == BreakerState::Open);
  CHECK(b.remainingOpenMs() == 1);
  CHECK_FALSE(b.allow());
  clock.advanceMs(1);
  CHECK(b.remainingOpenMs() == 0);
  CHECK(b.state() == BreakerState::HalfOpen);
}

TEST_CASE("breaker: allow() is false while open and counts rejections", "[breaker]") {
  ManualClock clock;
  CircuitBreaker b(clock, runOnly(2));
  CHECK(b.allow());
  CHECK(b.counts().rejected_total == 0);  // closed: nothing rejected
  trip(b);
  for (int i = 0; i < 7; ++i) {
    CHECK_FALSE(b.allow());
    clock.advanceMs(100);
  }
  CHECK(b.counts().rejected_total == 7);
  CHECK(b.counts().opened_total == 1);
}

TEST_CASE("breaker: remainingOpenMs counts down and is 0 unless open", "[breaker]") {
  ManualClock clock;
  CircuitBreaker b(clock, runOnly(1));
  CHECK(b.remainingOpenMs() == 0);
  trip(b);
  CHECK(b.remainingOpenMs() == 5000);
  clock.advanceMs(1234);
  CHECK(b.remainingOpenMs() == 3766);
  clock.advanceMs(3766);
  CHECK(b.remainingOpenMs() == 0);  // half-open now
  REQUIRE(b.allow());
  b.onSuccess();
  CHECK(b.remainingOpenMs() == 0);  // closed
}

TEST_CASE("breaker: half-open admits exactly half_open_probes", "[breaker]") {
  ManualClock clock;

  SECTION("one probe; its success closes the breaker") {
    CircuitBreaker b(clock, runOnly(1));
    trip(b);
    clock.advanceMs(5000);
    CHECK(b.allow());
    CHECK(b.state() == BreakerState::HalfOpen);
    CHECK_FALSE(b.allow());  // the probe is still in flight
    CHECK(b.counts().rejected_total == 1);
    b.onSuccess();
    CHECK(b.state() == BreakerState::Closed);
    CHECK(b.allow());
  }

  SECTION("three probes in flight at once need three successes") {
    CircuitBreakerOptions o = runOnly(1);
    o.half_open_probes = 3;
    CircuitBreaker b(clock, o);
    trip(b);
    clock.advanceMs(5000);
    CHECK(b.allow());
    CHECK(b.allow());
    CHECK(b.allow());
    CHECK_FALSE(b.allow());
    b.onSuccess();
    b.onSuccess();
    CHECK(b.state() == BreakerState::HalfOpen);
    CHECK_FALSE(b.allow());  // 1 in flight + 2 succeeded
    b.onSuccess();
    CHECK(b.state() == BreakerState::Closed);
  }

  SECTION("three probes one after another") {
    CircuitBreakerOptions o = runOnly(1);
    o.half_open_probes = 3;
    CircuitBreaker b(clock, o);
    trip(b);
    clock.advanceMs(5000);
    for (int i = 0; i < 2; ++i) {
      REQUIRE(b.allow());
      b.onSuccess();
      CHECK(b.state() == BreakerState::HalfOpen);
    }
    REQUIRE(b.allow());
    CHECK_FALSE(b.allow());
    b.onSuccess();
    CHECK(b.state() == BreakerState::Closed);
  }

  SECTION("one failed probe re-opens after earlier successes") {
    CircuitBreakerOptions o = runOnly(1);
    o.half_open_probes = 3;
    CircuitBreaker b(clock, o);
    trip(b);
    clock.advanceMs(5000);
    REQUIRE(b.allow());
    REQUIRE(b.allow());
    REQUIRE(b.allow());
    b.onSuccess();
    b.onSuccess();
    b.onFailure();
    CHECK(b.state() == BreakerState::Open);
    CHECK(b.remainingOpenMs() == 10000);
    // The next half-open starts with a clean slate of probes.
    clock.advanceMs(10000);
    CHECK(b.allow());
    CHECK(b.allow());
    CHECK(b.allow());
    CHECK_FALSE(b.allow());
  }
}

TEST_CASE("breaker: closing clears the window", "[breaker]") {
  ManualClock clock;
  CircuitBreakerOptions o;
  o.min_calls = 4;
  o.failure_ratio = 0.5;
  o.consecutive_failures = 4;
  CircuitBreaker b(clock, o);
  fail(b, 4);
  REQUIRE(b.state() == BreakerState::Open);
  clock.advanceMs(5000);
  REQUIRE(b.allow());
  b.onSuccess();
  REQUIRE(b.state() == BreakerState::Closed);
  const auto c = b.counts();
  CHECK(c.calls_in_window == 0);
  CHECK(c.failures_in_window == 0);
  CHECK(c.consecutive_failures == 0);
  // Without the clear, 4 old failures + this one would be 5/5.
  b.onFailure();
  CHECK(b.state() == BreakerState::Closed);
}

TEST_CASE("breaker: the observer sees each change exactly once, in order", "[breaker]") {
  ManualClock clock;
  CircuitBreaker b(clock, runOnly(2));
  std::vector<Transition> seen;
  std::vector<uint64_t> opened_at_open;
  b.onTransition([&](BreakerState from, BreakerState to) {
    seen.emplace_back(from, to);
    // The observer may read the breaker; it sees the new state.
    CHECK(b.state() == to);
    if (to == BreakerState::Open) opened_at_open.push_back(b.counts().opened_total);
  });

  trip(b);
  CHECK_FALSE(b.allow());
  CHECK(b.state() == BreakerState::Open);
  clock.advanceMs(5000);
  // Noticed once, however many calls look at the clock.
  CHECK(b.state() == BreakerState::HalfOpen);
  CHECK(b.state() == BreakerState::HalfOpen);
  CHECK(b.remainingOpenMs() == 0);
  REQUIRE(b.allow());
  b.onFailure();
  clock.advanceMs(10000);
  REQUIRE(b.allow());  // Open -> HalfOpen noticed by allow()
  b.onSuccess();
  b.onSuccess();  // closed already: no transition

  const std::vector<Transition> expected = {
      {BreakerState::Closed, BreakerState::Open},     {BreakerState::Open, BreakerState::HalfOpen},
      {BreakerState::HalfOpen, BreakerState::Open},   {BreakerState::Open, BreakerState::HalfOpen},
      {BreakerState::HalfOpen, BreakerState::Closed},
  };
  CHECK(seen == expected);
  CHECK(opened_at_open == std::vector<uint64_t>{1, 2});
}

TEST_CASE("breaker: late results while open change nothing but the window", "[breaker]") {
  ManualClock clock;
  CircuitBreaker b(clock, runOnly(2));
  std::vector<Transition> seen;
  b.onTransition([&](BreakerState from, BreakerState to) { seen.emplace_back(from, to); });
  trip(b);
  REQUIRE(seen.size() == 1);
  clock.advanceMs(1000);

  SECTION("a late success does not close it") {
    b.onSuccess();
    CHECK(b.state() == BreakerState::Open);
    CHECK(b.remainingOpenMs() == 4000);
    CHECK(b.counts().calls_in_window == 3);
    CHECK(seen.size() == 1);
  }

  SECTION("late failures neither re-open nor extend it") {
    fail(b, 5);
    CHECK(b.state() == BreakerState::Open);
    CHECK(b.remainingOpenMs() == 4000);
    CHECK(b.counts().failures_in_window == 7);
    CHECK(b.counts().opened_total == 1);
    CHECK(seen.size() == 1);
    // Nor do they double the next period.
    reopen(b, clock);
    CHECK(b.remainingOpenMs() == 10000);
  }

  SECTION("late results in half-open before any probe is admitted") {
    clock.advanceMs(4000);
    b.onSuccess();  // noticed the end of the period: Open -> HalfOpen
    CHECK(b.state() == BreakerState::HalfOpen);
    b.onFailure();
    CHECK(b.state() == BreakerState::HalfOpen);
    CHECK(seen.size() == 2);
    // The real probe still decides.
    REQUIRE(b.allow());
    b.onSuccess();
    CHECK(b.state() == BreakerState::Closed);
  }

  SECTION("results of the other probes after a failed probe re-opened it") {
    CircuitBreakerOptions o = runOnly(1);
    o.half_open_probes = 2;
    CircuitBreaker p(clock, o);
    trip(p);
    clock.advanceMs(5000);
    REQUIRE(p.allow());
    REQUIRE(p.allow());
    p.onFailure();
    REQUIRE(p.state() == BreakerState::Open);
    p.onSuccess();  // the second probe, now late
    CHECK(p.state() == BreakerState::Open);
    CHECK(p.remainingOpenMs() == 10000);
  }
}

TEST_CASE("breaker: onHeld counts a rejection and changes nothing else", "[breaker]") {
  ManualClock clock;
  CircuitBreaker b(clock, runOnly(1));
  trip(b);
  clock.advanceMs(1000);
  b.onHeld();
  b.onHeld();
  CHECK(b.counts().rejected_total == 2);
  CHECK(b.state() == BreakerState::Open);
  CHECK(b.remainingOpenMs() == 4000);
  CHECK(b.counts().consecutive_failures == 1);
  CHECK(b.counts().calls_in_window == 1);
  // Reported after the period ended, it still counts, and the breaker moves
  // on to half-open as time says, not because of the hold.
  clock.advanceMs(4000);
  b.onHeld();
  CHECK(b.counts().rejected_total == 3);
  CHECK(b.state() == BreakerState::HalfOpen);
  CHECK(b.allow());
}

TEST_CASE("breaker: calls held until it half-opens are refused at most once per open period",
          "[breaker]") {
  // The relay's rule, played on the pure breaker: every 10 ms the next
  // waiting call's turn comes. While open it is held until the open period
  // ends (remainingOpenMs) and reported with onHeld(); held calls return to
  // the front of the line only when their time has come and the breaker is
  // no longer open. Through half-open it is tried (the probe); the upstream
  // fails the first three probes and then recovers.
  ManualClock clock;
  CircuitBreakerOptions o = runOnly(1);
  o.open_ms = 300;
  o.max_open_ms = 1000;
  CircuitBreaker b(clock, o);
  std::deque<int> line;
  for (int i = 0; i < 8; ++i) line.push_back(i);
  std::map<int, int64_t> held;                      // call -> release time
  std::map<std::pair<int, uint64_t>, int> refused;  // (call, open period) -> refusals
  std::map<int, int> tried;                         // call -> calls made
  int probes_failed = 0;
  uint64_t holds = 0;
  std::vector<int> done;

  // The first call fails and opens the breaker.
  REQUIRE(b.allow());
  b.onFailure();
  REQUIRE(b.state() == BreakerState::Open);
  tried[line.front()] = 1;

  for (int step = 0; step < 1000 && done.size() < 8; ++step) {
    clock.advanceMs(10);
    if (b.remainingOpenMs() == 0) {
      // Release, earliest first, to the front of the line.
      std::vector<int> due;
      for (auto it = held.begin(); it != held.end();) {
        if (it->second <= clock.nowMs()) {
          due.push_back(it->first);
          it = held.erase(it);
        } else {
          ++it;
        }
      }
      for (auto it = due.rbegin(); it != due.rend(); ++it) line.push_front(*it);
    }
    if (line.empty()) continue;
    const int call = line.front();
    if (int64_t open_ms = b.remainingOpenMs(); open_ms > 0) {
      line.pop_front();
      held[call] = clock.nowMs() + open_ms;
      b.onHeld();
      ++holds;
      ++refused[{call, b.counts().opened_total}];
      continue;
    }
    if (!b.allow()) continue;  // half-open, the probe is out: wait
    line.pop_front();
    ++tried[call];
    if (b.state() == BreakerState::HalfOpen && probes_failed < 3) {
      ++probes_failed;
      b.onFailure();
      line.push_back(call);  // its retry waits behind the others
    } else {
      b.onSuccess();
      done.push_back(call);
    }
  }

  REQUIRE(done.size() == 8);
  CHECK(b.state() == BreakerState::Closed);
  CHECK(b.counts().opened_total == 4);  // the first open and three failed probes
  for (const auto& [key, n] : refused) {
    INFO("call " << key.first << " open period " << key.second);
    CHECK(n == 1);
  }
  // Every call but the probes was refused in every open period it waited
  // through: held, not forgotten, and not asked again while open.
  CHECK(holds > 8);
  CHECK(b.counts().rejected_total == holds);
  // Holding counted no attempt: eight successes and the four failures.
  int calls = 0;
  for (const auto& [call, n] : tried) calls += n;
  CHECK(calls == 8 + 4);
}

TEST_CASE("breaker: reconfigure keeps the state and judges the next result by the new rule",
          "[breaker][reload]") {
  ManualClock clock;
  CircuitBreaker b(clock, runOnly(5));
  for (int i = 0; i < 3; ++i) b.onFailure();
  CHECK(b.state() == BreakerState::Closed);
  b.reconfigure(runOnly(4));  // same window: the run of three is still there
  CHECK(b.counts().calls_in_window == 3);
  b.onFailure();  // the fourth in a row: the new threshold opens it
  CHECK(b.state() == BreakerState::Open);
}

TEST_CASE("breaker: reconfigure while open keeps the period's end, then uses the new open_ms",
          "[breaker][reload]") {
  ManualClock clock;
  CircuitBreakerOptions o = runOnly(1);
  o.open_ms = 1000;
  CircuitBreaker b(clock, o);
  b.onFailure();
  REQUIRE(b.state() == BreakerState::Open);
  o.open_ms = 200;
  o.max_open_ms = 400;
  b.reconfigure(o);
  CHECK(b.remainingOpenMs() == 1000);  // the period under way stands
  clock.advanceMs(1000);
  CHECK(b.state() == BreakerState::HalfOpen);
  REQUIRE(b.allow());
  b.onSuccess();
  REQUIRE(b.state() == BreakerState::Closed);
  b.onFailure();
  CHECK(b.remainingOpenMs() == 200);  // closed, then opened: the new first period
}

TEST_CASE("breaker: a new window_ms clears the window", "[breaker][reload]") {
  ManualClock clock;
  CircuitBreaker b(clock, ratioOnly(4, 0.5));
  b.onFailure();
  b.onFailure();
  b.onSuccess();
  REQUIRE(b.counts().calls_in_window == 3);
  CircuitBreakerOptions o = ratioOnly(4, 0.5);
  o.window_ms = 2000;
  b.reconfigure(o);
  CHECK(b.counts().calls_in_window == 0);
  b.onFailure();  // one call in the new window: min_calls not reached
  CHECK(b.state() == BreakerState::Closed);
}
