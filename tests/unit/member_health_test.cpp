// One member's health: the active verdict (unchecked until a first check,
// then rise / fall runs) and the passive one (failure runs, ejection
// periods growing with the count, capped, and forgiven with time).

#include "upstream/member_health.hpp"

#include <catch2/catch.hpp>

namespace redge {

using Change = MemberHealth::Change;
using Active = MemberHealth::Active;

TEST_CASE("member health: a new member takes no traffic until a check passes", "[member_health]") {
  HealthOptions o;
  MemberHealth m(true);
  CHECK(m.active() == Active::Unchecked);
  CHECK_FALSE(m.eligible());
  CHECK(m.onCheckPassed(o) == Change::Up);  // one pass is enough the first time
  CHECK(m.active() == Active::Healthy);
  CHECK(m.eligible());
}

TEST_CASE("member health: a new member whose first check fails needs rise passes",
          "[member_health]") {
  HealthOptions o;  // rise 2
  MemberHealth m(true);
  CHECK(m.onCheckFailed(o) == Change::Down);
  CHECK(m.active() == Active::Unhealthy);
  CHECK(m.onCheckPassed(o) == Change::None);
  CHECK_FALSE(m.eligible());
  CHECK(m.onCheckPassed(o) == Change::Up);
  CHECK(m.eligible());
}

TEST_CASE("member health: fall failures in a row take it down, a pass resets the run",
          "[member_health]") {
  HealthOptions o;  // fall 3
  MemberHealth m(true);
  m.onCheckPassed(o);
  CHECK(m.onCheckFailed(o) == Change::None);
  CHECK(m.onCheckFailed(o) == Change::None);
  CHECK(m.onCheckPassed(o) == Change::None);  // run broken
  CHECK(m.onCheckFailed(o) == Change::None);
  CHECK(m.onCheckFailed(o) == Change::None);
  CHECK(m.eligible());
  CHECK(m.onCheckFailed(o) == Change::Down);
  CHECK_FALSE(m.eligible());
  CHECK(m.onCheckFailed(o) == Change::None);  // already down
}

TEST_CASE("member health: rise passes in a row bring it up, a failure resets the run",
          "[member_health]") {
  HealthOptions o;
  o.rise = 3;
  MemberHealth m(true);
  m.onCheckFailed(o);
  CHECK(m.onCheckPassed(o) == Change::None);
  CHECK(m.onCheckPassed(o) == Change::None);
  CHECK(m.onCheckFailed(o) == Change::None);
  CHECK(m.onCheckPassed(o) == Change::None);
  CHECK(m.onCheckPassed(o) == Change::None);
  CHECK(m.onCheckPassed(o) == Change::Up);
}

TEST_CASE("member health: without active checks a member starts healthy", "[member_health]") {
  MemberHealth m(false);
  CHECK(m.active() == Active::Healthy);
  CHECK(m.eligible());
}

TEST_CASE("member health: consecutive_failures failed requests make an ejection due",
          "[member_health]") {
  HealthOptions o;  // 5
  MemberHealth m(false);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(m.onRequestFailed(o));
  m.onRequestSucceeded();  // the run starts again
  CHECK(m.consecutiveFailures() == 0);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(m.onRequestFailed(o));
  CHECK(m.onRequestFailed(o));
  CHECK(m.onRequestFailed(o));  // still due until ejected or reset
  o.consecutive_failures = 0;
  MemberHealth never(false);
  for (int i = 0; i < 100; ++i) CHECK_FALSE(never.onRequestFailed(o));
}

TEST_CASE("member health: the ejection lasts base × count, capped, and ends on time",
          "[member_health]") {
  HealthOptions o;
  o.base_ejection_ms = 30000;
  o.max_ejection_ms = 100000;
  MemberHealth m(false);
  int64_t now = 0;
  CHECK(m.eject(now, o) == 30000);
  CHECK_FALSE(m.eligible());
  CHECK(m.ejectedUntilMs() == 30000);
  CHECK_FALSE(m.returnIfDue(29999));
  CHECK(m.returnIfDue(30000));
  CHECK(m.eligible());
  CHECK_FALSE(m.returnIfDue(30001));  // once
  // Ejected again at once: the count grows.
  CHECK(m.eject(30000, o) == 60000);
  CHECK(m.returnIfDue(90000));
  CHECK(m.eject(90000, o) == 90000);
  CHECK(m.returnIfDue(180000));
  CHECK(m.eject(180000, o) == 100000);  // 4 × 30 s, capped
  CHECK(m.returnIfDue(280000));
  CHECK(m.eject(280000, o) == 100000);  // the count stops at the cap
  CHECK(m.ejectionCount() == 4);
}

TEST_CASE("member health: time back in the pool forgives one ejection per base period",
          "[member_health]") {
  HealthOptions o;
  o.base_ejection_ms = 10000;
  o.max_ejection_ms = 1000000;
  MemberHealth m(false);
  m.eject(0, o);  // count 1, until 10 s
  m.returnIfDue(10000);
  m.eject(10000, o);  // count 2, until 30 s
  m.returnIfDue(30000);
  m.eject(30000, o);  // count 3, until 60 s
  CHECK(m.ejectionCount() == 3);
  CHECK(m.returnIfDue(75000));  // noticed late: the return counts from 60 s
  // 25 s back in the pool: two periods forgiven, 3 - 2 + 1 = 2.
  CHECK(m.eject(85000, o) == 20000);
  CHECK(m.returnIfDue(105000));
  // A long healthy stretch forgives everything: back to one period.
  CHECK(m.eject(1000000, o) == 10000);
}

TEST_CASE("member health: results while ejected change nothing", "[member_health]") {
  HealthOptions o;
  MemberHealth m(false);
  for (int i = 0; i < 5; ++i) m.onRequestFailed(o);
  m.eject(0, o);
  CHECK(m.consecutiveFailures() == 0);
  for (int i = 0; i < 10; ++i) CHECK_FALSE(m.onRequestFailed(o));
  CHECK(m.consecutiveFailures() == 0);
  m.returnIfDue(o.base_ejection_ms);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(m.onRequestFailed(o));
  CHECK(m.onRequestFailed(o));
}

TEST_CASE("member health: an ejected member that is also down needs both to come back",
          "[member_health]") {
  HealthOptions o;
  MemberHealth m(true);
  m.onCheckPassed(o);
  m.eject(0, o);
  for (int i = 0; i < 3; ++i) m.onCheckFailed(o);
  CHECK(m.active() == Active::Unhealthy);
  m.returnIfDue(o.base_ejection_ms);
  CHECK_FALSE(m.eligible());
  m.onCheckPassed(o);
  m.onCheckPassed(o);
  CHECK(m.eligible());
}

}  // namespace redge
