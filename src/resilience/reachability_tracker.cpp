// ReachabilityTracker: the three-state latch (unknown, reachable,
// unreachable) behind the relay's one-warning-per-outage rule, and the
// re-probe schedule while an outage lasts. See the header.

#include "resilience/reachability_tracker.hpp"

#include <cassert>

namespace redge {

ReachabilityTracker::ReachabilityTracker(const Clock& clock, int64_t reprobe_ms)
    : clock_(clock), reprobe_ms_(reprobe_ms) {
  assert(reprobe_ms_ >= 1);
}

ReachabilityTracker::Change ReachabilityTracker::onRefused() {
  if (state_ == State::Unreachable) return Change::None;
  state_ = State::Unreachable;
  ++outages_;
  return Change::Lost;
}

ReachabilityTracker::Change ReachabilityTracker::onConnected() {
  const State was = state_;
  state_ = State::Reachable;
  // Reached at the first try is not news: only the end of an outage is.
  return was == State::Unreachable ? Change::Regained : Change::None;
}

bool ReachabilityTracker::probeDue() {
  if (state_ == State::Reachable) return false;
  const int64_t now = clock_.nowMs();
  // A clock that stepped backwards counts as "due": a late probe costs one
  // connect, a missed one leaves a recovered upstream unannounced.
  if (probed_ && now - last_probe_ms_ < reprobe_ms_ && now >= last_probe_ms_) return false;
  probed_ = true;
  last_probe_ms_ = now;
  return true;
}

}  // namespace redge
