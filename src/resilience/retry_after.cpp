// RetryAfterEstimator: a ring of ten one-second buckets counting drained
// messages, and the arithmetic that turns the observed drain rate, the queue
// excess and the breaker's open period into one Retry-After value.
//
// The rate divides by whole buckets, the current partial one included, so it
// errs low (by at most one second in ten) and the advice errs long: a client
// that comes back a little late finds room; one that comes back early is
// refused again.

#include "resilience/retry_after.hpp"

#include <algorithm>

#include "resilience/bucket_epoch.hpp"

namespace redge {

namespace {

// Both operands positive; no a + b - 1, which could overflow.
int64_t ceilDiv(int64_t a, int64_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
}

}  // namespace

RetryAfterEstimator::RetryAfterEstimator(const Clock& clock)
    : clock_(clock), created_epoch_(floorDiv(clock.nowMs(), kBucketMs)) {}

void RetryAfterEstimator::onDrained(int64_t n) {
  if (n <= 0) return;
  const int64_t epoch = floorDiv(clock_.nowMs(), kBucketMs);
  Bucket& b = buckets_[static_cast<size_t>(floorMod(epoch, kBuckets))];
  if (b.epoch != epoch) b = Bucket{epoch, 0};
  b.drained += n;
}

void RetryAfterEstimator::windowTotals(int64_t& drained, int64_t& seconds) const {
  const int64_t now_epoch = floorDiv(clock_.nowMs(), kBucketMs);
  const int64_t oldest = std::max(now_epoch - kBuckets + 1, created_epoch_);
  drained = 0;
  for (const Bucket& b : buckets_) {
    if (b.epoch >= oldest && b.epoch <= now_epoch) drained += b.drained;
  }
  // At least one bucket, also for a clock that stepped back past creation.
  seconds = std::max<int64_t>(1, now_epoch - oldest + 1);
}

int64_t RetryAfterEstimator::retryAfterSeconds(int64_t depth, int64_t recovery,
                                               int64_t breaker_remaining_open_ms) const {
  int64_t queue_s = 0;
  const int64_t excess = depth - recovery;
  if (excess > 0) {
    int64_t drained = 0;
    int64_t seconds = 0;
    windowTotals(drained, seconds);
    if (drained == 0) {
      queue_s = kIdleSeconds;
    } else if (excess > drained * kMaxSeconds) {
      // Past the cap whatever the exact value (seconds >= 1); checked first
      // so that the product below cannot overflow for an absurd depth.
      queue_s = kMaxSeconds;
    } else {
      // excess / (drained / seconds), rounded up, in integers.
      queue_s = ceilDiv(excess * seconds, drained);
    }
  }
  int64_t breaker_s = 0;
  if (breaker_remaining_open_ms > 0) breaker_s = ceilDiv(breaker_remaining_open_ms, 1000);
  return std::clamp(std::max(queue_s, breaker_s), kMinSeconds, kMaxSeconds);
}

double RetryAfterEstimator::drainRatePerSecond() const {
  int64_t drained = 0;
  int64_t seconds = 0;
  windowTotals(drained, seconds);
  return static_cast<double>(drained) / static_cast<double>(seconds);
}

}  // namespace redge
