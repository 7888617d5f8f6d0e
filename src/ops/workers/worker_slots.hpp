#pragma once
// The memory the master and its workers share: one slot per worker, mapped
// MAP_SHARED | MAP_ANONYMOUS by the master before it forks, so every worker
// (and every worker started again later) sees the same pages. No libuv, no
// locks: each field has one writer.
//
// - The master writes pid, started_ms and restarts when it starts a worker
//   and clears the slot when the worker exits.
// - The worker writes its flags, a heartbeat (its loop's clock, about once a
//   second), the number of SIGHUP reloads it has finished, and its rendered
//   metrics text about once a second. The text
//   sits behind a sequence counter (a seqlock): the writer makes the counter
//   odd, copies, makes it even; a reader copies and keeps the copy only if
//   the counter was even and unchanged around it. A reader never blocks the
//   writer and a torn copy is never used.
//
// Readers are any worker (the one answering /metrics, /healthz or /readyz
// for the group) and the master (watchdog, readiness).
//
// The atomics are lock-free (checked at compile time), which on Linux makes
// them safe between processes sharing the pages.

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace redge {

// What a worker says about itself in its slot.
enum WorkerSlotFlag : uint32_t {
  kWorkerListening = 1u << 0,  // every listener listens
  kWorkerReady = 1u << 1,      // listening and Redis tried once: what READY=1 waits for
  kWorkerRedisUp = 1u << 2,    // its Redis connection is up now
  kWorkerDraining = 1u << 3,   // SIGTERM: finishing what is in flight
};

struct WorkerSlotView {
  pid_t pid = 0;  // 0: no worker runs in this slot now
  uint32_t flags = 0;
  int64_t heartbeat_ms = 0;  // steady clock; the master sets it at start
  int64_t started_ms = 0;    // steady clock
  int64_t published_ms = 0;  // when `text` was written (steady clock); 0: never
  uint64_t restarts = 0;     // times the master started this slot's worker again
  uint64_t reloads = 0;      // SIGHUP reloads this worker finished (applied or refused)
  std::string text;          // the worker's labelled exposition, when asked for
};

class WorkerSlots {
 public:
  // Maps `count` slots of `text_capacity` bytes of text each. Null if the
  // mapping fails (errno says why). Pages are touched only when written.
  static std::unique_ptr<WorkerSlots> create(int count, size_t text_capacity);
  ~WorkerSlots();
  WorkerSlots(const WorkerSlots&) = delete;
  WorkerSlots& operator=(const WorkerSlots&) = delete;

  int count() const { return count_; }
  size_t textCapacity() const { return capacity_; }

  // Master, before it forks: a worker starts in slot `index` (its flags
  // and text cleared, its heartbeat set to now).
  void assign(int index, int64_t now_ms, bool restart);
  // Master and worker, after the fork: the worker's pid.
  void setPid(int index, pid_t pid);
  // Master: the worker of slot `index` has exited.
  void release(int index);

  // Worker: its flags (a whole new set) and a heartbeat.
  void setFlags(int index, uint32_t flags);
  void heartbeat(int index, int64_t now_ms);
  // Worker: one more SIGHUP reload is finished, applied or refused.
  void noteReloaded(int index);
  // Worker: replaces its text; false (nothing written) when it does not fit.
  bool publish(int index, std::string_view text, int64_t now_ms);

  // Anyone. The text is copied only when `with_text`; it is empty when the
  // writer was mid-copy on every try (it died there, or it is very busy).
  WorkerSlotView read(int index, bool with_text) const;

 private:
  struct Slot;
  WorkerSlots(void* base, size_t bytes, int count, size_t capacity, size_t stride);
  Slot& slot(int index) const;
  char* textOf(int index) const;

  void* base_;
  size_t bytes_;
  int count_;
  size_t capacity_;
  size_t stride_;
};

}  // namespace redge
