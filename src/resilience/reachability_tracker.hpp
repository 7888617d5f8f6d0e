#pragma once
// Whether anything accepts connections at an upstream, learnt from connection
// attempts (start-up and re-probes, and the connects of real calls), turned
// into one log line per outage instead of one per call: the first refusal
// after the upstream was reachable (or before it was ever reached) starts an
// outage, the first connection that succeeds ends it, and the refusals in
// between change nothing. While the upstream is not known to be reachable it
// also says when to probe again, so a recovery is noticed even when no call
// is being made.
//
// Pure logic driven by the injected Clock. Single-threaded.

#include <cstdint>

#include "core/clock.hpp"

namespace redge {

class ReachabilityTracker {
 public:
  enum class State { Unknown, Reachable, Unreachable };
  // What an observation changed; the caller logs Lost as a warning and
  // Regained as an info line, and nothing for None.
  enum class Change { None, Lost, Regained };

  // The clock must outlive the tracker; reprobe_ms >= 1.
  ReachabilityTracker(const Clock& clock, int64_t reprobe_ms);

  // A connection to the upstream was refused (or could not be made).
  Change onRefused();
  // A connection to the upstream was made (a probe connected, or a call got
  // any HTTP answer).
  Change onConnected();

  // Should a probe start now? True once while nothing is known yet, and then
  // every reprobe_ms (counted from the last probe started) while the
  // upstream is not known to be reachable; never while it is. A true answer
  // records the probe as started.
  bool probeDue();

  State state() const { return state_; }
  // Outages seen so far (times Lost was returned).
  uint64_t outages() const { return outages_; }

 private:
  const Clock& clock_;
  const int64_t reprobe_ms_;
  State state_ = State::Unknown;
  bool probed_ = false;
  int64_t last_probe_ms_ = 0;
  uint64_t outages_ = 0;
};

}  // namespace redge
