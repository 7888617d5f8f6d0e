// CircuitBreaker: the Closed / Open / HalfOpen state machine that guards one
// upstream, plus the rolling window of call results it judges by.
//
// The window is a ring of at most ten buckets, each covering window_ms / 10
// (rounded up, and at least 1 ms). A bucket is tagged with its epoch
// (now / bucket width), so a stale slot is recognised and reset when reused
// and ignored when summed; memory stays fixed however many calls are made.
// Expiry is exact to the bucket: a result counts from the moment it is
// reported until its bucket leaves the window, i.e. for at most window_ms
// and at least window_ms minus one bucket.
//
// Time only moves forward for the breaker when one of its methods runs:
// refresh() is the single place where an expired open period becomes
// HalfOpen, and every public entry point calls it first.

#include "resilience/circuit_breaker.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "resilience/bucket_epoch.hpp"

namespace redge {

namespace {

int64_t bucketCountFor(int64_t window_ms) {
  return std::clamp<int64_t>(window_ms, 1, 10);
}

int64_t bucketWidthFor(int64_t window_ms, int64_t bucket_count) {
  // Rounded up, so the ring never covers less than the configured window.
  return std::max<int64_t>(1, (window_ms + bucket_count - 1) / bucket_count);
}

}  // namespace

const char* breakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::Closed:
      return "closed";
    case BreakerState::Open:
      return "open";
    case BreakerState::HalfOpen:
      return "half_open";
  }
  return "unknown";
}

CircuitBreaker::CircuitBreaker(const Clock& clock, const CircuitBreakerOptions& options)
    : clock_(clock),
      options_(options),
      bucket_count_(bucketCountFor(options.window_ms)),
      bucket_ms_(bucketWidthFor(options.window_ms, bucket_count_)),
      open_period_ms_(options.open_ms) {
  static_assert(kMaxBuckets == 10, "bucketCountFor() caps at ten buckets");
  assert(options_.window_ms >= 1);
  assert(options_.min_calls >= 1);
  assert(options_.failure_ratio > 0 && options_.failure_ratio <= 1);
  assert(options_.consecutive_failures >= 1);
  assert(options_.open_ms >= 1 && options_.open_ms <= options_.max_open_ms);
  assert(options_.half_open_probes >= 1);
}

bool CircuitBreaker::allow() {
  refresh();
  switch (state_) {
    case BreakerState::Closed:
      return true;
    case BreakerState::Open:
      break;
    case BreakerState::HalfOpen:
      // A probe still in flight holds its slot: admitting more while the
      // first ones are unanswered would send a burst at an upstream that has
      // not yet shown it is back.
      if (probes_in_flight_ + probes_succeeded_ < options_.half_open_probes) {
        ++probes_in_flight_;
        return true;
      }
      break;
  }
  ++rejected_total_;
  return false;
}

void CircuitBreaker::onHeld() {
  // No refresh(): a hold decided while Open is a rejection of that open
  // period even if the reply that reports it arrives after the period ended.
  ++rejected_total_;
}

void CircuitBreaker::onSuccess() {
  refresh();
  record(false);
  consecutive_failures_ = 0;
  switch (state_) {
    case BreakerState::Closed:
      // Judged after every result, not only failures: with min_calls not yet
      // reached, the success that completes it can be what makes the ratio
      // count.
      if (tripped()) open();
      return;
    case BreakerState::Open:
      return;  // a call from before the open: counted, but cannot close it
    case BreakerState::HalfOpen:
      if (probes_in_flight_ == 0) return;  // late result, not a probe
      --probes_in_flight_;
      ++probes_succeeded_;
      if (probes_succeeded_ >= options_.half_open_probes) close();
      return;
  }
}

void CircuitBreaker::onFailure() {
  refresh();
  record(true);
  ++consecutive_failures_;
  switch (state_) {
    case BreakerState::Closed:
      if (tripped()) open();
      return;
    case BreakerState::Open:
      return;  // a call from before the open: counted, the period stands
    case BreakerState::HalfOpen:
      if (probes_in_flight_ == 0) return;  // late result, not a probe
      open();
      return;
  }
}

void CircuitBreaker::reconfigure(CircuitBreakerOptions options) {
  refresh();
  assert(options.window_ms >= 1 && options.min_calls >= 1);
  assert(options.failure_ratio > 0 && options.failure_ratio <= 1);
  assert(options.consecutive_failures >= 1 && options.half_open_probes >= 1);
  assert(options.open_ms >= 1 && options.open_ms <= options.max_open_ms);
  const bool window_changed = options.window_ms != options_.window_ms;
  options_ = options;
  if (window_changed) {
    bucket_count_ = bucketCountFor(options_.window_ms);
    bucket_ms_ = bucketWidthFor(options_.window_ms, bucket_count_);
    clearWindow();
  }
  open_period_ms_ = state_ == BreakerState::Closed
                        ? options_.open_ms
                        : std::clamp(open_period_ms_, options_.open_ms, options_.max_open_ms);
}

BreakerState CircuitBreaker::state() {
  refresh();
  return state_;
}

int64_t CircuitBreaker::remainingOpenMs() {
  refresh();
  if (state_ != BreakerState::Open) return 0;
  return open_until_ms_ - clock_.nowMs();
}

int64_t CircuitBreaker::currentOpenMs() const {
  // Const, so it cannot run refresh(); an Open whose period is over is
  // already HalfOpen in effect, and the next open from there is doubled.
  if (state_ == BreakerState::HalfOpen ||
      (state_ == BreakerState::Open && clock_.nowMs() >= open_until_ms_)) {
    return doubledOpenMs();
  }
  return open_period_ms_;
}

CircuitBreaker::Counts CircuitBreaker::counts() {
  refresh();
  Counts c{};
  windowTotals(c.calls_in_window, c.failures_in_window);
  c.consecutive_failures = consecutive_failures_;
  c.opened_total = opened_total_;
  c.rejected_total = rejected_total_;
  return c;
}

void CircuitBreaker::onTransition(std::function<void(BreakerState, BreakerState)> fn) {
  observer_ = std::move(fn);
}

void CircuitBreaker::refresh() {
  if (state_ == BreakerState::Open && clock_.nowMs() >= open_until_ms_) {
    probes_in_flight_ = 0;
    probes_succeeded_ = 0;
    transition(BreakerState::HalfOpen);
  }
}

void CircuitBreaker::record(bool failure) {
  const int64_t epoch = floorDiv(clock_.nowMs(), bucket_ms_);
  Bucket& b = buckets_[static_cast<size_t>(floorMod(epoch, bucket_count_))];
  if (b.epoch != epoch) b = Bucket{epoch, 0, 0};
  ++b.calls;
  if (failure) ++b.failures;
}

void CircuitBreaker::windowTotals(uint64_t& calls, uint64_t& failures) const {
  const int64_t now_epoch = floorDiv(clock_.nowMs(), bucket_ms_);
  calls = 0;
  failures = 0;
  for (int64_t i = 0; i < bucket_count_; ++i) {
    const Bucket& b = buckets_[static_cast<size_t>(i)];
    // Buckets from a clock that stepped backwards (epoch in the future) are
    // ignored as well as expired ones.
    if (b.epoch > now_epoch - bucket_count_ && b.epoch <= now_epoch) {
      calls += b.calls;
      failures += b.failures;
    }
  }
}

void CircuitBreaker::clearWindow() {
  buckets_.fill(Bucket{});
}

bool CircuitBreaker::tripped() const {
  if (consecutive_failures_ >= static_cast<uint64_t>(options_.consecutive_failures)) return true;
  uint64_t calls = 0;
  uint64_t failures = 0;
  windowTotals(calls, failures);
  if (calls < static_cast<uint64_t>(options_.min_calls)) return false;
  // Division rather than failure_ratio * calls: a correctly rounded quotient
  // equals the ratio literal exactly when the fractions are equal (2/4 vs
  // 0.5, 3/10 vs 0.3), so "at exactly failure_ratio" trips as promised.
  return static_cast<double>(failures) / static_cast<double>(calls) >= options_.failure_ratio;
}

void CircuitBreaker::open() {
  // A re-open is an open straight from HalfOpen: the upstream failed its
  // trial, so it gets longer to recover before the next one.
  if (state_ == BreakerState::HalfOpen) open_period_ms_ = doubledOpenMs();
  open_until_ms_ = clock_.nowMs() + open_period_ms_;
  probes_in_flight_ = 0;
  probes_succeeded_ = 0;
  ++opened_total_;
  transition(BreakerState::Open);
}

void CircuitBreaker::close() {
  // A fresh start: failures from before the outage must not count against
  // the recovered upstream, and the next outage starts at the short period.
  clearWindow();
  consecutive_failures_ = 0;
  open_period_ms_ = options_.open_ms;
  probes_in_flight_ = 0;
  probes_succeeded_ = 0;
  transition(BreakerState::Closed);
}

void CircuitBreaker::transition(BreakerState to) {
  const BreakerState from = state_;
  state_ = to;
  // Fired last, with the state complete, so an observer that reads counts()
  // or currentOpenMs() sees the new state.
  if (observer_) observer_(from, to);
}

int64_t CircuitBreaker::doubledOpenMs() const {
  // period * 2 > max, written so that a huge max_open_ms cannot overflow.
  if (open_period_ms_ > options_.max_open_ms - open_period_ms_) return options_.max_open_ms;
  return open_period_ms_ * 2;
}

}  // namespace redge
