#pragma once
// The clock-driven side of one pool's health: the active checks' schedule
// (one session per member, with an interval and a timeout Timer, like
// Envoy's ActiveHealthCheckSession), the return of ejected members on time,
// and the stats and log line of every health event. It owns the pool's
// PoolHealth, which the gateway also reports request outcomes to.
//
// Schedule, per member, while running: the first probe at once (when the
// checker starts, or when the member is added to a running checker), then
// one every interval_ms counted from the end of the previous one, so a
// member never has two probes in flight. A probe that has not answered
// after timeout_ms counts as failed then, and its late answer is ignored.
// An answer with a status in [expected_status_min, expected_status_max]
// passes; any other status, and any error, fails. rise / fall then decide
// (MemberHealth): with the defaults a new member that answers takes traffic
// at once, and a member that stops answering is out after three timeouts,
// 3 × (2000 + 1000) = 9000 ms after its last answer.
//
// Events (PoolHealth's) go, in this order, to the stats (upstream_stats.hpp),
// to one logfmt line (member_up, member_down, member_ejected,
// member_returned, member_ejection_refused; pool= member=), and to the
// listener, which may call back into the checker (add or remove members,
// stop) but must not destroy it.
//
// Lifetimes. Timers come from the TimerFactory and die with the checker or
// with their member. A probe callback that arrives after its member left,
// after stop() or after the checker was destroyed finds nothing and does
// nothing. After stop() no probe starts and no timer is armed.
//
// Members must be added and removed through the checker (not through
// health()), so their sessions and stats follow.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/timer.hpp"
#include "upstream/health_probe.hpp"
#include "upstream/pool_health.hpp"
#include "upstream/upstream_stats.hpp"

namespace redge {

struct HealthCheckerOptions {
  std::string pool = "default";  // metric label and log field
  std::string path = "/healthz";
  int64_t interval_ms = 2000;
  int64_t timeout_ms = 1000;
  int expected_status_min = 200;
  int expected_status_max = 399;
  // rise, fall and passive ejection; health.active_checks false runs no
  // probes (members start healthy), only ejections and their returns.
  HealthOptions health;
};

class HealthChecker {
 public:
  // timers, clock, metrics and probe must outlive the checker; probe may be
  // null when options.health.active_checks is false.
  HealthChecker(TimerFactory& timers, const Clock& clock, MetricsRegistry& metrics,
                HealthProbe* probe, HealthCheckerOptions options);
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Called for every health event, after the stats and the log line.
  void setListener(std::function<void(const HealthEvent&)> listener) {
    listener_ = std::move(listener);
  }

  // A member joins (Unchecked: no traffic before its first pass); `name`
  // labels its stats and log lines. False if the index is taken.
  bool addMember(uint32_t member, std::string name);
  // A member leaves: its timers stop, its probe in flight is forgotten, its
  // gauges go to 0. False if it was not a member.
  bool removeMember(uint32_t member);

  // Starts the probes. Once; after stop() it does nothing.
  void start();
  // Final: no probe starts and no timer fires after this. Idempotent.
  void stop();
  bool running() const { return running_; }

  // Sets the pool's and each member's gauges from the state held here, for
  // series another checker of the same pool name wrote last (a gateway
  // pool rebuilt by a reload, whose old checker ran on for a while).
  void republishGauges();
  // Sets them all to 0: the pool is gone (the series stay in the registry,
  // and must not go on saying it has healthy members).
  void clearGauges();

  PoolHealth& health() { return health_; }
  const PoolHealth& health() const { return health_; }
  UpstreamPoolStats& poolStats() { return pool_stats_; }
  const HealthCheckerOptions& options() const { return options_; }

  HealthCheckResult classify(HttpClientError error, int status) const;
  // Probes sent and neither answered nor timed out.
  size_t probesInFlight() const;

 private:
  struct Session;

  Session* session(uint32_t member) const;
  void onIntervalTimer(Session& s);
  void onTimeoutTimer(Session& s);
  void onProbeAnswer(uint32_t member, uint64_t seq, HttpClientError error, int status);
  void finish(Session& s, HealthCheckResult result, HttpClientError error, int status);
  void onHealthEvent(const HealthEvent& e);
  void logEvent(const HealthEvent& e, const Session* s) const;
  void armReturnTimer();
  void updatePoolGauges();
  void reapRetired();

  const HealthCheckerOptions options_;
  TimerFactory& timers_;
  MetricsRegistry& metrics_;
  HealthProbe* probe_;
  PoolHealth health_;
  UpstreamPoolStats pool_stats_;
  std::vector<std::unique_ptr<Session>> sessions_;  // by member index
  // Sessions of members that left, kept until no callback of theirs can be
  // on the stack (see reapRetired()).
  std::vector<std::unique_ptr<Session>> retired_;
  TimerPtr return_timer_;
  bool running_ = false;
  bool stopped_ = false;
  uint64_t next_probe_seq_ = 0;
  // Probe callbacks hold a weak reference: once the checker is gone they
  // find it expired and return.
  std::shared_ptr<char> alive_ = std::make_shared<char>(0);
  std::function<void(const HealthEvent&)> listener_;
};

}  // namespace redge
