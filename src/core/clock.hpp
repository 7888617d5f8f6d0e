#pragma once
// Time as the pure logic sees it. Everything that decides by time (breaker,
// gate, LRU expiry, health checks, alerts) takes a Clock& so tests move time
// by hand instead of sleeping.

#include <chrono>
#include <cstdint>

namespace redge {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds since an arbitrary origin.
  virtual int64_t nowMs() const = 0;
  // Monotonic microseconds since the same origin.
  virtual int64_t nowUs() const = 0;
};

class SteadyClock final : public Clock {
 public:
  int64_t nowMs() const override { return nowUs() / 1000; }
  int64_t nowUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

// Wall-clock milliseconds since the epoch: for what leaves the process
// (Date headers, timestamps stored in Redis that other instances read), never
// for measuring time.
inline int64_t wallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A clock that only moves when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1'000'000) : now_us_(start_ms * 1000) {}
  int64_t nowMs() const override { return now_us_ / 1000; }
  int64_t nowUs() const override { return now_us_; }
  void advanceMs(int64_t ms) { now_us_ += ms * 1000; }
  void setMs(int64_t ms) { now_us_ = ms * 1000; }

 private:
  int64_t now_us_;
};

}  // namespace redge
