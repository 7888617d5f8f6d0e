// RelaySchedule: a fixed cadence plus the earliest extra wake-up (see the
// header).

#include "services/relay/relay_schedule.hpp"

namespace redge {

RelaySchedule::RelaySchedule(TimerFactory& timers, const Clock& clock, int64_t poll_ms,
                             std::function<void()> poll)
    : clock_(clock),
      poll_ms_(poll_ms),
      poll_(std::move(poll)),
      poll_timer_(timers.createTimer([this] { onPoll(); })),
      wake_timer_(timers.createTimer([this] { onWake(); })) {}

void RelaySchedule::start() {
  running_ = true;
  next_poll_ms_ = clock_.nowMs() + poll_ms_;
  poll_timer_->enable(poll_ms_);
}

void RelaySchedule::pollIn(int64_t ms) {
  if (!running_) return;
  if (ms < 0) ms = 0;
  int64_t at = clock_.nowMs() + ms;
  if (at >= next_poll_ms_) return;  // the regular poll comes first anyway
  if (wake_timer_->enabled() && wake_at_ms_ <= at) return;
  wake_at_ms_ = at;
  wake_timer_->enable(ms);
}

void RelaySchedule::stop() {
  running_ = false;
  // Released now, so their handles close while the loop still runs.
  poll_timer_.reset();
  wake_timer_.reset();
}

void RelaySchedule::onPoll() {
  if (!running_) return;
  next_poll_ms_ = clock_.nowMs() + poll_ms_;
  poll_timer_->enable(poll_ms_);
  poll_();
}

void RelaySchedule::onWake() {
  if (!running_) return;
  poll_();
}

}  // namespace redge
