#pragma once
// A circuit breaker in front of one upstream: it stops calls to an upstream
// that keeps failing, lets a few trial calls through after a pause, and closes
// again when they succeed. Pure logic driven by the injected Clock; no I/O.
//
// States:
//   Closed   every call is allowed. Opens when, in the rolling window, at
//            least min_calls results were recorded and failures/calls >=
//            failure_ratio, or when consecutive_failures failed in a row.
//   Open     every call is rejected for the open period. The period starts at
//            open_ms and doubles on each re-open from HalfOpen (capped at
//            max_open_ms); closing resets it to open_ms.
//   HalfOpen up to half_open_probes trial calls are allowed. When all of them
//            succeed the breaker closes (window cleared); the first failure
//            opens it again with the doubled period.
//
// Open -> HalfOpen happens lazily: every non-const method first looks at the
// clock, so no timer is needed; the transition observer fires from whichever
// call noticed it.
//
// A caller that keeps its calls queued (the relay) does not ask allow() for
// every call whose turn comes while the breaker is Open: it holds each one
// back until the open period ends (remainingOpenMs()) and reports it with
// onHeld(), which counts it as a rejection. Releasing held calls only once the
// breaker is no longer Open is what refuses a call at most once per open
// period, and keeps an open breaker from costing a busy loop.
//
// The breaker does not know which call a result belongs to. A result that
// arrives while Open, or while HalfOpen with no probe in flight, came from a
// call admitted before the breaker opened: it is counted in the window but
// changes no state. While probes are in flight, any result is taken as a
// probe's result.
//
// Single-threaded, like the rest of redge.

#include <array>
#include <cstdint>
#include <functional>

#include "core/clock.hpp"

namespace redge {

struct CircuitBreakerOptions {
  int64_t window_ms = 10000;         // rolling window for the failure ratio
  int64_t min_calls = 5;             // calls in the window before the ratio counts
  double failure_ratio = 0.5;        // open when failures/calls >= this (with min_calls)
  int64_t consecutive_failures = 5;  // or when this many failed in a row
  int64_t open_ms = 5000;            // first open period
  int64_t max_open_ms = 60000;       // doubling cap for consecutive re-opens
  int64_t half_open_probes = 1;      // trial calls allowed in half-open
};

enum class BreakerState { Closed, Open, HalfOpen };

// Stable lower-case name for logs and metric labels: closed, open, half_open.
const char* breakerStateName(BreakerState state);

class CircuitBreaker {
 public:
  struct Counts {
    uint64_t calls_in_window;
    uint64_t failures_in_window;
    uint64_t consecutive_failures;
    uint64_t opened_total;
    uint64_t rejected_total;
  };

  // The clock must outlive the breaker. The options must be valid (the config
  // loader checks them): every count and period >= 1, open_ms <= max_open_ms,
  // failure_ratio in (0, 1].
  explicit CircuitBreaker(const Clock& clock, const CircuitBreakerOptions& options = {});

  // May a call be made now? In HalfOpen a true answer admits the call as a
  // probe, so the caller must report its result with onSuccess()/onFailure().
  // Every false answer counts in rejected_total.
  bool allow();
  // A call whose turn came while Open was held back without asking allow()
  // (see above): counted in rejected_total. Changes no state.
  void onHeld();
  // The result of a call, counted at the time it is reported.
  void onSuccess();
  void onFailure();

  // Current state; may move Open -> HalfOpen when the open period is over.
  BreakerState state();
  // Milliseconds left in the open period; 0 unless Open.
  int64_t remainingOpenMs();
  // The open period that applies to the current open (while Open) or to the
  // next one: open_ms while Closed, the doubled period while HalfOpen.
  int64_t currentOpenMs() const;

  Counts counts();

  // Called on every state change, after the change, in order, exactly once
  // per change. One observer; setting another replaces it. The observer may
  // call back into the breaker (counts(), currentOpenMs()).
  void onTransition(std::function<void(BreakerState from, BreakerState to)> fn);

  const CircuitBreakerOptions& options() const { return options_; }

  // A reload's new options (valid, as for the constructor). The state
  // stays: an open period under way keeps its end, the next one follows the
  // new open_ms / max_open_ms. The window is cleared only when window_ms
  // changes (its buckets no longer line up); the new thresholds judge the
  // next result.
  void reconfigure(CircuitBreakerOptions options);

 private:
  // Ten buckets: the window's granularity is window_ms / 10.
  static constexpr int64_t kMaxBuckets = 10;

  struct Bucket {
    int64_t epoch = -1;  // now / bucket_ms_ when it was filled; -1 never
    uint64_t calls = 0;
    uint64_t failures = 0;
  };

  void refresh();
  void record(bool failure);
  void windowTotals(uint64_t& calls, uint64_t& failures) const;
  void clearWindow();
  bool tripped() const;
  void open();
  void close();
  void transition(BreakerState to);
  int64_t doubledOpenMs() const;

  const Clock& clock_;
  CircuitBreakerOptions options_;
  int64_t bucket_count_;
  int64_t bucket_ms_;
  std::array<Bucket, kMaxBuckets> buckets_{};

  BreakerState state_ = BreakerState::Closed;
  int64_t open_until_ms_ = 0;
  int64_t open_period_ms_;  // the period of the current or next open
  uint64_t consecutive_failures_ = 0;
  int64_t probes_in_flight_ = 0;  // admitted in HalfOpen, result not yet seen
  int64_t probes_succeeded_ = 0;
  uint64_t opened_total_ = 0;
  uint64_t rejected_total_ = 0;
  std::function<void(BreakerState, BreakerState)> observer_;
};

}  // namespace redge
