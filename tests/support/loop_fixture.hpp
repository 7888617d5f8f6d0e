#pragma once
// One libuv loop with the Runtime redge's modules run on, for tests that run
// servers and clients in process. closeAll-style teardown ends with
// closeLoop(), which reports uv_loop_close(): 0 means no handle was left
// behind (libuv's MAKE_VALGRIND_HAPPY).

#include <uv.h>

#include <functional>

#include "core/clock.hpp"
#include "core/loop_hooks.hpp"
#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "core/uv_runtime.hpp"

namespace redge_test {

class LoopRuntime {
 public:
  LoopRuntime()
      : timers_(init(&loop_)),
        runtime_{&loop_, clock_, timers_, hooks_, metrics_},
        uv_hooks_(&loop_, hooks_) {}
  LoopRuntime(const LoopRuntime&) = delete;
  LoopRuntime& operator=(const LoopRuntime&) = delete;

  uv_loop_t* loop() { return &loop_; }
  redge::Runtime& runtime() { return runtime_; }
  redge::MetricsRegistry& metrics() { return metrics_; }

  // Runs the loop until `done` holds or `limit_ms` of loop time pass.
  void runUntil(const std::function<bool()>& done, uint64_t limit_ms = 5000) {
    uint64_t deadline = uv_now(&loop_) + limit_ms;
    while (!done() && uv_now(&loop_) < deadline) uv_run(&loop_, UV_RUN_ONCE);
  }
  // After every owner has closed its handles: runs the close callbacks and
  // closes the loop; 0 when nothing was left open.
  int closeLoop() {
    uv_hooks_.close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    return uv_loop_close(&loop_);
  }

 private:
  static uv_loop_t* init(uv_loop_t* loop) {
    uv_loop_init(loop);
    return loop;
  }

  uv_loop_t loop_;
  redge::SteadyClock clock_;
  redge::MetricsRegistry metrics_;
  redge::LoopHooks hooks_;
  redge::UvTimerFactory timers_;
  redge::Runtime runtime_;
  redge::UvLoopHooks uv_hooks_;
};

}  // namespace redge_test
