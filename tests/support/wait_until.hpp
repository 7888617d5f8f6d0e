#pragma once

#include <chrono>
#include <thread>

namespace redge_test {

// Polls `condition` every `step` until it holds or `timeout` passes, so tests
// wait exactly as long as the server needs and never a fixed sleep. Returns
// the condition's last value.
template <typename Condition>
bool waitUntil(Condition&& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds step = std::chrono::milliseconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

// Milliseconds since `start`, for the "answers within" assertions.
inline long long msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace redge_test
