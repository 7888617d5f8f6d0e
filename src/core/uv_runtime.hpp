#pragma once
// The libuv side of the Runtime: timers on uv_timer_t and the loop hooks on
// one uv_check_t (after poll) and one uv_prepare_t (before poll), with a
// uv_idle_t started only when a before-poll hook asked for another round
// (LoopHooks::requestRound), so that poll does not block.
//
// Lifetimes. A UvTimer's handle is heap-allocated and outlives the Timer
// object: destroying the Timer stops it, detaches the handle and closes it,
// and the handle frees itself in its close callback. So owners destroy
// timers whenever they like, and a fire that was already due finds a null
// data pointer and returns. UvLoopHooks::close() closes its two handles; the
// loop must run once more for their close callbacks.

#include <uv.h>

#include "core/loop_hooks.hpp"
#include "core/timer.hpp"

namespace redge {

class UvTimerFactory final : public TimerFactory {
 public:
  explicit UvTimerFactory(uv_loop_t* loop) : loop_(loop) {}
  TimerPtr createTimer(TimerCallback cb) override;

 private:
  uv_loop_t* loop_;
};

class UvLoopHooks {
 public:
  UvLoopHooks(uv_loop_t* loop, LoopHooks& hooks);
  ~UvLoopHooks() { close(); }
  UvLoopHooks(const UvLoopHooks&) = delete;
  UvLoopHooks& operator=(const UvLoopHooks&) = delete;
  // Idempotent. The hooks stop running at once.
  void close();

 private:
  static void onCheckCb(uv_check_t* h) noexcept;
  static void onPrepareCb(uv_prepare_t* h) noexcept;

  LoopHooks& hooks_;
  uv_check_t* check_;      // freed in its close callback
  uv_prepare_t* prepare_;  // likewise
  uv_idle_t* idle_;        // likewise
  bool idle_active_ = false;
  bool closed_ = false;
};

}  // namespace redge
