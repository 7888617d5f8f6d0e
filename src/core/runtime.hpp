#pragma once
// What every module is handed to run on: the loop, the clocks, the timer
// factory, the loop hooks and the metrics registry. Modules take their time,
// timers and iteration hooks from here and nowhere else, so a test can give
// them a ManualClock and a ManualTimerFactory and drive them by hand.

#include <uv.h>

#include "core/clock.hpp"
#include "core/loop_hooks.hpp"
#include "core/metrics.hpp"
#include "core/timer.hpp"

namespace redge {

struct Runtime {
  uv_loop_t* loop;
  Clock& clock;
  TimerFactory& timers;
  LoopHooks& hooks;
  MetricsRegistry& metrics;
};

}  // namespace redge
