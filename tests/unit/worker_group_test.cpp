// Unit tests for a worker's side of the group, on a ManualClock and the
// real shared slots: the heartbeat and the metrics text published on the
// timer, the one ready byte to the master, the group /metrics text (own
// series live, another worker's from its slot) and the group's health.

#include "ops/workers/worker_group.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "core/manual_timer.hpp"

namespace redge {
namespace {

struct GroupFixture {
  ManualClock clock{10'000};
  ManualTimerFactory timers{clock};
  LoopHooks hooks;
  MetricsRegistry metrics;
  Runtime runtime{nullptr, clock, timers, hooks, metrics};
  std::unique_ptr<WorkerSlots> slots = WorkerSlots::create(2, 1 << 20);
  int pipe_fds[2] = {-1, -1};

  GroupFixture() {
    REQUIRE(slots);
    REQUIRE(pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC) == 0);
    slots->assign(0, clock.nowMs(), false);
    slots->setPid(0, 100);
    slots->assign(1, clock.nowMs(), false);
    slots->setPid(1, 101);
  }
  ~GroupFixture() { ::close(pipe_fds[0]); }
  WorkerIdentity identity() {
    WorkerIdentity id;
    id.index = 0;
    id.count = 2;
    id.slots = slots.get();
    id.ready_fd = pipe_fds[1];
    id.heartbeat_ms = 250;
    return id;
  }
  std::string drainPipe() {
    char buf[16];
    ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }
};

TEST_CASE("worker group: heartbeat and metrics text go to the slot on the timer", "[workers]") {
  GroupFixture f;
  f.metrics.counter("redge_things_total", "things").inc(3);
  WorkerGroup group(f.identity(), f.runtime);
  group.start();
  WorkerSlotView v = f.slots->read(0, true);
  CHECK(v.heartbeat_ms == 10'000);
  CHECK(v.text.find("redge_things_total{worker=\"0\"} 3\n") != std::string::npos);
  CHECK(v.published_ms == 10'000);

  f.metrics.counter("redge_things_total", "things").inc();
  f.timers.advance(250);  // a heartbeat, no new text yet (once a second)
  v = f.slots->read(0, true);
  CHECK(v.heartbeat_ms == 10'250);
  CHECK(v.published_ms == 10'000);
  f.timers.advance(750);
  v = f.slots->read(0, true);
  CHECK(v.published_ms == 11'000);
  CHECK(v.text.find("redge_things_total{worker=\"0\"} 4\n") != std::string::npos);
  group.close();
}

TEST_CASE("worker group: ready once listening and Redis tried, told once", "[workers]") {
  GroupFixture f;
  WorkerGroup group(f.identity(), f.runtime);
  group.setRedis(false);  // not listening yet: not ready, nothing told
  CHECK(f.drainPipe().empty());
  group.setListening();
  group.setRedis(false);  // Redis tried (down): ready, as READY=1 is
  CHECK(f.drainPipe() == "R");
  CHECK(f.slots->read(0, false).flags == (kWorkerListening | kWorkerReady));
  group.setRedis(true);
  CHECK(f.drainPipe().empty());  // the pipe is closed: EOF, no second byte
  CHECK(f.slots->read(0, false).flags == (kWorkerListening | kWorkerReady | kWorkerRedisUp));
  group.setDraining();
  CHECK((f.slots->read(0, false).flags & kWorkerReady) == 0);
}

TEST_CASE("worker group: /metrics text and health cover every worker", "[workers]") {
  GroupFixture f;
  f.metrics.counter("redge_things_total", "things").inc(3);
  WorkerGroup group(f.identity(), f.runtime);
  group.start();
  group.setListening();
  group.setRedis(true);
  // Worker 1, as its own process would have published it.
  f.slots->publish(1,
                   "# HELP redge_things_total things\n# TYPE redge_things_total counter\n"
                   "redge_things_total{worker=\"1\"} 9\n",
                   f.clock.nowMs());
  f.slots->setFlags(1, kWorkerListening | kWorkerReady | kWorkerRedisUp);
  f.slots->heartbeat(1, f.clock.nowMs());

  f.metrics.counter("redge_things_total", "things").inc();  // live, not yet published
  std::string text = f.metrics.render();                    // through the hook
  CHECK(text.find("redge_things_total{worker=\"0\"} 4\n") != std::string::npos);
  CHECK(text.find("redge_things_total{worker=\"1\"} 9\n") != std::string::npos);
  CHECK(text.find("# TYPE redge_things_total counter") ==
        text.rfind("# TYPE redge_things_total counter"));
  CHECK(text.find("redge_workers 2\n") != std::string::npos);
  CHECK(text.find("redge_worker_up{worker=\"1\"} 1\n") != std::string::npos);
  CHECK(f.metrics.renderLocal().find("worker=") == std::string::npos);

  WorkerGroupHealth h = group.health();
  CHECK(h.workers == 2);
  CHECK(h.running == 2);
  CHECK(h.ready == 2);
  CHECK(h.stalled == 0);

  // Worker 1's loop stops: past kStalledAfterMs its heartbeat is stale.
  f.timers.advance(WorkerGroup::kStalledAfterMs + 1);
  h = group.health();
  CHECK(h.stalled == 1);
  CHECK(h.ready == 1);
  // Worker 1 exits; the master clears its slot: not running, not ready,
  // and its series leave the answer.
  f.slots->release(1);
  h = group.health();
  CHECK(h.running == 1);
  CHECK(h.stalled == 0);
  CHECK(h.ready == 1);
  text = f.metrics.render();
  CHECK(text.find("redge_things_total{worker=\"1\"}") == std::string::npos);
  CHECK(text.find("redge_worker_up{worker=\"1\"} 0\n") != std::string::npos);
  group.close();
}

}  // namespace
}  // namespace redge
