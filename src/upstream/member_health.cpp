// MemberHealth: the active rise/fall runs and the passive failure run,
// ejection period and its decay, for one member. The pool (PoolHealth)
// applies the pool-wide limit and reports the changes.

#include "upstream/member_health.hpp"

#include <algorithm>

namespace redge {

const char* memberActiveName(MemberHealth::Active active) {
  switch (active) {
    case MemberHealth::Active::Unchecked:
      return "unchecked";
    case MemberHealth::Active::Healthy:
      return "healthy";
    case MemberHealth::Active::Unhealthy:
      return "unhealthy";
  }
  return "unknown";
}

MemberHealth::Change MemberHealth::onCheckPassed(const HealthOptions& options) {
  fails_ = 0;
  ++passes_;
  switch (active_) {
    case Active::Unchecked:
      active_ = Active::Healthy;
      passes_ = 0;
      return Change::Up;
    case Active::Unhealthy:
      if (passes_ < options.rise) return Change::None;
      active_ = Active::Healthy;
      passes_ = 0;
      return Change::Up;
    case Active::Healthy:
      return Change::None;
  }
  return Change::None;
}

MemberHealth::Change MemberHealth::onCheckFailed(const HealthOptions& options) {
  passes_ = 0;
  ++fails_;
  switch (active_) {
    case Active::Unchecked:
      active_ = Active::Unhealthy;
      fails_ = 0;
      return Change::Down;
    case Active::Healthy:
      if (fails_ < options.fall) return Change::None;
      active_ = Active::Unhealthy;
      fails_ = 0;
      return Change::Down;
    case Active::Unhealthy:
      return Change::None;
  }
  return Change::None;
}

bool MemberHealth::onRequestFailed(const HealthOptions& options) {
  if (ejected_) return false;
  ++consecutive_failures_;
  return options.consecutive_failures > 0 && consecutive_failures_ >= options.consecutive_failures;
}

void MemberHealth::onRequestSucceeded() {
  if (ejected_) return;
  consecutive_failures_ = 0;
  refusal_reported_ = false;
}

int64_t MemberHealth::eject(int64_t now_ms, const HealthOptions& options) {
  const int64_t base = std::max<int64_t>(options.base_ejection_ms, 1);
  if (returned_at_ms_ >= 0) {
    // Forgive one ejection per base period spent back in the pool.
    ejection_count_ = std::max<int64_t>(0, ejection_count_ - (now_ms - returned_at_ms_) / base);
  }
  // Past the cap the count stops growing, so the product cannot overflow.
  ejection_count_ = std::min(ejection_count_ + 1, options.max_ejection_ms / base + 1);
  const int64_t period = std::min(base * ejection_count_, options.max_ejection_ms);
  ejected_ = true;
  ejected_until_ms_ = now_ms + period;
  consecutive_failures_ = 0;
  refusal_reported_ = false;
  return period;
}

bool MemberHealth::returnIfDue(int64_t now_ms) {
  if (!ejected_ || now_ms < ejected_until_ms_) return false;
  ejected_ = false;
  // From when it was due, not when someone noticed: the decay is exact.
  returned_at_ms_ = ejected_until_ms_;
  return true;
}

}  // namespace redge
