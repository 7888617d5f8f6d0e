// The active checks' schedule, driven by hand (ManualTimerFactory +
// ManualClock) with a probe the test answers: first probe at once, rise and
// fall at their exact times, a probe that never answers failing at its
// timeout, late answers ignored, members joining and leaving while running
// (also from inside an event), nothing after stop(); ejected members coming
// back on time; the stats and the log line of each event.

#include "upstream/health_checker.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "core/manual_timer.hpp"
#include "core/metrics.hpp"

namespace redge {

namespace {

// Records every probe; answers by a per-member rule (at once), or leaves it
// pending for the test to answer (or never).
class FakeProbe final : public HealthProbe {
 public:
  enum class Mode { Pending, Status, Error };
  struct Call {
    uint32_t member;
    std::string path;
    int64_t timeout_ms;
    int64_t at_ms;
    HealthProbeCallback cb;
  };

  explicit FakeProbe(const Clock& clock) : clock_(clock) {}

  void answerWith(uint32_t member, int status) { rule(member) = {Mode::Status, status}; }
  void failWith(uint32_t member, HttpClientError error) {
    rule(member) = {Mode::Error, static_cast<int>(error)};
  }
  void leavePending(uint32_t member) { rule(member) = {Mode::Pending, 0}; }

  void probe(uint32_t member, std::string_view path, int64_t timeout_ms,
             HealthProbeCallback cb) override {
    calls.push_back(Call{member, std::string(path), timeout_ms, clock_.nowMs(), cb});
    Rule r = rule(member);
    if (r.mode == Mode::Status) cb(HttpClientError::None, r.value);
    if (r.mode == Mode::Error) cb(static_cast<HttpClientError>(r.value), 0);
  }

  std::vector<int64_t> timesOf(uint32_t member) const {
    std::vector<int64_t> out;
    for (const Call& c : calls) {
      if (c.member == member) out.push_back(c.at_ms);
    }
    return out;
  }

  std::vector<Call> calls;

 private:
  struct Rule {
    Mode mode = Mode::Pending;
    int value = 0;
  };
  Rule& rule(uint32_t member) {
    if (member >= rules_.size()) rules_.resize(member + 1);
    return rules_[member];
  }
  const Clock& clock_;
  std::vector<Rule> rules_;
};

struct Fixture {
  explicit Fixture(HealthCheckerOptions o = {}, bool with_probe = true)
      : probe(clock), checker(timers, clock, metrics, with_probe ? &probe : nullptr, withPool(o)) {
    checker.setListener([this](const HealthEvent& e) {
      events.push_back(std::to_string(clock.nowMs()) + " " + std::to_string(e.member) + ":" +
                       std::string(healthEventName(e.kind)));
    });
  }
  static HealthCheckerOptions withPool(HealthCheckerOptions o) {
    o.pool = "api";
    return o;
  }
  std::vector<std::string> take() {
    std::vector<std::string> out;
    out.swap(events);
    return out;
  }
  double metric(const std::string& name, const std::string& member,
                const std::string& result = {}) const {
    Labels labels{{"pool", "api"}, {"member", member}};
    if (!result.empty()) labels.emplace_back("result", result);
    return metrics.valueOf("redge_gateway_" + name, labels);
  }
  double poolMetric(const std::string& name) const {
    return metrics.valueOf("redge_gateway_" + name, {{"pool", "api"}});
  }

  ManualClock clock{0};
  ManualTimerFactory timers{clock};
  MetricsRegistry metrics;
  FakeProbe probe;
  HealthChecker checker;
  std::vector<std::string> events;
};

using Strings = std::vector<std::string>;
using Times = std::vector<int64_t>;

std::vector<std::string>& capturedLines() {
  static std::vector<std::string> lines;
  return lines;
}
void captureLine(std::string_view line) {
  capturedLines().emplace_back(line);
}
void stderrLine(std::string_view line) {
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

}  // namespace

TEST_CASE("health checker: a new member is probed at once and takes traffic from its first pass",
          "[health_checker]") {
  Fixture f;
  f.probe.answerWith(0, 204);
  f.checker.addMember(0, "10.0.0.1:80");
  f.timers.advance(5000);
  CHECK(f.probe.calls.empty());  // nothing before start()
  CHECK_FALSE(f.checker.health().eligible(0));
  f.checker.start();
  f.timers.runDue();
  REQUIRE(f.probe.calls.size() == 1);
  CHECK(f.probe.calls[0].path == "/healthz");
  CHECK(f.probe.calls[0].timeout_ms == 1000);
  CHECK(f.take() == Strings{"5000 0:up"});
  CHECK(f.checker.health().eligible(0));
  // Then every interval_ms from the end of the previous probe.
  f.timers.advance(6000);
  CHECK(f.probe.timesOf(0) == Times{5000, 7000, 9000, 11000});
  CHECK(f.metric("member_healthy", "10.0.0.1:80") == 1);
  CHECK(f.metric("health_checks_total", "10.0.0.1:80", "pass") == 4);
  CHECK(f.poolMetric("pool_members") == 1);
  CHECK(f.poolMetric("pool_members_healthy") == 1);
}

TEST_CASE("health checker: fall and rise at their exact times", "[health_checker]") {
  Fixture f;  // interval 2000, rise 2, fall 3
  f.probe.answerWith(0, 200);
  f.checker.addMember(0, "m0");
  f.checker.start();
  f.timers.runDue();  // up at 0
  f.probe.answerWith(0, 503);
  f.timers.advance(5999);
  CHECK(f.checker.health().eligible(0));  // two failures so far (2000, 4000)
  f.timers.advance(1);
  CHECK(f.take() == Strings{"0 0:up", "6000 0:down"});
  f.probe.answerWith(0, 399);  // the top of the expected range
  f.timers.advance(10000);
  CHECK(f.take() == Strings{"10000 0:up"});  // passes at 8000 and 10000
  CHECK(f.metric("health_checks_total", "m0", "fail") == 3);
  CHECK(f.metric("member_downs_total", "m0") == 1);
}

TEST_CASE("health checker: a probe that never answers fails at its timeout", "[health_checker]") {
  Fixture f;
  f.probe.answerWith(0, 200);
  f.checker.addMember(0, "m0");
  f.checker.start();
  f.timers.runDue();
  f.probe.leavePending(0);
  // Probes at 2000, 5000, 8000, each failing 1000 ms later: down at 9000.
  f.timers.advance(8999);
  CHECK(f.checker.probesInFlight() == 1);
  CHECK(f.checker.health().eligible(0));
  f.timers.advance(1);
  CHECK(f.take() == Strings{"0 0:up", "9000 0:down"});
  CHECK(f.probe.timesOf(0) == Times{0, 2000, 5000, 8000});
  CHECK(f.metric("health_checks_total", "m0", "timeout") == 3);
  CHECK(f.checker.probesInFlight() == 0);
  // A late answer to a timed-out probe changes nothing, even a pass.
  f.probe.calls[3].cb(HttpClientError::None, 200);
  f.probe.calls[2].cb(HttpClientError::None, 200);
  CHECK(f.take().empty());
  CHECK(f.metric("health_checks_total", "m0", "pass") == 1);
  // Nor does a probe answering twice.
  f.timers.advance(2000);  // the probe at 11000 is in flight
  f.probe.calls.back().cb(HttpClientError::None, 200);
  f.probe.calls.back().cb(HttpClientError::None, 200);
  CHECK(f.metric("health_checks_total", "m0", "pass") == 2);
  CHECK(f.take().empty());  // one pass of the two needed
}

TEST_CASE("health checker: errors and unexpected statuses fail, the range is configurable",
          "[health_checker]") {
  HealthCheckerOptions o;
  o.expected_status_min = 200;
  o.expected_status_max = 200;
  Fixture f(o);
  CHECK(f.checker.classify(HttpClientError::None, 200) == HealthCheckResult::Pass);
  CHECK(f.checker.classify(HttpClientError::None, 204) == HealthCheckResult::Fail);
  CHECK(f.checker.classify(HttpClientError::Timeout, 0) == HealthCheckResult::Timeout);
  CHECK(f.checker.classify(HttpClientError::Connect, 0) == HealthCheckResult::Error);
  CHECK(f.checker.classify(HttpClientError::Reset, 0) == HealthCheckResult::Error);
  f.probe.failWith(0, HttpClientError::Connect);
  f.checker.addMember(0, "m0");
  f.checker.start();
  f.timers.runDue();
  CHECK(f.take() == Strings{"0 0:down"});  // a new member failing its first check
  CHECK(f.metric("health_checks_total", "m0", "error") == 1);
  CHECK(f.metric("member_healthy", "m0") == 0);
}

TEST_CASE("health checker: members join and leave while it runs", "[health_checker]") {
  Fixture f;
  f.probe.answerWith(0, 200);
  f.probe.answerWith(1, 200);
  f.probe.leavePending(2);
  f.checker.addMember(0, "m0");
  f.checker.start();
  f.timers.advance(500);
  CHECK(f.checker.addMember(1, "m1"));  // probed at once, not at the next round
  CHECK_FALSE(f.checker.addMember(1, "again"));
  f.checker.addMember(2, "m2");
  f.timers.runDue();
  CHECK(f.take() == Strings{"0 0:up", "500 1:up"});
  CHECK(f.checker.probesInFlight() == 1);  // member 2's
  CHECK(f.poolMetric("pool_members") == 3);
  CHECK(f.poolMetric("pool_members_healthy") == 2);

  CHECK(f.checker.removeMember(1));
  CHECK(f.checker.removeMember(2));  // with its probe in flight
  CHECK_FALSE(f.checker.removeMember(2));
  CHECK(f.checker.probesInFlight() == 0);
  f.probe.calls.back().cb(HttpClientError::None, 200);  // the answer finds nobody
  size_t probes = f.probe.calls.size();
  f.timers.advance(10000);
  CHECK(f.probe.timesOf(1) == Times{500});
  CHECK(f.probe.timesOf(2) == Times{500});
  CHECK(f.probe.calls.size() == probes + 5);  // member 0 alone, every 2 s
  CHECK(f.take().empty());
  CHECK(f.metric("member_healthy", "m1") == 0);
  CHECK(f.poolMetric("pool_members") == 1);
  CHECK(f.poolMetric("pool_members_healthy") == 1);

  // The same index may join again, as a new member: probed afresh.
  f.probe.answerWith(2, 200);
  f.checker.addMember(2, "m2b");
  f.timers.runDue();
  CHECK(f.take() == Strings{"10500 2:up"});
}

TEST_CASE("health checker: the listener may remove a member from inside its event",
          "[health_checker]") {
  Fixture f;
  f.probe.answerWith(0, 200);
  f.probe.answerWith(1, 200);
  f.checker.addMember(0, "m0");
  f.checker.addMember(1, "m1");
  // The gateway drops a member the moment it goes down (a registry would).
  f.checker.setListener([&](const HealthEvent& e) {
    if (e.kind == HealthEventKind::Down) f.checker.removeMember(e.member);
  });
  f.checker.start();
  f.timers.runDue();
  f.probe.answerWith(0, 500);  // answered synchronously, inside the probe's timer
  f.timers.advance(20000);
  CHECK_FALSE(f.checker.health().contains(0));
  CHECK(f.probe.timesOf(0) == Times{0, 2000, 4000, 6000});
  CHECK(f.probe.timesOf(1).size() == 11);
  CHECK(f.checker.health().eligible(1));
}

TEST_CASE("health checker: nothing probes or fires after stop()", "[health_checker]") {
  Fixture f;
  f.probe.answerWith(0, 200);
  f.probe.leavePending(1);
  f.checker.addMember(0, "m0");
  f.checker.addMember(1, "m1");
  f.checker.start();
  f.timers.runDue();
  f.checker.health().onRequestFailed(0);  // nothing pending on the passive side either
  f.checker.stop();
  CHECK_FALSE(f.checker.running());
  CHECK(f.timers.armedCount() == 0);
  size_t probes = f.probe.calls.size();
  f.probe.calls.back().cb(HttpClientError::None, 200);  // member 1's answer, after stop
  f.timers.advance(60000);
  CHECK(f.probe.calls.size() == probes);
  CHECK(f.take() == Strings{"0 0:up"});
  f.checker.addMember(2, "m2");
  f.checker.start();  // stop() is final
  f.timers.advance(60000);
  CHECK(f.probe.calls.size() == probes);
  CHECK(f.timers.armedCount() == 0);
}

TEST_CASE("health checker: an answer after the checker is gone is dropped", "[health_checker]") {
  ManualClock clock{0};
  ManualTimerFactory timers{clock};
  MetricsRegistry metrics;
  FakeProbe probe(clock);
  {
    HealthChecker checker(timers, clock, metrics, &probe, HealthCheckerOptions{});
    checker.addMember(0, "m0");
    checker.start();
    timers.runDue();
  }
  REQUIRE(probe.calls.size() == 1);
  probe.calls[0].cb(HttpClientError::None, 200);  // must not touch the freed checker
  CHECK(timers.armedCount() == 0);
}

TEST_CASE("health checker: an ejected member comes back exactly when its time is up",
          "[health_checker]") {
  HealthCheckerOptions o;
  o.health.active_checks = false;  // passive only: no probe needed
  o.health.max_ejection_percent = 100;
  Fixture f(o, false);
  f.checker.addMember(0, "m0");
  f.checker.addMember(1, "m1");
  f.checker.start();
  CHECK(f.take() == Strings{"0 0:up", "0 1:up"});
  f.clock.setMs(1000);
  for (int i = 0; i < 5; ++i) f.checker.health().onRequestFailed(0);
  f.clock.setMs(4000);
  for (int i = 0; i < 5; ++i) f.checker.health().onRequestFailed(1);
  CHECK(f.metric("member_ejected", "m0") == 1);
  CHECK(f.metric("member_healthy", "m0") == 0);
  CHECK(f.poolMetric("pool_members_healthy") == 0);
  f.timers.advance(60000);
  CHECK(f.take() ==
        Strings{"1000 0:ejected", "4000 1:ejected", "31000 0:returned", "34000 1:returned"});
  CHECK(f.metric("member_ejections_total", "m0") == 1);
  CHECK(f.metric("member_ejected", "m0") == 0);
  CHECK(f.metric("member_healthy", "m0") == 1);
  CHECK(f.timers.armedCount() == 0);
}

TEST_CASE("health checker: a refused ejection is counted", "[health_checker]") {
  HealthCheckerOptions o;
  o.health.active_checks = false;
  Fixture f(o, false);
  f.checker.addMember(0, "m0");
  for (int i = 0; i < 7; ++i) f.checker.health().onRequestFailed(0);
  CHECK(f.metric("member_ejections_refused_total", "m0") == 1);
  CHECK(f.metric("member_ejections_total", "m0") == 0);
}

TEST_CASE("health checker: one logfmt line per event, with what caused it", "[health_checker]") {
  capturedLines().clear();
  Log::setSink(&captureLine);
  {
    Fixture f;
    f.probe.answerWith(0, 200);
    f.checker.addMember(0, "10.0.0.7:8080");
    f.checker.start();
    f.timers.runDue();
    f.probe.answerWith(0, 503);
    f.timers.advance(6000);
    for (int i = 0; i < 5; ++i) f.checker.health().onRequestFailed(0);  // 1 of 1: refused
  }
  Log::setSink(&stderrLine);
  const auto& lines = capturedLines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].find("level=info event=member_up pool=api member=10.0.0.7:8080 eligible=true") !=
        std::string::npos);
  CHECK(lines[1].find("level=warn event=member_down pool=api member=10.0.0.7:8080 eligible=false "
                      "last_check=fail status=503") != std::string::npos);
  CHECK(lines[2].find("level=warn event=member_ejection_refused pool=api "
                      "member=10.0.0.7:8080 eligible=false failures=5 ejected=0 "
                      "max_ejection_percent=50") != std::string::npos);
  capturedLines().clear();
}

}  // namespace redge
