// ManualTimerFactory: timers kept in a plain list and fired by advance() in
// deadline order. A list is enough: tests hold a handful of timers.

#include "core/manual_timer.hpp"

#include <algorithm>

namespace redge {

class ManualTimerFactory::ManualTimer final : public Timer {
 public:
  ManualTimer(ManualTimerFactory& factory, TimerCallback cb)
      : factory_(&factory), cb_(std::move(cb)) {
    factory_->timers_.push_back(this);
  }
  ~ManualTimer() override {
    if (factory_ == nullptr) return;
    auto& all = factory_->timers_;
    all.erase(std::remove(all.begin(), all.end(), this), all.end());
  }
  void enable(int64_t ms) override {
    armed_ = true;
    deadline_ms_ = (factory_ ? factory_->clock_.nowMs() : 0) + std::max<int64_t>(ms, 0);
    arm_seq_ = factory_ ? factory_->next_arm_seq_++ : 0;
  }
  void disable() override { armed_ = false; }
  bool enabled() const override { return armed_; }

  bool armed_ = false;
  int64_t deadline_ms_ = 0;
  uint64_t arm_seq_ = 0;
  ManualTimerFactory* factory_;  // null once the factory is gone
  TimerCallback cb_;
};

ManualTimerFactory::~ManualTimerFactory() {
  for (ManualTimer* t : timers_) t->factory_ = nullptr;
}

TimerPtr ManualTimerFactory::createTimer(TimerCallback cb) {
  return std::make_unique<ManualTimer>(*this, std::move(cb));
}

void ManualTimerFactory::advance(int64_t ms) {
  const int64_t target = clock_.nowMs() + std::max<int64_t>(ms, 0);
  for (;;) {
    ManualTimer* next = nullptr;
    for (ManualTimer* t : timers_) {
      if (!t->armed_ || t->deadline_ms_ > target) continue;
      if (next == nullptr || t->deadline_ms_ < next->deadline_ms_ ||
          (t->deadline_ms_ == next->deadline_ms_ && t->arm_seq_ < next->arm_seq_)) {
        next = t;
      }
    }
    if (next == nullptr) break;
    if (next->deadline_ms_ > clock_.nowMs()) clock_.setMs(next->deadline_ms_);
    next->armed_ = false;
    next->cb_();  // may arm timers (this one too) or destroy others
  }
  if (target > clock_.nowMs()) clock_.setMs(target);
}

size_t ManualTimerFactory::armedCount() const {
  return static_cast<size_t>(std::count_if(timers_.begin(), timers_.end(),
                                           [](const ManualTimer* t) { return t->armed_; }));
}

int64_t ManualTimerFactory::msUntilNext() const {
  int64_t best = -1;
  for (const ManualTimer* t : timers_) {
    if (!t->armed_) continue;
    int64_t in = std::max<int64_t>(t->deadline_ms_ - clock_.nowMs(), 0);
    if (best < 0 || in < best) best = in;
  }
  return best;
}

}  // namespace redge
