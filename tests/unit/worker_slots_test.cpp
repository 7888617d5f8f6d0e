// Unit tests for the memory a worker group shares: what the master and a
// worker write is what another process reads (a real fork), the seqlock
// hands out whole texts only, and the STATUS= words of the master.

#include "ops/workers/worker_slots.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "ops/workers/worker_master.hpp"

namespace redge {
namespace {

TEST_CASE("worker slots: fields and text cross a fork", "[workers]") {
  auto slots = WorkerSlots::create(2, 1024);
  REQUIRE(slots);
  CHECK(slots->count() == 2);
  CHECK(slots->textCapacity() >= 1024);
  slots->assign(1, 500, false);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The worker's side, in another process.
    slots->setPid(1, getpid());
    slots->setFlags(1, kWorkerListening | kWorkerReady);
    slots->heartbeat(1, 777);
    bool ok = slots->publish(1, "m{worker=\"1\"} 1\n", 770);
    _exit(ok ? 0 : 3);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  WorkerSlotView v = slots->read(1, true);
  CHECK(v.pid == child);
  CHECK(v.flags == (kWorkerListening | kWorkerReady));
  CHECK(v.heartbeat_ms == 777);
  CHECK(v.started_ms == 500);
  CHECK(v.published_ms == 770);
  CHECK(v.restarts == 0);
  CHECK(v.text == "m{worker=\"1\"} 1\n");
  // The other slot was never touched.
  WorkerSlotView other = slots->read(0, true);
  CHECK(other.pid == 0);
  CHECK(other.text.empty());

  // The master sees the exit and starts it again: cleared, counted.
  slots->release(1);
  CHECK(slots->read(1, false).pid == 0);
  slots->assign(1, 900, true);
  v = slots->read(1, true);
  CHECK(v.flags == 0);
  CHECK(v.text.empty());
  CHECK(v.restarts == 1);
  CHECK(v.heartbeat_ms == 900);
}

TEST_CASE("worker slots: a text too large is refused whole", "[workers]") {
  auto slots = WorkerSlots::create(1, 64);
  REQUIRE(slots);
  REQUIRE(slots->publish(0, "first\n", 1));
  CHECK_FALSE(slots->publish(0, std::string(slots->textCapacity() + 1, 'x'), 2));
  WorkerSlotView v = slots->read(0, true);
  CHECK(v.text == "first\n");
  CHECK(v.published_ms == 1);
}

TEST_CASE("worker slots: a reader never sees a torn text", "[workers]") {
  // A writer process republishes one of two texts of different lengths as
  // fast as it can while this process reads: every read is one of the two.
  auto slots = WorkerSlots::create(1, 1 << 16);
  REQUIRE(slots);
  const std::string a(40000, 'a');
  const std::string b(30000, 'b');
  REQUIRE(slots->publish(0, a, 1));
  slots->setFlags(0, 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    for (int i = 0; slots->read(0, false).flags == 0 && i < 2'000'000; ++i) {
      slots->publish(0, i % 2 ? a : b, i);
    }
    _exit(0);
  }
  int whole = 0;
  int empty = 0;
  for (int i = 0; i < 2000; ++i) {
    WorkerSlotView v = slots->read(0, true);
    if (v.text.empty()) {
      ++empty;  // the writer was mid-copy on every try
      continue;
    }
    bool ok = v.text == a || v.text == b;
    if (!ok) FAIL("torn text of length " << v.text.size());
    ++whole;
  }
  slots->setFlags(0, 1);  // tells the writer to stop
  int status = 0;
  waitpid(child, &status, 0);
  CHECK(whole > 0);
  INFO("reads that gave up: " << empty);
}

TEST_CASE("worker master: STATUS words", "[workers]") {
  CHECK(groupStatusText({GroupStatus::Phase::Starting, 2, 2, 1}) ==
        "starting; 1 of 2 workers ready");
  CHECK(groupStatusText({GroupStatus::Phase::Serving, 2, 2, 2}) == "serving; 2 workers");
  CHECK(groupStatusText({GroupStatus::Phase::Serving, 2, 1, 1}) ==
        "serving; 1 of 2 workers ready, restarting the others");
  CHECK(groupStatusText({GroupStatus::Phase::Draining, 4, 3, 0}) ==
        "draining; 3 of 4 workers running");
}

}  // namespace
}  // namespace redge
