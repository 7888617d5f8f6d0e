// HealthChecker: per-member probe sessions on two Timers each, the timer
// that brings ejected members back, and the stats and log line of each
// health event (see health_checker.hpp for the schedule).
//
// Removal while callbacks run. A member may be removed from inside one of
// its own callbacks (the listener hears member_down and drops the member),
// and a Timer must not be destroyed by its own callback. So a removed
// member's session is disarmed and moved to retired_, and freed only at the
// start of a later timer callback: no retired timer can fire (they are
// disabled), and timer callbacks are entered from the loop, never from
// inside another callback of the checker.

#include "upstream/health_checker.hpp"

#include <algorithm>
#include <utility>

#include "core/log.hpp"

namespace redge {

std::string_view healthCheckResultName(HealthCheckResult result) {
  switch (result) {
    case HealthCheckResult::Pass:
      return "pass";
    case HealthCheckResult::Fail:
      return "fail";
    case HealthCheckResult::Timeout:
      return "timeout";
    case HealthCheckResult::Error:
      return "error";
  }
  return "unknown";
}

struct HealthChecker::Session {
  Session(HealthChecker& checker, uint32_t member_index, std::string member_name)
      : member(member_index),
        name(std::move(member_name)),
        stats(bindUpstreamMemberStats(checker.metrics_, checker.options_.pool, name)),
        checks(checker.metrics_, checker.options_.pool, name) {}

  uint32_t member;
  std::string name;
  UpstreamMemberStats stats;
  HealthCheckCounters checks;
  TimerPtr interval_timer;
  TimerPtr timeout_timer;
  uint64_t probe_seq = 0;  // of the probe in flight; unique across the checker
  bool in_flight = false;
  bool retired = false;
  // The last check, for the member_down line.
  HealthCheckResult last_result = HealthCheckResult::Pass;
  HttpClientError last_error = HttpClientError::None;
  int last_status = 0;
};

HealthChecker::HealthChecker(TimerFactory& timers, const Clock& clock, MetricsRegistry& metrics,
                             HealthProbe* probe, HealthCheckerOptions options)
    : options_(std::move(options)),
      timers_(timers),
      metrics_(metrics),
      probe_(probe),
      health_(clock, options_.health),
      pool_stats_(bindUpstreamPoolStats(metrics, options_.pool)) {
  health_.setObserver([this](const HealthEvent& e) { onHealthEvent(e); });
  return_timer_ = timers_.createTimer([this] {
    reapRetired();
    health_.refresh();
    armReturnTimer();
  });
  updatePoolGauges();
}

HealthChecker::~HealthChecker() {
  stop();
  health_.setObserver(nullptr);
}

HealthChecker::Session* HealthChecker::session(uint32_t member) const {
  return member < sessions_.size() ? sessions_[member].get() : nullptr;
}

bool HealthChecker::addMember(uint32_t member, std::string name) {
  if (session(member) != nullptr || health_.contains(member)) return false;
  if (member >= sessions_.size()) sessions_.resize(static_cast<size_t>(member) + 1);
  auto owned = std::make_unique<Session>(*this, member, std::move(name));
  Session& s = *owned;
  s.interval_timer = timers_.createTimer([this, &s] { onIntervalTimer(s); });
  s.timeout_timer = timers_.createTimer([this, &s] { onTimeoutTimer(s); });
  s.stats.member_healthy.set(0);
  s.stats.member_ejected.set(0);
  sessions_[member] = std::move(owned);
  // The session exists before the pool hears of the member: a passive-only
  // pool reports it Up at once, and that event needs its stats.
  health_.addMember(member);
  updatePoolGauges();
  if (running_ && probe_ != nullptr && options_.health.active_checks) s.interval_timer->enable(0);
  return true;
}

bool HealthChecker::removeMember(uint32_t member) {
  Session* s = session(member);
  if (s == nullptr) return false;
  s->retired = true;
  s->in_flight = false;
  s->interval_timer->disable();
  s->timeout_timer->disable();
  s->stats.member_healthy.set(0);
  s->stats.member_ejected.set(0);
  retired_.push_back(std::move(sessions_[member]));
  health_.removeMember(member);
  updatePoolGauges();
  armReturnTimer();
  return true;
}

void HealthChecker::start() {
  if (running_ || stopped_) return;
  running_ = true;
  if (probe_ != nullptr && options_.health.active_checks) {
    for (auto& s : sessions_) {
      if (s) s->interval_timer->enable(0);
    }
  }
  armReturnTimer();
}

void HealthChecker::stop() {
  running_ = false;
  stopped_ = true;
  for (auto& s : sessions_) {
    if (!s) continue;
    s->in_flight = false;
    s->interval_timer->disable();
    s->timeout_timer->disable();
  }
  return_timer_->disable();
}

size_t HealthChecker::probesInFlight() const {
  return static_cast<size_t>(std::count_if(sessions_.begin(), sessions_.end(),
                                           [](const auto& s) { return s && s->in_flight; }));
}

void HealthChecker::reapRetired() {
  retired_.clear();
}

HealthCheckResult HealthChecker::classify(HttpClientError error, int status) const {
  if (error == HttpClientError::Timeout || error == HttpClientError::ConnectTimeout)
    return HealthCheckResult::Timeout;
  if (error != HttpClientError::None) return HealthCheckResult::Error;
  if (status >= options_.expected_status_min && status <= options_.expected_status_max) {
    return HealthCheckResult::Pass;
  }
  return HealthCheckResult::Fail;
}

void HealthChecker::onIntervalTimer(Session& s) {
  reapRetired();
  if (!running_ || s.retired || probe_ == nullptr) return;
  s.in_flight = true;
  s.probe_seq = ++next_probe_seq_;
  // Armed first: the probe may answer before probe() returns.
  s.timeout_timer->enable(options_.timeout_ms);
  std::weak_ptr<char> alive = alive_;
  uint32_t member = s.member;
  uint64_t seq = s.probe_seq;
  probe_->probe(member, options_.path, options_.timeout_ms,
                [this, alive, member, seq](HttpClientError error, int status) {
                  if (alive.expired()) return;
                  onProbeAnswer(member, seq, error, status);
                });
}

void HealthChecker::onTimeoutTimer(Session& s) {
  reapRetired();
  if (!s.in_flight) return;
  s.in_flight = false;
  finish(s, HealthCheckResult::Timeout, HttpClientError::Timeout, 0);
}

void HealthChecker::onProbeAnswer(uint32_t member, uint64_t seq, HttpClientError error,
                                  int status) {
  Session* s = session(member);
  // Abandoned probes: timed out (in_flight false), superseded, the member
  // left (no session, or another one under a new seq), or stopped.
  if (s == nullptr || !s->in_flight || s->probe_seq != seq) return;
  s->in_flight = false;
  s->timeout_timer->disable();
  finish(*s, classify(error, status), error, status);
}

void HealthChecker::finish(Session& s, HealthCheckResult result, HttpClientError error,
                           int status) {
  s.checks.of(result).inc();
  s.last_result = result;
  s.last_error = error;
  s.last_status = status;
  // The events this raises may remove the member or stop the checker; the
  // session stays allocated (retired) until a later timer callback.
  if (result == HealthCheckResult::Pass) {
    health_.onCheckPassed(s.member);
  } else {
    health_.onCheckFailed(s.member);
  }
  if (running_ && !s.retired) s.interval_timer->enable(options_.interval_ms);
}

void HealthChecker::onHealthEvent(const HealthEvent& e) {
  Session* s = session(e.member);
  if (s != nullptr) {
    s->stats.member_healthy.set(e.eligible ? 1 : 0);
    switch (e.kind) {
      case HealthEventKind::Down:
        s->stats.member_downs_total.inc();
        break;
      case HealthEventKind::Ejected:
        s->stats.member_ejections_total.inc();
        s->stats.member_ejected.set(1);
        break;
      case HealthEventKind::Returned:
        s->stats.member_ejected.set(0);
        break;
      case HealthEventKind::EjectionRefused:
        s->stats.member_ejections_refused_total.inc();
        break;
      case HealthEventKind::Up:
        break;
    }
  }
  updatePoolGauges();
  logEvent(e, s);
  if (e.kind == HealthEventKind::Ejected || e.kind == HealthEventKind::Returned) armReturnTimer();
  if (listener_) listener_(e);
}

void HealthChecker::logEvent(const HealthEvent& e, const Session* s) const {
  const bool bad = e.kind == HealthEventKind::Down || e.kind == HealthEventKind::Ejected ||
                   e.kind == HealthEventKind::EjectionRefused;
  std::string event = "member_" + std::string(healthEventName(e.kind));
  LogLine line(bad ? LogLevel::Warn : LogLevel::Info, event);
  line.kv("pool", options_.pool);
  line.kv("member", s != nullptr ? s->name : std::to_string(e.member));
  line.kv("eligible", e.eligible);
  switch (e.kind) {
    case HealthEventKind::Down:
      if (s != nullptr) {
        line.kv("last_check", healthCheckResultName(s->last_result));
        if (s->last_result == HealthCheckResult::Fail) line.kv("status", s->last_status);
        if (s->last_result == HealthCheckResult::Error) {
          line.kv("error", httpClientErrorName(s->last_error));
        }
      }
      break;
    case HealthEventKind::Ejected:
      line.kv("failures", e.failures_in_row);
      line.kv("ejection_ms", e.ejection_ms);
      line.kv("ejection_count", e.ejection_count);
      break;
    case HealthEventKind::EjectionRefused:
      line.kv("failures", e.failures_in_row);
      line.kv("ejected", static_cast<uint64_t>(health_.ejectedCount()));
      line.kv("max_ejection_percent", options_.health.max_ejection_percent);
      break;
    case HealthEventKind::Up:
    case HealthEventKind::Returned:
      break;
  }
}

void HealthChecker::armReturnTimer() {
  if (stopped_) {
    return_timer_->disable();
    return;
  }
  int64_t ms = health_.msUntilNextReturn();
  if (ms < 0) {
    return_timer_->disable();
  } else {
    return_timer_->enable(ms);
  }
}

void HealthChecker::republishGauges() {
  for (auto& s : sessions_) {
    if (!s) continue;
    const MemberHealth* h = health_.find(s->member);
    s->stats.member_healthy.set(h != nullptr && h->eligible() ? 1 : 0);
    s->stats.member_ejected.set(h != nullptr && h->ejected() ? 1 : 0);
  }
  updatePoolGauges();
}

void HealthChecker::clearGauges() {
  for (auto& s : sessions_) {
    if (!s) continue;
    s->stats.member_healthy.set(0);
    s->stats.member_ejected.set(0);
  }
  pool_stats_.pool_members.set(0);
  pool_stats_.pool_members_healthy.set(0);
}

void HealthChecker::updatePoolGauges() {
  pool_stats_.pool_members.set(static_cast<double>(health_.size()));
  pool_stats_.pool_members_healthy.set(static_cast<double>(health_.eligibleCount()));
}

}  // namespace redge
