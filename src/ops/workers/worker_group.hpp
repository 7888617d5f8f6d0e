#pragma once
// A worker's side of the process group (server.workers > 1): what it tells
// the master and the other workers through its shared slot, and how it
// answers /metrics, /healthz and /readyz for the whole group.
//
// Costs nothing per request: a loop timer writes the heartbeat (about once a
// second, more often under a short systemd watchdog) and the worker's
// rendered, worker-labelled metrics at most once a second. The worker that
// answers a scrape renders its own series live and takes the others' latest
// published text, so another worker's series are at most about a second old
// (kPublishEveryMs plus one timer turn).
//
// The daemon owns one per worker process and provides it to the modules
// (ModuleContext::find<WorkerGroup>()), so the admin module can ask about
// the group's health.

#include <cstdint>
#include <string>

#include "core/runtime.hpp"
#include "ops/workers/worker_slots.hpp"

namespace redge {

// Who this worker is, handed from the master to the forked worker.
struct WorkerIdentity {
  int index = 0;  // 0 .. count-1, the `worker` label
  int count = 1;
  WorkerSlots* slots = nullptr;  // shared with the master and the other workers
  int ready_fd = -1;             // write end of the pipe the master waits on
  int64_t heartbeat_ms = 1000;   // how often the slot's heartbeat is written
};

// The group as /healthz and /readyz see it.
struct WorkerGroupHealth {
  int workers = 0;  // configured
  int running = 0;  // a process runs in the slot
  int ready = 0;    // running, its loop turns, and its Redis is up
  int stalled = 0;  // running but its heartbeat is older than kStalledAfterMs
};

class WorkerGroup {
 public:
  // A worker's heartbeat older than this: its loop is not turning.
  static constexpr int64_t kStalledAfterMs = 5000;
  // A worker publishes its metrics text at most this often.
  static constexpr int64_t kPublishEveryMs = 1000;

  // Installs the metrics exposition hook, so /metrics answers for the group.
  WorkerGroup(const WorkerIdentity& identity, Runtime& runtime);
  ~WorkerGroup();
  WorkerGroup(const WorkerGroup&) = delete;
  WorkerGroup& operator=(const WorkerGroup&) = delete;

  int index() const { return identity_.index; }

  // Starts the heartbeat and publish timer.
  void start();
  // Every listener listens.
  void setListening();
  // Redis went up or down. The first call (Redis tried once) also marks the
  // worker ready and tells the master, once, through the ready pipe.
  void setRedis(bool up);
  void setDraining();
  // A SIGHUP reload is finished, applied or refused: the master says READY=1
  // to systemd once every worker has said this.
  void reloaded();
  // Stops the timer and closes the ready pipe (the daemon's close path).
  void close();

  WorkerGroupHealth health() const;

  // The group's exposition: `local` (this worker's registry) labelled, the
  // other workers' latest texts, and the group's own series.
  std::string renderGroup(const std::string& local);

 private:
  void onTick();
  void publish();
  void writeFlags();

  WorkerIdentity identity_;
  Runtime& runtime_;
  TimerPtr tick_;
  uint32_t flags_ = 0;
  int64_t last_publish_ms_ = -kPublishEveryMs;
  bool told_ready_ = false;
  bool publish_failed_logged_ = false;
};

}  // namespace redge
