#pragma once
// How long a client turned away by the relay should wait: the Retry-After
// seconds sent with a 503 (queue full or breaker open). Estimated from how
// fast the queue has been draining, so a client comes back about when there
// is room again instead of at a fixed, usually wrong, delay.
//
// Pure logic driven by the injected Clock. Single-threaded.

#include <array>
#include <cstdint>

#include "core/clock.hpp"

namespace redge {

class RetryAfterEstimator {
 public:
  // Drain rate window: ten one-second buckets.
  static constexpr int64_t kBucketMs = 1000;
  static constexpr int64_t kBuckets = 10;
  // The answer when nothing drained in the window: the consumer may be
  // stalled, so the rate is unknown; long enough not to invite a stampede,
  // short enough that a recovered relay is found quickly.
  static constexpr int64_t kIdleSeconds = 5;
  // Every answer lies in [kMinSeconds, kMaxSeconds]: never "retry now", and
  // never longer than a client is likely to wait before giving up anyway.
  static constexpr int64_t kMinSeconds = 1;
  static constexpr int64_t kMaxSeconds = 60;

  // The clock must outlive the estimator.
  explicit RetryAfterEstimator(const Clock& clock);

  // `n` messages left the queue now. n <= 0 is ignored.
  void onDrained(int64_t n);

  // Seconds until a queue at `depth` has drained to `recovery` at the rate
  // observed over the window: ceil((depth - recovery) / rate); kIdleSeconds
  // when nothing drained lately; at least the rest of the breaker's open
  // period (pass 0 when it is not open), so a client is not invited back
  // while calls would still be refused. Bounded to [kMinSeconds, kMaxSeconds].
  int64_t retryAfterSeconds(int64_t depth, int64_t recovery,
                            int64_t breaker_remaining_open_ms) const;

  // Messages drained per second over the window; 0 when none. For logs and
  // the dashboard.
  double drainRatePerSecond() const;

 private:
  struct Bucket {
    int64_t epoch = -1;  // nowMs / kBucketMs when it was filled; -1 never
    int64_t drained = 0;
  };

  // Messages drained in the window, and the number of one-second buckets the
  // window spans so far (fewer than kBuckets during the estimator's first
  // seconds, so a young estimator does not read as slow).
  void windowTotals(int64_t& drained, int64_t& seconds) const;

  const Clock& clock_;
  const int64_t created_epoch_;
  std::array<Bucket, kBuckets> buckets_{};
};

}  // namespace redge
