#pragma once
// When the relay worker looks at its queue: every poll_ms while it runs
// (held and retry-scheduled messages come due by time, and another instance
// may have enqueued), and also at the moments it knows something comes due:
// the breaker half-opens, a retry's backoff ends. So a held message goes out
// when the breaker half-opens, not up to poll_ms later.
//
// Timers come from the Runtime's factory: tests drive the schedule with a
// ManualTimerFactory and a ManualClock, by hand.

#include <cstdint>
#include <functional>

#include "core/clock.hpp"
#include "core/timer.hpp"

namespace redge {

class RelaySchedule {
 public:
  RelaySchedule(TimerFactory& timers, const Clock& clock, int64_t poll_ms,
                std::function<void()> poll);

  // Polls every poll_ms from now on.
  void start();
  // Also polls `ms` from now. Of several such wake-ups only the earliest is
  // kept; one that would come after the next regular poll is not needed.
  void pollIn(int64_t ms);
  // No poll runs after this; the timers are released.
  void stop();
  bool running() const { return running_; }

 private:
  void onPoll();
  void onWake();

  const Clock& clock_;
  int64_t poll_ms_;
  std::function<void()> poll_;
  TimerPtr poll_timer_;
  TimerPtr wake_timer_;
  int64_t next_poll_ms_ = 0;  // clock time of the next regular poll
  int64_t wake_at_ms_ = 0;    // clock time of the pending wake-up, if armed
  bool running_ = false;
};

}  // namespace redge
