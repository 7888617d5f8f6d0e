#pragma once
// The health of one pool's members (MemberHealth each), the pool-wide limit
// on ejections, and one event per change, so whoever runs the pool (the
// health checker, the gateway) logs, counts and mirrors eligibility from a
// single stream.
//
// Members are known by their index in the pool (Member::index). Results come
// in from two sides: the health checker's probes (onCheckPassed/Failed) and
// the gateway's requests (onRequestSucceeded/Failed: a 5xx or a connect
// error is a failure). An ejection that would leave more than
// max_ejection_percent of the pool ejected at once is refused (a single-
// member pool is never ejected at 50%); the member stays in, its failure run
// continues, and the ejection is made at its next failure once room frees.
//
// Ejected members return when their period is over, noticed by refresh():
// every public entry point calls it first (O(1) unless a return is due), and
// an owner with timers calls it at msUntilNextReturn() so a return is not
// left waiting for the next request (HealthChecker does).
//
// Events: Up, Down (active verdict), Ejected, Returned (passive), and
// EjectionRefused (once per failure run). Each carries the member's
// eligibility after the change. They are delivered synchronously, after the
// state changed, to one observer, which may call back into the pool (read
// it, report results, add or remove members).
//
// Pure: time from the injected Clock. Reporting a request's outcome is O(1)
// with no allocation (the gateway does it per response). Single-threaded.

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "upstream/member_health.hpp"

namespace redge {

enum class HealthEventKind { Up, Down, Ejected, Returned, EjectionRefused };

// "up" | "down" | "ejected" | "returned" | "ejection_refused".
std::string_view healthEventName(HealthEventKind kind);

struct HealthEvent {
  uint32_t member = 0;
  HealthEventKind kind = HealthEventKind::Up;
  bool eligible = false;        // the member's eligibility after the change
  int64_t ejection_ms = 0;      // Ejected: how long it is out
  int64_t ejection_count = 0;   // Ejected: the period's multiplier
  int64_t failures_in_row = 0;  // Ejected, EjectionRefused: the failed requests that did it
};

class PoolHealth {
 public:
  // The clock must outlive the pool. Options as the config checks them:
  // rise, fall >= 1; base_ejection_ms >= 1; max_ejection_ms >= base;
  // max_ejection_percent in [0, 100].
  PoolHealth(const Clock& clock, const HealthOptions& options);

  void setObserver(std::function<void(const HealthEvent&)> observer) {
    observer_ = std::move(observer);
  }

  // A new member: Unchecked, so not eligible until its first check passes;
  // with active checks off it is Healthy at once and an Up event says so.
  // False if the index is already a member.
  bool addMember(uint32_t member);
  // Forgets the member (no event). False if it was not one.
  bool removeMember(uint32_t member);
  bool contains(uint32_t member) const { return find(member) != nullptr; }

  // Active check results. Ignored for an unknown member.
  void onCheckPassed(uint32_t member);
  void onCheckFailed(uint32_t member);
  // Request outcomes. Ignored for an unknown member.
  void onRequestSucceeded(uint32_t member);
  void onRequestFailed(uint32_t member);

  // May the member take traffic? False for an unknown member.
  bool eligible(uint32_t member) const;

  // Returns the ejected members whose time has come (an event each).
  void refresh();
  // Milliseconds until the earliest ejected member is due back (0 if one is
  // due now), or -1 when none is ejected.
  int64_t msUntilNextReturn() const;

  size_t size() const { return size_; }
  size_t ejectedCount() const { return ejected_; }
  size_t eligibleCount() const { return eligible_; }
  const MemberHealth* find(uint32_t member) const;
  const HealthOptions& options() const { return options_; }

 private:
  MemberHealth* slot(uint32_t member);
  void emit(const HealthEvent& event);
  // Keeps eligible_ and ejected_ true after one member changed.
  void recount(bool was_eligible, bool was_ejected, const MemberHealth& m);
  void recomputeNextReturn();

  const Clock& clock_;
  const HealthOptions options_;
  std::vector<std::optional<MemberHealth>> members_;  // by member index
  size_t size_ = 0;
  size_t ejected_ = 0;
  size_t eligible_ = 0;
  int64_t next_return_ms_ = -1;  // earliest ejected_until of the ejected; -1 none
  std::function<void(const HealthEvent&)> observer_;
};

}  // namespace redge
