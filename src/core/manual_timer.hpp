#pragma once
// A TimerFactory whose timers fire only when a test advances its ManualClock
// through them: advance(ms) fires every timer that falls due, earliest first,
// with the clock set to each one's deadline as it fires, so scheduling logic
// (polls, probes, backoffs, cooldowns) is tested exactly and without sleeps,
// as Envoy's tests fire timers with invokeCallback().

#include <cstdint>
#include <vector>

#include "core/clock.hpp"
#include "core/timer.hpp"

namespace redge {

class ManualTimerFactory final : public TimerFactory {
 public:
  explicit ManualTimerFactory(ManualClock& clock) : clock_(clock) {}
  ManualTimerFactory(const ManualTimerFactory&) = delete;
  ManualTimerFactory& operator=(const ManualTimerFactory&) = delete;
  ~ManualTimerFactory() override;

  TimerPtr createTimer(TimerCallback cb) override;

  // Moves time forward by `ms`, firing due timers in deadline order (ties in
  // the order they were armed). A timer armed by a callback for a deadline
  // within the advanced span fires too.
  void advance(int64_t ms);
  // Fires what is due now without moving time (a timer enabled with 0 ms).
  void runDue() { advance(0); }
  // Timers armed now.
  size_t armedCount() const;
  // Milliseconds until the earliest armed timer, or -1 when none is armed.
  int64_t msUntilNext() const;

  ManualClock& clock() { return clock_; }

 private:
  class ManualTimer;
  friend class ManualTimer;

  ManualClock& clock_;
  std::vector<ManualTimer*> timers_;  // every live timer, armed or not
  uint64_t next_arm_seq_ = 0;
};

}  // namespace redge
