// The shared slots of a worker group (worker_slots.hpp): the layout, the
// seqlock around each worker's metrics text, and the mapping itself.

#include "ops/workers/worker_slots.hpp"

#include <sched.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>

namespace redge {

struct WorkerSlots::Slot {
  std::atomic<uint64_t> seq;  // odd while the text is being written
  std::atomic<int32_t> pid;
  std::atomic<uint32_t> flags;
  std::atomic<int64_t> heartbeat_ms;
  std::atomic<int64_t> started_ms;
  std::atomic<int64_t> published_ms;
  std::atomic<uint64_t> restarts;
  std::atomic<uint64_t> reloads;
  std::atomic<uint64_t> length;
};

namespace {

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<int64_t>::is_always_lock_free);
static_assert(std::atomic<int32_t>::is_always_lock_free);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

constexpr size_t kCacheLine = 64;
// How often a reader tries again while the writer is mid-copy. A copy of a
// few hundred KiB takes tens of microseconds; a writer that stays odd past
// this many yields has died mid-copy, and the reader goes without.
constexpr int kReadTries = 200;

size_t roundUp(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

}  // namespace

std::unique_ptr<WorkerSlots> WorkerSlots::create(int count, size_t text_capacity) {
  if (count < 1) return nullptr;
  size_t capacity = roundUp(text_capacity, kCacheLine);
  size_t stride = roundUp(sizeof(Slot), kCacheLine) + capacity;
  size_t bytes = stride * static_cast<size_t>(count);
  void* base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return nullptr;
  // Anonymous pages start zeroed, which is every field's "nothing yet"; the
  // atomics are still constructed in place so their lifetime begins here.
  for (int i = 0; i < count; ++i) {
    new (static_cast<char*>(base) + stride * static_cast<size_t>(i)) Slot{};
  }
  return std::unique_ptr<WorkerSlots>(new WorkerSlots(base, bytes, count, capacity, stride));
}

WorkerSlots::WorkerSlots(void* base, size_t bytes, int count, size_t capacity, size_t stride)
    : base_(base), bytes_(bytes), count_(count), capacity_(capacity), stride_(stride) {}

WorkerSlots::~WorkerSlots() {
  munmap(base_, bytes_);
}

WorkerSlots::Slot& WorkerSlots::slot(int index) const {
  return *reinterpret_cast<Slot*>(static_cast<char*>(base_) + stride_ * static_cast<size_t>(index));
}

char* WorkerSlots::textOf(int index) const {
  return static_cast<char*>(base_) + stride_ * static_cast<size_t>(index) +
         roundUp(sizeof(Slot), kCacheLine);
}

void WorkerSlots::assign(int index, int64_t now_ms, bool restart) {
  Slot& s = slot(index);
  // The previous worker is gone, so nothing writes this slot now; a seq
  // left odd by a worker that died mid-copy is made even again.
  s.flags.store(0, std::memory_order_relaxed);
  s.length.store(0, std::memory_order_relaxed);
  s.published_ms.store(0, std::memory_order_relaxed);
  s.reloads.store(0, std::memory_order_relaxed);
  s.seq.store((s.seq.load(std::memory_order_relaxed) + 1) & ~uint64_t{1},
              std::memory_order_release);
  s.heartbeat_ms.store(now_ms, std::memory_order_relaxed);
  s.started_ms.store(now_ms, std::memory_order_relaxed);
  if (restart) s.restarts.fetch_add(1, std::memory_order_relaxed);
}

void WorkerSlots::setPid(int index, pid_t pid) {
  slot(index).pid.store(pid, std::memory_order_release);
}

void WorkerSlots::release(int index) {
  Slot& s = slot(index);
  s.pid.store(0, std::memory_order_release);
  s.flags.store(0, std::memory_order_release);
}

void WorkerSlots::setFlags(int index, uint32_t flags) {
  slot(index).flags.store(flags, std::memory_order_release);
}

void WorkerSlots::heartbeat(int index, int64_t now_ms) {
  slot(index).heartbeat_ms.store(now_ms, std::memory_order_release);
}

void WorkerSlots::noteReloaded(int index) {
  slot(index).reloads.fetch_add(1, std::memory_order_release);
}

bool WorkerSlots::publish(int index, std::string_view text, int64_t now_ms) {
  if (text.size() > capacity_) return false;
  Slot& s = slot(index);
  uint64_t seq = s.seq.load(std::memory_order_relaxed);
  s.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  std::memcpy(textOf(index), text.data(), text.size());
  s.length.store(text.size(), std::memory_order_relaxed);
  s.published_ms.store(now_ms, std::memory_order_relaxed);
  s.seq.store(seq + 2, std::memory_order_release);
  return true;
}

WorkerSlotView WorkerSlots::read(int index, bool with_text) const {
  const Slot& s = slot(index);
  WorkerSlotView view;
  view.pid = s.pid.load(std::memory_order_acquire);
  view.flags = s.flags.load(std::memory_order_acquire);
  view.heartbeat_ms = s.heartbeat_ms.load(std::memory_order_acquire);
  view.started_ms = s.started_ms.load(std::memory_order_relaxed);
  view.restarts = s.restarts.load(std::memory_order_relaxed);
  view.reloads = s.reloads.load(std::memory_order_acquire);
  if (!with_text) {
    view.published_ms = s.published_ms.load(std::memory_order_relaxed);
    return view;
  }
  for (int attempt = 0; attempt < kReadTries; ++attempt) {
    uint64_t before = s.seq.load(std::memory_order_acquire);
    if (before & 1) {
      sched_yield();
      continue;
    }
    size_t length = s.length.load(std::memory_order_relaxed);
    if (length > capacity_) continue;  // a torn length; the seq check below would fail too
    view.text.assign(textOf(index), length);
    view.published_ms = s.published_ms.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.seq.load(std::memory_order_relaxed) == before) return view;
  }
  view.text.clear();
  view.published_ms = 0;
  return view;
}

}  // namespace redge
