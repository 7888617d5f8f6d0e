// PoolHealth: every member's MemberHealth by index, the pool's counts
// (members, eligible, ejected) kept as changes happen so reading them is
// O(1), the max_ejection_percent rule, and the events.
//
// The earliest return time of the ejected members is cached, so refresh()
// costs one comparison until a return is actually due, and a scan of the
// members only then.

#include "upstream/pool_health.hpp"

#include <algorithm>
#include <utility>

namespace redge {

std::string_view healthEventName(HealthEventKind kind) {
  switch (kind) {
    case HealthEventKind::Up:
      return "up";
    case HealthEventKind::Down:
      return "down";
    case HealthEventKind::Ejected:
      return "ejected";
    case HealthEventKind::Returned:
      return "returned";
    case HealthEventKind::EjectionRefused:
      return "ejection_refused";
  }
  return "unknown";
}

PoolHealth::PoolHealth(const Clock& clock, const HealthOptions& options)
    : clock_(clock), options_(options) {}

MemberHealth* PoolHealth::slot(uint32_t member) {
  if (member >= members_.size() || !members_[member]) return nullptr;
  return &*members_[member];
}

const MemberHealth* PoolHealth::find(uint32_t member) const {
  if (member >= members_.size() || !members_[member]) return nullptr;
  return &*members_[member];
}

bool PoolHealth::eligible(uint32_t member) const {
  const MemberHealth* m = find(member);
  return m != nullptr && m->eligible();
}

void PoolHealth::emit(const HealthEvent& event) {
  if (observer_) observer_(event);
}

void PoolHealth::recount(bool was_eligible, bool was_ejected, const MemberHealth& m) {
  if (was_eligible != m.eligible()) {
    if (m.eligible()) {
      ++eligible_;
    } else {
      --eligible_;
    }
  }
  if (was_ejected != m.ejected()) {
    if (m.ejected()) {
      ++ejected_;
    } else {
      --ejected_;
    }
  }
}

void PoolHealth::recomputeNextReturn() {
  next_return_ms_ = -1;
  if (ejected_ == 0) return;
  for (const auto& m : members_) {
    if (!m || !m->ejected()) continue;
    if (next_return_ms_ < 0 || m->ejectedUntilMs() < next_return_ms_) {
      next_return_ms_ = m->ejectedUntilMs();
    }
  }
}

int64_t PoolHealth::msUntilNextReturn() const {
  if (next_return_ms_ < 0) return -1;
  return std::max<int64_t>(0, next_return_ms_ - clock_.nowMs());
}

void PoolHealth::refresh() {
  if (next_return_ms_ < 0 || clock_.nowMs() < next_return_ms_) return;
  const int64_t now = clock_.nowMs();
  // Every due return is made before the first event goes out, so the
  // observer sees the pool as it now is; it may change the membership, hence
  // the check before each event.
  std::vector<uint32_t> returned;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (!members_[i]) continue;
    MemberHealth& m = *members_[i];
    bool was_eligible = m.eligible();
    if (!m.returnIfDue(now)) continue;
    recount(was_eligible, true, m);
    returned.push_back(static_cast<uint32_t>(i));
  }
  recomputeNextReturn();
  for (uint32_t member : returned) {
    const MemberHealth* m = find(member);
    if (m == nullptr) continue;
    HealthEvent e;
    e.member = member;
    e.kind = HealthEventKind::Returned;
    e.eligible = m->eligible();
    emit(e);
  }
}

bool PoolHealth::addMember(uint32_t member) {
  refresh();
  if (member >= members_.size()) members_.resize(static_cast<size_t>(member) + 1);
  if (members_[member]) return false;
  members_[member].emplace(options_.active_checks);
  ++size_;
  if (members_[member]->eligible()) {
    ++eligible_;
    HealthEvent e;
    e.member = member;
    e.kind = HealthEventKind::Up;
    e.eligible = true;
    emit(e);
  }
  return true;
}

bool PoolHealth::removeMember(uint32_t member) {
  MemberHealth* m = slot(member);
  if (m == nullptr) return false;
  if (m->eligible()) --eligible_;
  bool was_ejected = m->ejected();
  if (was_ejected) --ejected_;
  members_[member].reset();
  --size_;
  if (was_ejected) recomputeNextReturn();
  refresh();
  return true;
}

void PoolHealth::onCheckPassed(uint32_t member) {
  refresh();
  MemberHealth* m = slot(member);
  if (m == nullptr) return;
  bool was_eligible = m->eligible();
  MemberHealth::Change change = m->onCheckPassed(options_);
  recount(was_eligible, m->ejected(), *m);
  if (change == MemberHealth::Change::None) return;
  HealthEvent e;
  e.member = member;
  e.kind = HealthEventKind::Up;
  e.eligible = m->eligible();
  emit(e);
}

void PoolHealth::onCheckFailed(uint32_t member) {
  refresh();
  MemberHealth* m = slot(member);
  if (m == nullptr) return;
  bool was_eligible = m->eligible();
  MemberHealth::Change change = m->onCheckFailed(options_);
  recount(was_eligible, m->ejected(), *m);
  if (change == MemberHealth::Change::None) return;
  HealthEvent e;
  e.member = member;
  e.kind = HealthEventKind::Down;
  e.eligible = m->eligible();
  emit(e);
}

void PoolHealth::onRequestSucceeded(uint32_t member) {
  refresh();
  MemberHealth* m = slot(member);
  if (m != nullptr) m->onRequestSucceeded();
}

void PoolHealth::onRequestFailed(uint32_t member) {
  refresh();
  MemberHealth* m = slot(member);
  if (m == nullptr || !m->onRequestFailed(options_)) return;
  HealthEvent e;
  e.member = member;
  e.failures_in_row = m->consecutiveFailures();
  if (static_cast<int64_t>(ejected_ + 1) * 100 >
      options_.max_ejection_percent * static_cast<int64_t>(size_)) {
    if (m->refusalReported()) return;
    m->markRefusalReported();
    e.kind = HealthEventKind::EjectionRefused;
    e.eligible = m->eligible();
    emit(e);
    return;
  }
  bool was_eligible = m->eligible();
  const int64_t now = clock_.nowMs();
  e.ejection_ms = m->eject(now, options_);
  e.ejection_count = m->ejectionCount();
  recount(was_eligible, false, *m);
  if (next_return_ms_ < 0 || m->ejectedUntilMs() < next_return_ms_) {
    next_return_ms_ = m->ejectedUntilMs();
  }
  e.kind = HealthEventKind::Ejected;
  e.eligible = m->eligible();
  emit(e);
}

}  // namespace redge
