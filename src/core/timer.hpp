#pragma once
// The timer seam. Everything scheduled (a relay poll, a health probe, an
// alert's `for` duration, a cooldown, a flag resync) asks the Runtime's
// TimerFactory for a Timer it owns, so production runs on libuv and tests run
// on a ManualTimerFactory that they advance by hand, without sleeping.
//
// Contract, for every implementation:
// - a Timer is one-shot: enable(ms) arms (or re-arms) it to fire once, ms
//   from now; disable() cancels; enabled() is true from enable() until it
//   fires or is disabled;
// - the callback runs on the loop thread and may enable, disable or
//   re-enable its own timer, but must not destroy it (destroy it from
//   elsewhere; a destroyed timer never fires);
// - destroying a Timer is always safe: pending fires are cancelled.

#include <cstdint>
#include <functional>
#include <memory>

namespace redge {

class Timer {
 public:
  virtual ~Timer() = default;
  virtual void enable(int64_t ms) = 0;
  virtual void disable() = 0;
  virtual bool enabled() const = 0;
};

using TimerPtr = std::unique_ptr<Timer>;
using TimerCallback = std::function<void()>;

class TimerFactory {
 public:
  virtual ~TimerFactory() = default;
  virtual TimerPtr createTimer(TimerCallback cb) = 0;
};

}  // namespace redge
