#pragma once
// The master of a worker group (server.workers > 1). It forks the workers,
// does no request work itself, and runs a small loop of its own (poll(2) on
// a signalfd and the workers' ready pipes; no libuv, no Redis, no listener):
//
// - a worker that exits is started again after a backoff (restart_backoff);
//   one that keeps failing before it is ready makes the master give up,
//   stop the others and exit 1. A worker that exits 0 by itself was asked to
//   stop (a module's requestStop, fanned out through Redis to every worker):
//   the group stops and the master exits 0;
// - SIGTERM/SIGINT go on to every worker (each drains); the master exits 0
//   once all have exited 0. A second signal goes on too (each stops at once);
// - SIGHUP goes on to every worker, which reloads as a single process does;
// - under systemd it is the process that talks to NOTIFY_SOCKET (workers
//   never see it): READY=1 once every worker has reported ready over its
//   pipe, STATUS= with the worker count, WATCHDOG=1 only while every running
//   worker's heartbeat is fresh, RELOADING=1 / STOPPING=1 around SIGHUP and
//   SIGTERM.
//
// Why no libuv here: the master forks again whenever a worker dies, and a
// child must not inherit a loop (libuv's signal pipe and epoll fd would be
// shared with the master, so a signal to the child could wake the master).
// A poll loop with blocked signals read from a signalfd leaves a forked
// child nothing to undo but the mask and two descriptors.

#include <functional>
#include <string>

#include "ops/workers/worker_group.hpp"

namespace redge {

struct WorkerMasterOptions {
  int workers = 2;
  bool pin = false;                  // sched_setaffinity: worker i on the i-th allowed CPU
  int64_t drain_timeout_ms = 10000;  // server.drain_timeout_ms: the workers' own bound
};

// The body of a worker: runs the daemon in the forked child and returns its
// exit status. Called in the child only, after the fork.
using WorkerMain = std::function<int(const WorkerIdentity& identity)>;

// Runs the master until the group has stopped; returns its exit status. Call
// before any loop, Redis connection or thread exists.
int runWorkerMaster(const WorkerMasterOptions& options, const WorkerMain& worker_main);

// A worker starts with SIGTERM, SIGINT and SIGHUP blocked; the daemon calls
// this once its signal handlers are installed, and a signal that came in
// meanwhile is delivered to them.
void unblockWorkerSignals();

}  // namespace redge

namespace redge {

// What the master's STATUS= line says: "starting; 1 of 2 workers ready",
// "serving; 2 workers", "serving; 1 of 2 workers ready, restarting the
// others", "draining; 2 workers running". Pure.
struct GroupStatus {
  enum class Phase { Starting, Serving, Draining };
  Phase phase = Phase::Starting;
  int workers = 0;
  int running = 0;
  int ready = 0;
};
std::string groupStatusText(const GroupStatus& status);

}  // namespace redge
