#pragma once
// The queue-size gate with hysteresis in front of the relay's queue: enqueueing
// stops when the queue depth reaches `max` and resumes only once it has
// drained down to `recovery`. Without the gap between the two, a queue
// hovering at max would flip the gate on every message, and every client
// would race to refill the one freed slot.
//
// Pure logic: the caller observes the depth (from the enqueue script's reply
// or a periodic LLEN) and asks whether to accept. Single-threaded.

#include <cstdint>

namespace redge {

class BackpressureGate {
 public:
  // Precondition (checked by the config loader, asserted here):
  // recovery < max.
  BackpressureGate(int64_t max, int64_t recovery);

  // Updates the state from an observed queue depth. Returns true only when
  // the state changed, so the caller logs exactly one line per switch
  // (event=enqueue_disabled / event=enqueue_enabled).
  //   accepting and depth >= max           -> not accepting
  //   not accepting and depth <= recovery  -> accepting
  bool observe(int64_t depth);

  // A reload's new thresholds (same precondition). The state stays as it
  // is; the next observed depth is judged by the new ones.
  void setThresholds(int64_t max, int64_t recovery);

  bool accepting() const { return accepting_; }
  int64_t max() const { return max_; }
  int64_t recovery() const { return recovery_; }

 private:
  int64_t max_;
  int64_t recovery_;
  bool accepting_ = true;
};

}  // namespace redge
