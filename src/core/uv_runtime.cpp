// libuv implementations of the timer seam and the loop hooks (see the header
// for the lifetime rules). The hook handles are unref'd: hooks alone never
// keep the loop alive, the connections, listeners and timers they serve do.

#include "core/uv_runtime.hpp"

namespace redge {
namespace {

class UvTimer final : public Timer {
 public:
  UvTimer(uv_loop_t* loop, TimerCallback cb) : handle_(new uv_timer_t), cb_(std::move(cb)) {
    uv_timer_init(loop, handle_);
    handle_->data = this;
  }
  UvTimer(const UvTimer&) = delete;
  UvTimer& operator=(const UvTimer&) = delete;
  ~UvTimer() override {
    uv_timer_stop(handle_);
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  }
  void enable(int64_t ms) override {
    uv_timer_start(handle_, &onTimerCb, static_cast<uint64_t>(ms < 0 ? 0 : ms), 0);
  }
  void disable() override { uv_timer_stop(handle_); }
  bool enabled() const override {
    return uv_is_active(reinterpret_cast<const uv_handle_t*>(handle_)) != 0;
  }

 private:
  static void onTimerCb(uv_timer_t* t) noexcept {
    auto* self = static_cast<UvTimer*>(t->data);
    if (self == nullptr) return;
    self->cb_();
  }

  uv_timer_t* handle_;
  TimerCallback cb_;
};

}  // namespace

TimerPtr UvTimerFactory::createTimer(TimerCallback cb) {
  return std::make_unique<UvTimer>(loop_, std::move(cb));
}

UvLoopHooks::UvLoopHooks(uv_loop_t* loop, LoopHooks& hooks)
    : hooks_(hooks), check_(new uv_check_t), prepare_(new uv_prepare_t), idle_(new uv_idle_t) {
  uv_check_init(loop, check_);
  check_->data = this;
  uv_check_start(check_, &onCheckCb);
  uv_unref(reinterpret_cast<uv_handle_t*>(check_));
  uv_prepare_init(loop, prepare_);
  prepare_->data = this;
  uv_prepare_start(prepare_, &onPrepareCb);
  uv_unref(reinterpret_cast<uv_handle_t*>(prepare_));
  uv_idle_init(loop, idle_);
  uv_unref(reinterpret_cast<uv_handle_t*>(idle_));
}

void UvLoopHooks::close() {
  if (closed_) return;
  closed_ = true;
  check_->data = nullptr;
  prepare_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(check_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_check_t*>(h); });
  uv_close(reinterpret_cast<uv_handle_t*>(prepare_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_prepare_t*>(h); });
  uv_close(reinterpret_cast<uv_handle_t*>(idle_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_idle_t*>(h); });
}

void UvLoopHooks::onCheckCb(uv_check_t* h) noexcept {
  auto* self = static_cast<UvLoopHooks*>(h->data);
  if (self != nullptr) self->hooks_.runAfterPoll();
}

void UvLoopHooks::onPrepareCb(uv_prepare_t* h) noexcept {
  auto* self = static_cast<UvLoopHooks*>(h->data);
  if (self == nullptr) return;
  self->hooks_.runBeforePoll();
  // An active idle handle makes the poll return at once (libuv's backend
  // timeout is 0 while one runs); it does nothing itself.
  bool again = self->hooks_.takeRoundRequest();
  if (again != self->idle_active_) {
    self->idle_active_ = again;
    if (again) {
      uv_idle_start(self->idle_, [](uv_idle_t*) noexcept {});
    } else {
      uv_idle_stop(self->idle_);
    }
  }
}

}  // namespace redge
