// The relay's schedule, driven by hand: the regular poll's cadence, an extra
// wake-up at the moment something comes due (the breaker half-opens, a retry
// ends its backoff), and nothing after stop().

#include "services/relay/relay_schedule.hpp"

#include <catch2/catch.hpp>
#include <vector>

#include "core/manual_timer.hpp"

namespace redge {

namespace {

struct Fixture {
  ManualClock clock{0};
  ManualTimerFactory timers{clock};
  std::vector<int64_t> polls;  // clock times of the polls
  RelaySchedule schedule{timers, clock, 100, [this] { polls.push_back(clock.nowMs()); }};
};

}  // namespace

TEST_CASE("relay schedule: polls every poll_ms once started", "[relay_schedule]") {
  Fixture f;
  f.timers.advance(500);
  CHECK(f.polls.empty());  // not before start()
  f.schedule.start();
  f.timers.advance(350);
  CHECK(f.polls == std::vector<int64_t>{600, 700, 800});
}

TEST_CASE("relay schedule: a wake-up before the next poll adds a poll at that moment",
          "[relay_schedule]") {
  Fixture f;
  f.schedule.start();     // polls at 100, 200, ...
  f.timers.advance(10);   // t = 10
  f.schedule.pollIn(35);  // the breaker half-opens at 45
  f.timers.advance(100);  // to 110
  CHECK(f.polls == std::vector<int64_t>{45, 100});
}

TEST_CASE("relay schedule: of several wake-ups the earliest counts, once", "[relay_schedule]") {
  Fixture f;
  f.schedule.start();
  f.schedule.pollIn(60);
  f.schedule.pollIn(30);
  f.schedule.pollIn(80);  // later than the pending one: no change
  f.timers.advance(99);
  CHECK(f.polls == std::vector<int64_t>{30});
}

TEST_CASE("relay schedule: a wake-up after the next regular poll is not needed",
          "[relay_schedule]") {
  Fixture f;
  f.schedule.start();
  f.schedule.pollIn(5000);  // a long backoff: the regular polls will find it
  f.timers.advance(300);
  CHECK(f.polls == std::vector<int64_t>{100, 200, 300});
  CHECK(f.timers.armedCount() == 1);  // only the regular poll
}

TEST_CASE("relay schedule: nothing polls after stop", "[relay_schedule]") {
  Fixture f;
  f.schedule.start();
  f.schedule.pollIn(20);
  f.schedule.stop();
  f.timers.advance(1000);
  CHECK(f.polls.empty());
  CHECK(f.timers.armedCount() == 0);
  f.schedule.pollIn(10);  // ignored while stopped
  f.timers.advance(100);
  CHECK(f.polls.empty());
}

TEST_CASE("relay schedule: a poll that wakes the worker may ask for the next wake-up",
          "[relay_schedule]") {
  // The worker holds a message until the breaker half-opens, and from that
  // poll asks again for the next half-open: one wake-up each time.
  ManualClock clock{0};
  ManualTimerFactory timers{clock};
  std::vector<int64_t> polls;
  RelaySchedule* self = nullptr;
  RelaySchedule schedule(timers, clock, 1000, [&] {
    polls.push_back(clock.nowMs());
    if (clock.nowMs() < 300) self->pollIn(100);
  });
  self = &schedule;
  schedule.start();
  schedule.pollIn(100);
  timers.advance(999);
  CHECK(polls == std::vector<int64_t>{100, 200, 300});
}

}  // namespace redge
