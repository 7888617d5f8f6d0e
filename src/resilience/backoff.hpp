#pragma once
// Exponential backoff with jitter. Pure: the caller supplies the random
// number, so tests are exact.

#include <algorithm>
#include <cstdint>

namespace redge {

class ExponentialBackoff {
 public:
  // From this attempt on the step is max_ms for every setting the config
  // accepts (min_ms >= 1, max_ms at most a day; 2^30 ms is twelve days), so a
  // caller may stop counting here, and jump here to wait at the ceiling.
  static constexpr int kCeilingAttempt = 30;

  ExponentialBackoff(int64_t min_ms, int64_t max_ms) : min_ms_(min_ms), max_ms_(max_ms) {}

  // Delay before retry number `attempt` (0 = first retry), given a uniform
  // random number in [0, 1). "Equal jitter": half the exponential step is
  // fixed, half random, so retries from many clients spread out but none
  // comes back immediately. Always within [min_ms/2, max_ms].
  int64_t delayMs(int attempt, double random01) const {
    int64_t step = min_ms_;
    for (int i = 0; i < attempt && step < max_ms_; ++i) step *= 2;
    step = std::min(step, max_ms_);
    double r = std::clamp(random01, 0.0, 1.0);
    int64_t half = step / 2;
    return std::clamp<int64_t>(half + static_cast<int64_t>(static_cast<double>(step - half) * r), 1,
                               max_ms_);
  }

 private:
  int64_t min_ms_;
  int64_t max_ms_;
};

}  // namespace redge
