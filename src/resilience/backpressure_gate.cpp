// BackpressureGate: the two-threshold switch that decides whether the relay
// accepts new messages. The asymmetry (off at max, on again only at
// recovery) is the whole point; see the header.

#include "resilience/backpressure_gate.hpp"

#include <cassert>

namespace redge {

BackpressureGate::BackpressureGate(int64_t max, int64_t recovery) : max_(max), recovery_(recovery) {
  assert(recovery < max);
}

void BackpressureGate::setThresholds(int64_t max, int64_t recovery) {
  assert(recovery < max);
  max_ = max;
  recovery_ = recovery;
}

bool BackpressureGate::observe(int64_t depth) {
  if (accepting_ && depth >= max_) {
    accepting_ = false;
    return true;
  }
  if (!accepting_ && depth <= recovery_) {
    accepting_ = true;
    return true;
  }
  return false;
}

}  // namespace redge
