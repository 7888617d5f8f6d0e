#pragma once
// One pool member's health, as two independent verdicts:
//
// Active (the health checker's probes). A member starts Unchecked and takes
// no traffic until a check passes: its first pass makes it Healthy at once
// (there is no history to confirm), its first failure Unhealthy. From then
// on `fall` failed checks in a row take a Healthy member down and `rise`
// passes in a row bring an Unhealthy one up; a result of the other kind
// resets the run. When the pool runs no active checks a member starts
// Healthy and stays so.
//
// Passive (the outcomes of real requests). consecutive_failures failed
// requests in a row (a 5xx or a connect error; any success resets the run)
// make an ejection due. The pool decides whether it may happen
// (max_ejection_percent); if it may, the member is out for
// base_ejection_ms × its ejection count, capped at max_ejection_ms, and
// returns when that time has passed. The count grows by one per ejection and
// drops by one for every base_ejection_ms the member then stays in the pool
// without being ejected again, so a member that keeps failing stays out
// longer each time, and one that recovered is forgiven. Results reported
// while a member is ejected (requests sent before) change nothing.
//
// eligible() is both verdicts together: Healthy and not ejected.
//
// Pure state; time comes in as arguments from the pool's Clock.

#include <cstdint>

namespace redge {

struct HealthOptions {
  // Active.
  bool active_checks = true;  // false: members start Healthy; passive only
  int64_t rise = 2;           // passes in a row to bring an Unhealthy member up
  int64_t fall = 3;           // failures in a row to take a Healthy member down
  // Passive.
  int64_t consecutive_failures = 5;  // failed requests in a row to eject; 0 never ejects
  int64_t base_ejection_ms = 30000;
  int64_t max_ejection_ms = 300000;
  int64_t max_ejection_percent = 50;  // of the pool's members, ejected at once
};

class MemberHealth {
 public:
  enum class Active { Unchecked, Healthy, Unhealthy };
  // What a check result changed.
  enum class Change { None, Up, Down };

  explicit MemberHealth(bool active_checks)
      : active_(active_checks ? Active::Unchecked : Active::Healthy) {}

  Change onCheckPassed(const HealthOptions& options);
  Change onCheckFailed(const HealthOptions& options);

  // A request to the member failed (5xx or connect error). True when the
  // failures in a row have reached consecutive_failures, i.e. an ejection is
  // due; it stays due with every further failure until the pool ejects the
  // member or a success ends the run.
  bool onRequestFailed(const HealthOptions& options);
  void onRequestSucceeded();
  // Ejects the member from now_ms; returns how long it is out.
  int64_t eject(int64_t now_ms, const HealthOptions& options);
  // Ends the ejection if its time has come; true if it did.
  bool returnIfDue(int64_t now_ms);

  bool eligible() const { return active_ == Active::Healthy && !ejected_; }
  Active active() const { return active_; }
  bool ejected() const { return ejected_; }
  int64_t ejectedUntilMs() const { return ejected_until_ms_; }
  // The multiplier of the current (or last) ejection period.
  int64_t ejectionCount() const { return ejection_count_; }
  int64_t consecutiveFailures() const { return consecutive_failures_; }
  int64_t checkPassesInRow() const { return passes_; }
  int64_t checkFailuresInRow() const { return fails_; }

  // The pool refused this run's ejection and said so: it says so once per
  // run of failures, not once per failed request.
  bool refusalReported() const { return refusal_reported_; }
  void markRefusalReported() { refusal_reported_ = true; }

 private:
  Active active_;
  int64_t passes_ = 0;  // checks passed in a row
  int64_t fails_ = 0;   // checks failed in a row

  int64_t consecutive_failures_ = 0;  // failed requests in a row
  bool refusal_reported_ = false;
  bool ejected_ = false;
  int64_t ejected_until_ms_ = 0;
  int64_t ejection_count_ = 0;
  int64_t returned_at_ms_ = -1;  // when the last ejection ended; -1 never ejected
};

const char* memberActiveName(MemberHealth::Active active);

}  // namespace redge
