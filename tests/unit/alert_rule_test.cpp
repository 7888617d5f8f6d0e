// Alert rules with a fake clock: `for`, keep_firing_for and the resolve
// expression (no flapping at the threshold), annotation templates, the
// engine's notify/repeat decisions, the Alertmanager v4 payload and /alerts.

#include "ops/alerts/alert_rule.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>

#include "core/clock.hpp"
#include "ops/alerts/alert_engine.hpp"
#include "ops/alerts/alert_payload.hpp"

namespace redge {
namespace {

// A gauge the test moves, sampled into the history at the clock's time.
struct Bench {
  ManualClock clock{0};
  SampleHistory history{1000};
  void set(double v) { history.record("cpu", {{"core", "0"}}, clock.nowMs(), v); }
};

AlertRuleSpec cpuRule() {
  AlertRuleSpec s;
  s.name = "HighCpu";
  s.expr = "cpu > 0.8";
  s.labels = {{"severity", "page"}};
  s.annotations = {{"summary", "CPU {{ $value }} on core {{$labels.core}}"}};
  s.receivers = {"ops"};
  return s;
}

// One evaluation a second later, with the gauge at v: what is due.
std::vector<AlertNotification> tickAt(ManualClock& clock, Gauge& gauge,
                                      const MetricsRegistry& metrics, AlertEngine& engine,
                                      double v) {
  clock.advanceMs(1000);
  gauge.set(v);
  engine.sample(metrics);
  engine.evaluate();
  return engine.due();
}

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  REQUIRE(!d.HasParseError());
  return d;
}

}  // namespace

TEST_CASE("alert rule: pending, firing after `for`, resolved", "[alerts]") {
  Bench b;
  AlertRuleSpec spec = cpuRule();
  spec.for_ms = 3000;
  REQUIRE(!AlertRule::check(spec));
  AlertRule rule(spec);
  b.set(0.5);
  CHECK_FALSE(rule.evaluate(b.history, b.clock.nowMs()));
  CHECK(rule.state() == AlertState::Inactive);
  for (int i = 1; i <= 3; ++i) {
    b.clock.advanceMs(1000);
    b.set(0.9);
    CHECK_FALSE(rule.evaluate(b.history, b.clock.nowMs()));
    CHECK(rule.state() == AlertState::Pending);
  }
  b.clock.advanceMs(1000);
  b.set(0.95);
  CHECK(rule.evaluate(b.history, b.clock.nowMs()));  // held for 3 s: fires
  REQUIRE(rule.alerts().size() == 1);
  const Alert& a = rule.alerts()[0];
  CHECK(a.state == AlertState::Firing);
  CHECK(a.labels == Labels{{"alertname", "HighCpu"}, {"core", "0"}, {"severity", "page"}});
  CHECK(a.annotations.at("summary") == "CPU 0.95 on core 0");
  CHECK(rule.sinceMs() == b.clock.nowMs());
  b.clock.advanceMs(1000);
  b.set(0.1);
  CHECK(rule.evaluate(b.history, b.clock.nowMs()));  // resolved
  CHECK(rule.alerts()[0].resolved);
  CHECK(rule.state() == AlertState::Inactive);
  b.clock.advanceMs(1000);
  CHECK_FALSE(rule.evaluate(b.history, b.clock.nowMs()));
  CHECK(rule.alerts().empty());
}

TEST_CASE("alert rule: a pending alert that stops holding is gone, never fired", "[alerts]") {
  Bench b;
  AlertRuleSpec spec = cpuRule();
  spec.for_ms = 5000;
  AlertRule rule(spec);
  for (int i = 0; i < 20; ++i) {  // above for 4 s, below for 1 s, again and again
    b.clock.advanceMs(1000);
    b.set(i % 5 == 4 ? 0.1 : 0.9);
    CHECK_FALSE(rule.evaluate(b.history, b.clock.nowMs()));
    CHECK(rule.state() != AlertState::Firing);
  }
}

TEST_CASE("alert rule: keep_firing_for stops flapping at the threshold", "[alerts]") {
  Bench b;
  AlertRuleSpec spec = cpuRule();
  spec.keep_firing_for_ms = 5000;
  AlertRule rule(spec);
  int notifications = 0;
  // Hovering at 0.8: above, below, above, below... every second.
  for (int i = 0; i < 30; ++i) {
    b.clock.advanceMs(1000);
    b.set(i % 2 == 0 ? 0.81 : 0.79);
    if (rule.evaluate(b.history, b.clock.nowMs())) ++notifications;
    CHECK(rule.state() == AlertState::Firing);
  }
  CHECK(notifications == 1);  // fired once, never resolved
  // Truly below for 5 s: resolved once.
  for (int i = 0; i < 5; ++i) {
    b.clock.advanceMs(1000);
    b.set(0.5);
    bool changed = rule.evaluate(b.history, b.clock.nowMs());
    CHECK(changed == (i == 4));
  }
  CHECK(rule.alerts()[0].resolved);
}

TEST_CASE("alert rule: without hysteresis the same series flaps", "[alerts]") {
  Bench b;
  AlertRule rule(cpuRule());
  int changes = 0;
  for (int i = 0; i < 10; ++i) {
    b.clock.advanceMs(1000);
    b.set(i % 2 == 0 ? 0.81 : 0.79);
    if (rule.evaluate(b.history, b.clock.nowMs())) ++changes;
  }
  CHECK(changes == 10);  // what keep_firing_for and resolve_expr are for
}

TEST_CASE("alert rule: a resolve expression sets a lower threshold to clear", "[alerts]") {
  Bench b;
  AlertRuleSpec spec = cpuRule();
  spec.resolve_expr = "cpu < 0.6";
  AlertRule rule(spec);
  b.clock.advanceMs(1000);
  b.set(0.9);
  CHECK(rule.evaluate(b.history, b.clock.nowMs()));
  for (double v : {0.79, 0.81, 0.7, 0.61, 0.85, 0.6}) {
    b.clock.advanceMs(1000);
    b.set(v);
    CHECK_FALSE(rule.evaluate(b.history, b.clock.nowMs()));
    CHECK(rule.state() == AlertState::Firing);
  }
  b.clock.advanceMs(1000);
  b.set(0.59);
  CHECK(rule.evaluate(b.history, b.clock.nowMs()));
  CHECK(rule.alerts()[0].resolved);
}

TEST_CASE("alert rule: check() names the rule and the problem", "[alerts]") {
  AlertRuleSpec spec = cpuRule();
  spec.expr = "rate(cpu) > 1";
  CHECK(*AlertRule::check(spec) ==
        "rule 'HighCpu': expr: column 6: rate() argument 1 must be a range vector such as "
        "metric[1m], not an instant vector");
  spec.expr = "1 + 1";
  CHECK(AlertRule::check(spec)->find("gives a single number") != std::string::npos);
  spec.expr = "cpu > 1";
  spec.resolve_expr = "cpu <";
  CHECK(AlertRule::check(spec)->find("rule 'HighCpu': resolve_expr: column 6") == 0);
  spec.resolve_expr.clear();
  spec.annotations["x"] = "{{ $value | humanize }}";
  CHECK(AlertRule::check(spec)->find("annotations.x") != std::string::npos);
}

TEST_CASE("alert templates and fingerprints", "[alerts]") {
  Labels l = {{"alertname", "A"}, {"pool", "canary"}};
  CHECK(renderAlertTemplate("{{$value}} / {{ $labels.pool }} / {{ $labels.none }}!", 0.0512, l) ==
        "0.0512 / canary / !");
  CHECK(renderAlertTemplate("no braces {", 1, l) == "no braces {");
  CHECK(!checkAlertTemplate("ok {{ $value }} {{ $labels.a }}"));
  CHECK(checkAlertTemplate("{{ $value"));
  CHECK(alertFingerprint(l) == alertFingerprint(Labels(l)));
  CHECK(alertFingerprint(l).size() == 16);
  CHECK(alertFingerprint(l) != alertFingerprint({{"alertname", "A"}, {"pool", "stable"}}));
  // The separator keeps "ab"+"c" apart from "a"+"bc".
  CHECK(alertFingerprint({{"ab", "c"}}) != alertFingerprint({{"a", "bc"}}));
}

TEST_CASE("alert payload: the Alertmanager v4 shape", "[alerts]") {
  Alert firing;
  firing.labels = {{"alertname", "HighCpu"}, {"core", "0"}, {"severity", "page"}};
  firing.fingerprint = alertFingerprint(firing.labels);
  firing.state = AlertState::Firing;
  firing.active_since_ms = 0;
  firing.fired_ms = 1000;
  firing.annotations = {{"summary", "hot"}};
  Alert resolved = firing;
  resolved.labels = {{"alertname", "HighCpu"}, {"core", "1"}, {"severity", "page"}};
  resolved.fingerprint = alertFingerprint(resolved.labels);
  resolved.resolved = true;
  resolved.state = AlertState::Inactive;
  resolved.resolved_ms = 2500;
  AlertPayloadInput in;
  in.receiver = "ops";
  in.rule_name = "HighCpu";
  in.alerts = {&firing, &resolved};
  in.to_wall_ms = [](int64_t mono) { return 1714557600000 + mono; };  // 2024-05-01T10:00:00Z
  rapidjson::Document d = parse(buildAlertmanagerPayload(in));
  CHECK(std::string(d["version"].GetString()) == "4");
  CHECK(std::string(d["status"].GetString()) == "firing");
  CHECK(std::string(d["receiver"].GetString()) == "ops");
  CHECK(std::string(d["groupKey"].GetString()) == "{}:{alertname=\"HighCpu\"}");
  CHECK(d["truncatedAlerts"].GetInt() == 0);
  CHECK(std::string(d["groupLabels"]["alertname"].GetString()) == "HighCpu");
  CHECK(d["commonLabels"].MemberCount() == 2);  // alertname, severity; core differs
  CHECK(std::string(d["commonAnnotations"]["summary"].GetString()) == "hot");
  CHECK(d["externalURL"].IsString());
  const auto& alerts = d["alerts"];
  REQUIRE(alerts.Size() == 2);
  CHECK(std::string(alerts[0]["status"].GetString()) == "firing");
  CHECK(std::string(alerts[0]["startsAt"].GetString()) == "2024-05-01T10:00:01.000Z");
  CHECK(std::string(alerts[0]["endsAt"].GetString()) == "0001-01-01T00:00:00Z");
  CHECK(std::string(alerts[0]["fingerprint"].GetString()) == firing.fingerprint);
  CHECK(std::string(alerts[0]["labels"]["core"].GetString()) == "0");
  CHECK(alerts[0]["generatorURL"].IsString());
  CHECK(std::string(alerts[1]["status"].GetString()) == "resolved");
  CHECK(std::string(alerts[1]["endsAt"].GetString()) == "2024-05-01T10:00:02.500Z");
  in.alerts = {&resolved};
  CHECK(std::string(parse(buildAlertmanagerPayload(in))["status"].GetString()) == "resolved");
}

TEST_CASE("alert engine: notifies on firing and resolved, repeats while firing", "[alerts]") {
  ManualClock clock(0);
  MetricsRegistry metrics;
  Gauge& cpu = metrics.gauge("cpu", "cpu", {{"core", "0"}});
  AlertEngine engine(clock, 1714557600000, 1000);
  AlertRuleSpec spec = cpuRule();
  spec.for_ms = 2000;
  spec.receivers = {"ops", "pager"};
  REQUIRE(!engine.addRule(spec));
  CHECK(engine.addRule(spec)->find("defined twice") != std::string::npos);
  spec.name = "Broken";
  spec.expr = "cpu >";
  CHECK(engine.addRule(spec)->find("rule 'Broken': expr: column 6") == 0);
  engine.setRepeatInterval("ops", 10000);
  auto tick = [&](double v) { return tickAt(clock, cpu, metrics, engine, v); };
  CHECK(tick(0.9).empty());  // pending
  CHECK(tick(0.9).empty());
  auto fired = tick(0.9);  // held 2 s
  REQUIRE(fired.size() == 2);
  CHECK(fired[0].receiver == "ops");
  CHECK(fired[1].receiver == "pager");
  CHECK(fired[0].status == "firing");
  CHECK(fired[0].firing == 1);
  engine.recordDelivery(fired[0].rule_name, "ops", "firing", "sent");
  int repeats = 0;
  for (int i = 0; i < 20; ++i) {
    for (const auto& n : tick(0.9)) {
      CHECK(n.receiver == "ops");  // pager has no repeat interval
      ++repeats;
    }
  }
  CHECK(repeats == 2);
  auto resolved = tick(0.1);
  REQUIRE(resolved.size() == 2);
  CHECK(resolved[0].status == "resolved");
  CHECK(resolved[0].resolved == 1);
  CHECK(tick(0.1).empty());
  rapidjson::Document status = parse(engine.statusJson());
  const auto& rule = status["rules"][0];
  CHECK(std::string(rule["name"].GetString()) == "HighCpu");
  CHECK(std::string(rule["state"].GetString()) == "inactive");
  CHECK(rule["value"].IsNull());
  CHECK(std::string(rule["last_notification"]["outcome"].GetString()) == "sent");
  CHECK(status["evaluations"].GetInt() == 25);
}

TEST_CASE("alert engine: /alerts shows pending and firing alerts with values", "[alerts]") {
  ManualClock clock(0);
  MetricsRegistry metrics;
  metrics.gauge("cpu", "cpu", {{"core", "0"}}).set(0.9);
  metrics.gauge("cpu", "cpu", {{"core", "1"}}).set(0.95);
  AlertEngine engine(clock, 1714557600000, 1000);
  AlertRuleSpec spec = cpuRule();
  spec.for_ms = 1000;
  REQUIRE(!engine.addRule(spec));
  engine.sample(metrics);
  engine.evaluate();
  rapidjson::Document d = parse(engine.statusJson());
  CHECK(std::string(d["rules"][0]["state"].GetString()) == "pending");
  CHECK(d["rules"][0]["alerts"].Size() == 2);
  CHECK(std::string(d["rules"][0]["since"].GetString()) == "2024-05-01T10:00:00.000Z");
  clock.advanceMs(1000);
  engine.sample(metrics);
  engine.evaluate();
  d = parse(engine.statusJson());
  CHECK(std::string(d["rules"][0]["state"].GetString()) == "firing");
  CHECK(d["rules"][0]["value"].GetDouble() == Approx(0.9));
  CHECK(std::string(d["rules"][0]["alerts"][1]["annotations"]["summary"].GetString()) ==
        "CPU 0.95 on core 1");
  CHECK(std::string(d["rules"][0]["alerts"][0]["fired_at"].GetString()) ==
        "2024-05-01T10:00:01.000Z");
}

TEST_CASE(
    "alert engine: a reload keeps unchanged rules firing, restarts changed ones, drops removed",
    "[alerts]") {
  ManualClock clock(0);
  MetricsRegistry metrics;
  Gauge& cpu = metrics.gauge("cpu", "cpu", {{"core", "0"}});
  AlertEngine engine(clock, 1714557600000, 1000);
  AlertRuleSpec hot = cpuRule();
  hot.receivers = {"ops"};
  AlertRuleSpec warm = cpuRule();
  warm.name = "WarmCpu";
  warm.expr = "cpu > 0.5";
  warm.receivers = {"ops"};
  REQUIRE(!engine.addRule(hot));
  REQUIRE(!engine.addRule(warm));
  auto tick = [&](double v) { return tickAt(clock, cpu, metrics, engine, v); };
  REQUIRE(tick(0.9).size() == 2);  // both fire at once (for_ms 0)
  engine.recordDelivery("HighCpu", "ops", "firing", "sent");

  // HighCpu unchanged (now second), WarmCpu's threshold changed, a new rule.
  AlertRuleSpec warmer = warm;
  warmer.expr = "cpu > 0.6";
  AlertRuleSpec mem = cpuRule();
  mem.name = "AnyCpu";
  mem.expr = "cpu > 0";
  mem.receivers.clear();
  std::vector<int> kept;
  REQUIRE(!engine.replaceRules({warmer, hot, mem}, kept));
  CHECK(kept == std::vector<int>{-1, 0, -1});
  REQUIRE(engine.rules().size() == 3);
  CHECK(engine.rules()[1].spec().name == "HighCpu");
  CHECK(engine.rules()[1].state() == AlertState::Firing);
  CHECK(engine.rules()[0].state() == AlertState::Inactive);
  // The next tick: HighCpu says nothing again; the changed rule fires anew.
  auto after = tick(0.9);
  REQUIRE(after.size() == 1);
  CHECK(after[0].rule_name == "WarmCpu");
  rapidjson::Document status = parse(engine.statusJson());
  CHECK(std::string(status["rules"][1]["last_notification"]["outcome"].GetString()) == "sent");

  // Errors change nothing: a duplicate name, a broken expression.
  AlertRuleSpec broken = hot;
  broken.name = "Broken";
  broken.expr = "cpu >";
  CHECK(engine.replaceRules({hot, hot}, kept)->find("defined twice") != std::string::npos);
  CHECK(engine.replaceRules({broken}, kept)->find("rule 'Broken'") == 0);
  CHECK(engine.rules().size() == 3);
  // A delivery that ends after its rule was removed is dropped quietly.
  REQUIRE(!engine.replaceRules({hot}, kept));
  engine.recordDelivery("WarmCpu", "ops", "firing", "sent");
  CHECK(engine.rules().size() == 1);
}

}  // namespace redge
