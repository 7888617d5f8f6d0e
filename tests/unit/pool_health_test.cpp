// A pool's health on a ManualClock: the events and eligibility from checks,
// passive ejections and their timely return, the max_ejection_percent limit
// (refused once per failure run, made once room frees), the pool's counts,
// and an observer that changes the membership from inside an event.

#include "upstream/pool_health.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace redge {

namespace {

struct Fixture {
  explicit Fixture(HealthOptions o = {}) : health(clock, o) {
    health.setObserver([this](const HealthEvent& e) {
      events.push_back(std::to_string(e.member) + ":" + std::string(healthEventName(e.kind)) +
                       (e.eligible ? "+" : "-"));
      last = e;
    });
  }
  void fail(uint32_t member, int times) {
    for (int i = 0; i < times; ++i) health.onRequestFailed(member);
  }
  std::vector<std::string> take() {
    std::vector<std::string> out;
    out.swap(events);
    return out;
  }

  ManualClock clock{0};
  PoolHealth health;
  std::vector<std::string> events;
  HealthEvent last;
};

using Events = std::vector<std::string>;

}  // namespace

TEST_CASE("pool health: a member is eligible only from its first passing check", "[pool_health]") {
  Fixture f;
  CHECK(f.health.addMember(0));
  CHECK_FALSE(f.health.addMember(0));
  CHECK_FALSE(f.health.eligible(0));
  CHECK(f.take().empty());  // joining is silent: not eligible yet
  f.health.onCheckPassed(0);
  CHECK(f.health.eligible(0));
  CHECK(f.take() == Events{"0:up+"});
  for (int i = 0; i < 3; ++i) f.health.onCheckFailed(0);
  CHECK(f.take() == Events{"0:down-"});
  CHECK(f.health.eligibleCount() == 0);
  CHECK_FALSE(f.health.eligible(7));  // unknown
  f.health.onCheckPassed(7);          // ignored
  f.health.onRequestFailed(7);
  CHECK(f.take().empty());
}

TEST_CASE("pool health: without active checks a member is up as it joins", "[pool_health]") {
  HealthOptions o;
  o.active_checks = false;
  Fixture f(o);
  f.health.addMember(2);
  CHECK(f.take() == Events{"2:up+"});
  CHECK(f.health.eligibleCount() == 1);
  CHECK(f.health.size() == 1);
}

TEST_CASE("pool health: five failed requests eject a member for 30 s, then it returns",
          "[pool_health]") {
  HealthOptions o;
  o.active_checks = false;
  Fixture f(o);
  f.health.addMember(0);
  f.health.addMember(1);
  f.take();
  f.fail(0, 4);
  f.health.onRequestSucceeded(0);
  f.fail(0, 4);
  CHECK(f.take().empty());
  f.clock.setMs(1000);
  f.health.onRequestFailed(0);
  CHECK(f.take() == Events{"0:ejected-"});
  CHECK(f.last.ejection_ms == 30000);
  CHECK(f.last.ejection_count == 1);
  CHECK(f.last.failures_in_row == 5);
  CHECK(f.health.ejectedCount() == 1);
  CHECK(f.health.eligibleCount() == 1);
  CHECK(f.health.msUntilNextReturn() == 30000);

  f.clock.setMs(30999);
  f.health.refresh();
  CHECK(f.take().empty());
  CHECK(f.health.msUntilNextReturn() == 1);
  f.clock.setMs(31000);
  f.health.refresh();
  CHECK(f.take() == Events{"0:returned+"});
  CHECK(f.health.eligible(0));
  CHECK(f.health.msUntilNextReturn() == -1);

  // Ejected again straight away: twice as long.
  f.fail(0, 5);
  CHECK(f.last.ejection_ms == 60000);
  // Any call notices a due return, not only refresh().
  f.clock.setMs(31000 + 60000);
  f.health.onRequestSucceeded(1);
  CHECK(f.take() == Events{"0:ejected-", "0:returned+"});
}

TEST_CASE("pool health: at most max_ejection_percent of the pool is ejected at once",
          "[pool_health]") {
  HealthOptions o;
  o.active_checks = false;
  Fixture f(o);  // 50%
  for (uint32_t m = 0; m < 4; ++m) f.health.addMember(m);
  f.take();
  f.fail(0, 5);
  f.clock.advanceMs(1000);
  f.fail(1, 5);
  CHECK(f.health.ejectedCount() == 2);
  f.fail(2, 5);
  f.fail(2, 5);  // refused again: said once per run of failures
  CHECK(f.take() == Events{"0:ejected-", "1:ejected-", "2:ejection_refused+"});
  CHECK(f.last.failures_in_row == 5);
  CHECK(f.health.eligible(2));
  CHECK(f.health.ejectedCount() == 2);
  f.health.onRequestSucceeded(2);  // a new run may be refused (and said) again
  f.fail(2, 5);
  CHECK(f.take() == Events{"2:ejection_refused+"});

  // Member 0 returns at 30 s; member 2's next failure ejects it.
  f.clock.setMs(30000);
  f.health.refresh();
  CHECK(f.take() == Events{"0:returned+"});
  CHECK(f.health.msUntilNextReturn() == 1000);  // member 1, ejected a second later
  f.health.onRequestFailed(2);
  CHECK(f.take() == Events{"2:ejected-"});
  CHECK(f.last.failures_in_row == 6);
}

TEST_CASE("pool health: a one-member pool is never ejected at 50%", "[pool_health]") {
  HealthOptions o;
  o.active_checks = false;
  Fixture f(o);
  f.health.addMember(0);
  f.take();
  f.fail(0, 20);
  CHECK(f.take() == Events{"0:ejection_refused+"});
  CHECK(f.health.eligible(0));
  HealthOptions all = o;
  all.max_ejection_percent = 100;
  Fixture g(all);
  g.health.addMember(0);
  g.fail(0, 5);
  CHECK_FALSE(g.health.eligible(0));
}

TEST_CASE("pool health: removing an ejected member frees its place and its return",
          "[pool_health]") {
  HealthOptions o;
  o.active_checks = false;
  Fixture f(o);
  f.health.addMember(0);
  f.health.addMember(1);
  f.fail(0, 5);
  CHECK(f.health.ejectedCount() == 1);
  CHECK(f.health.removeMember(0));
  CHECK_FALSE(f.health.removeMember(0));
  CHECK(f.health.ejectedCount() == 0);
  CHECK(f.health.size() == 1);
  CHECK(f.health.eligibleCount() == 1);
  CHECK(f.health.msUntilNextReturn() == -1);
  f.take();
  f.clock.advanceMs(60000);
  f.health.refresh();
  CHECK(f.take().empty());
  // Added again, it starts afresh.
  f.health.addMember(0);
  CHECK(f.take() == Events{"0:up+"});
  CHECK(f.health.find(0)->ejectionCount() == 0);
}

TEST_CASE("pool health: the observer may change the membership from inside an event",
          "[pool_health]") {
  HealthOptions o;
  o.active_checks = false;
  o.max_ejection_percent = 100;
  ManualClock clock{0};
  PoolHealth health(clock, o);
  std::vector<std::string> seen;
  health.setObserver([&](const HealthEvent& e) {
    seen.push_back(std::to_string(e.member) + ":" + std::string(healthEventName(e.kind)));
    // A member that returns is replaced by a fresh one at a higher index.
    if (e.kind == HealthEventKind::Returned) {
      health.removeMember(e.member);
      health.addMember(e.member + 10);
    }
  });
  health.addMember(0);
  health.addMember(1);
  for (int i = 0; i < 5; ++i) health.onRequestFailed(0);
  for (int i = 0; i < 5; ++i) health.onRequestFailed(1);
  clock.setMs(30000);
  health.refresh();
  CHECK(seen == std::vector<std::string>{"0:up", "1:up", "0:ejected", "1:ejected", "0:returned",
                                         "10:up", "1:returned", "11:up"});
  CHECK(health.size() == 2);
  CHECK(health.eligibleCount() == 2);
  CHECK(health.ejectedCount() == 0);
}

TEST_CASE("pool health: counts follow active and passive verdicts together", "[pool_health]") {
  Fixture f;
  HealthOptions o;
  for (uint32_t m = 0; m < 3; ++m) {
    f.health.addMember(m);
    f.health.onCheckPassed(m);
  }
  CHECK(f.health.eligibleCount() == 3);
  f.fail(1, 5);  // ejected while healthy
  CHECK(f.health.eligibleCount() == 2);
  for (int i = 0; i < 3; ++i) f.health.onCheckFailed(1);  // and down
  CHECK(f.health.eligibleCount() == 2);
  f.clock.advanceMs(o.base_ejection_ms);
  f.health.refresh();
  CHECK(f.health.ejectedCount() == 0);
  CHECK(f.health.eligibleCount() == 2);  // returned, but still down
  f.health.onCheckPassed(1);
  f.health.onCheckPassed(1);
  CHECK(f.health.eligibleCount() == 3);
}

}  // namespace redge
