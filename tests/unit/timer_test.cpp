// The timer seam: ManualTimerFactory fires in deadline order with the clock at
// each deadline; the libuv timers and loop hooks keep the same contract on a
// real loop, which ends with uv_loop_close() == 0 (no handle left behind).

#include <uv.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/loop_hooks.hpp"
#include "core/manual_timer.hpp"
#include "core/uv_runtime.hpp"

namespace redge {

TEST_CASE("manual timers fire in deadline order with the clock at each deadline", "[timer]") {
  ManualClock clock(1000);
  ManualTimerFactory timers(clock);
  std::vector<std::string> fired;
  TimerPtr a = timers.createTimer([&] { fired.push_back("a@" + std::to_string(clock.nowMs())); });
  TimerPtr b = timers.createTimer([&] { fired.push_back("b@" + std::to_string(clock.nowMs())); });
  TimerPtr c = timers.createTimer([&] { fired.push_back("c@" + std::to_string(clock.nowMs())); });
  a->enable(300);
  b->enable(100);
  c->enable(100);  // same deadline as b, armed after it
  CHECK(timers.armedCount() == 3);
  CHECK(timers.msUntilNext() == 100);
  timers.advance(99);
  CHECK(fired.empty());
  timers.advance(1);
  CHECK(fired == std::vector<std::string>{"b@1100", "c@1100"});
  CHECK_FALSE(b->enabled());
  CHECK(a->enabled());
  timers.advance(1000);
  CHECK(fired.back() == "a@1300");
  CHECK(clock.nowMs() == 2100);
  CHECK(timers.armedCount() == 0);
  CHECK(timers.msUntilNext() == -1);
}

TEST_CASE("manual timers: a callback that re-arms within the span fires again", "[timer]") {
  ManualClock clock(0);
  ManualTimerFactory timers(clock);
  int fires = 0;
  TimerPtr poll;
  poll = timers.createTimer([&] {
    ++fires;
    poll->enable(100);
  });
  poll->enable(100);
  timers.advance(1000);
  CHECK(fires == 10);
  CHECK(poll->enabled());
}

TEST_CASE("manual timers: disabled or destroyed timers never fire", "[timer]") {
  ManualClock clock(0);
  ManualTimerFactory timers(clock);
  int fires = 0;
  TimerPtr kept = timers.createTimer([&] { ++fires; });
  TimerPtr dropped = timers.createTimer([&] { ++fires; });
  TimerPtr first = timers.createTimer([&] { dropped.reset(); });
  kept->enable(50);
  kept->disable();
  dropped->enable(200);
  first->enable(100);
  timers.advance(500);
  CHECK(fires == 0);
  CHECK(dropped == nullptr);
}

TEST_CASE("manual timers: enable(0) is due now, runDue fires it without moving time", "[timer]") {
  ManualClock clock(500);
  ManualTimerFactory timers(clock);
  int fires = 0;
  TimerPtr t = timers.createTimer([&] { ++fires; });
  t->enable(0);
  timers.runDue();
  CHECK(fires == 1);
  CHECK(clock.nowMs() == 500);
}

TEST_CASE("loop hooks run in registration order and may remove themselves", "[timer]") {
  LoopHooks hooks;
  std::vector<int> ran;
  LoopHooks::HookId second = 0;
  hooks.addAfterPoll([&] { ran.push_back(1); });
  second = hooks.addAfterPoll([&] {
    ran.push_back(2);
    hooks.remove(second);
  });
  hooks.addAfterPoll([&] {
    ran.push_back(3);
    // Added during a run: runs from the next run on.
    hooks.addAfterPoll([&] { ran.push_back(4); });
  });
  hooks.addBeforePoll([&] { ran.push_back(9); });
  hooks.runAfterPoll();
  CHECK(ran == std::vector<int>{1, 2, 3});
  ran.clear();
  hooks.runAfterPoll();
  CHECK(ran == std::vector<int>{1, 3, 4});
  ran.clear();
  hooks.runBeforePoll();
  CHECK(ran == std::vector<int>{9});
}

TEST_CASE("a hook added and removed within one run never runs", "[timer]") {
  LoopHooks hooks;
  int late = 0;
  hooks.addBeforePoll([&] {
    LoopHooks::HookId added = hooks.addAfterPoll([&] { ++late; });
    hooks.remove(added);
  });
  hooks.runBeforePoll();
  hooks.runAfterPoll();
  CHECK(late == 0);
  CHECK_FALSE(hooks.empty());  // the before-poll hook itself stays
}

TEST_CASE("uv timers and hooks on a real loop leave no handle behind", "[timer][loop]") {
  uv_loop_t loop;
  REQUIRE(uv_loop_init(&loop) == 0);
  LoopHooks hooks;
  {
    UvTimerFactory factory(&loop);
    UvLoopHooks uv_hooks(&loop, hooks);
    int after = 0;
    int before = 0;
    hooks.addAfterPoll([&] { ++after; });
    hooks.addBeforePoll([&] { ++before; });
    std::vector<int> fired;
    TimerPtr never = factory.createTimer([&] { fired.push_back(0); });
    TimerPtr second = factory.createTimer([&] { fired.push_back(2); });
    TimerPtr first = factory.createTimer([&] {
      fired.push_back(1);
      never.reset();  // destroyed while armed: must not fire
    });
    never->enable(30);
    second->enable(20);
    first->enable(5);
    CHECK(first->enabled());
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(fired == std::vector<int>{1, 2});
    CHECK_FALSE(first->enabled());
    CHECK(after > 0);
    CHECK(before > 0);
    first.reset();
    second.reset();
    uv_hooks.close();
  }
  uv_run(&loop, UV_RUN_DEFAULT);  // the close callbacks
  CHECK(uv_loop_close(&loop) == 0);
}

}  // namespace redge
