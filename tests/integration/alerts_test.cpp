// Alerts end to end: a rule on the app's request counter, moved by a bounded
// burst of requests, fires to a real webhook receiver (an HTTP server in
// the test) and then resolves; a command receiver writes the payload to a
// file; GET /alerts shows the states and /metrics the ALERTS series; a rule
// that does not parse stops start-up with exit 2, naming the rule.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "support/metrics_text.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"
#include "support/webhook_sink.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// Fires while the app has answered more than 5 requests in the last 2 s.
const char* kBurstRule =
    "{\"name\":\"AppBurst\",\"expr\":\"sum(increase(redge_http_requests_total{service='app'}[2s]))"
    " > 5\",\"labels\":{\"severity\":\"page\"},\"annotations\":{\"summary\":\"{{ $value }} "
    "requests\"},\"receivers\":[\"hook\"]}";

std::vector<std::string> alertSettings(const std::string& receivers_json,
                                       const std::string& rules_json) {
  return {"alerts.enabled=true",        "alerts.interval_ms=100",
          "alerts.defaults.cpu=false",  "alerts.defaults.memory=false",
          "alerts.rules=" + rules_json, "alerts.receivers=" + receivers_json};
}

int64_t evaluations(const TestStack& s) {
  rapidjson::Document d;
  d.Parse(httpGet(s.admin("/alerts")).body.c_str());
  return d.HasParseError() || !d.IsObject() ? 0 : d["evaluations"].GetInt64();
}

// A counter's series exists from its first increment on; a rate needs a
// sample from before the burst, so one request comes first, then a few
// evaluations, then the burst.
void burst(const TestStack& s, int n) {
  REQUIRE(httpGet(s.app("/")).status == 200);
  int64_t seen = evaluations(s);
  REQUIRE(waitUntil([&] { return evaluations(s) >= seen + 3; }, 3000ms));
  for (int i = 0; i < n; ++i) REQUIRE(httpGet(s.app("/")).status == 200);
}

rapidjson::Document parseJson(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  INFO(body);
  REQUIRE(!d.HasParseError());
  return d;
}

std::string ruleState(const TestStack& s, const std::string& name) {
  HttpReply r = httpGet(s.admin("/alerts"));
  if (r.status != 200) return "";
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  if (d.HasParseError() || !d.HasMember("rules")) return "";
  for (const auto& rule : d["rules"].GetArray()) {
    if (name == rule["name"].GetString()) return rule["state"].GetString();
  }
  return "";
}

}  // namespace

TEST_CASE("alerts: a rule fires to a webhook, then resolves", "[alerts]") {
  WebhookSink sink;
  TestStack s(alertSettings("{\"hook\":{\"url\":\"" + sink.url("/hook") + "\"}}",
                            std::string("[") + kBurstRule + "]"));
  CHECK(ruleState(s, "AppBurst") == "inactive");
  burst(s, 20);
  REQUIRE(waitUntil([&] { return sink.requests() >= 1; }, 5000ms));
  rapidjson::Document firing = parseJson(sink.bodies()[0]);
  CHECK(std::string(firing["version"].GetString()) == "4");
  CHECK(std::string(firing["status"].GetString()) == "firing");
  CHECK(std::string(firing["receiver"].GetString()) == "hook");
  CHECK(std::string(firing["groupKey"].GetString()) == "{}:{alertname=\"AppBurst\"}");
  REQUIRE(firing["alerts"].Size() == 1);
  const auto& alert = firing["alerts"][0];
  CHECK(std::string(alert["labels"]["alertname"].GetString()) == "AppBurst");
  CHECK(std::string(alert["labels"]["severity"].GetString()) == "page");
  CHECK(std::string(alert["annotations"]["summary"].GetString()).find(" requests") !=
        std::string::npos);
  CHECK(std::string(alert["endsAt"].GetString()) == "0001-01-01T00:00:00Z");
  const std::string fingerprint = alert["fingerprint"].GetString();
  CHECK(fingerprint.size() == 16);

  // No more requests: the 2 s window empties and the alert resolves.
  REQUIRE(waitUntil([&] { return sink.requests() >= 2; }, 8000ms));
  rapidjson::Document resolved = parseJson(sink.bodies()[1]);
  CHECK(std::string(resolved["status"].GetString()) == "resolved");
  CHECK(std::string(resolved["alerts"][0]["status"].GetString()) == "resolved");
  CHECK(std::string(resolved["alerts"][0]["fingerprint"].GetString()) == fingerprint);
  CHECK(std::string(resolved["alerts"][0]["endsAt"].GetString()) != "0001-01-01T00:00:00Z");
  CHECK(ruleState(s, "AppBurst") == "inactive");
  CHECK(scrapeMetric(s.redge,
                     "redge_alert_notifications_total{receiver=\"hook\",status=\"sent\"}") == 2);
  CHECK(s.redge.logText().find("event=alert_notification rule=AppBurst receiver=hook "
                               "status=firing firing=1 resolved=0 outcome=sent") !=
        std::string::npos);
}

TEST_CASE("alerts: a failing webhook is retried with backoff, then succeeds", "[alerts]") {
  WebhookSink sink(2);  // 500, 500, then 200
  TestStack s(alertSettings(
      "{\"hook\":{\"url\":\"" + sink.url("/hook") + "\",\"max_retries\":3,\"timeout_ms\":1000}}",
      std::string("[") + kBurstRule + "]"));
  burst(s, 20);
  REQUIRE(waitUntil([&] { return sink.requests() >= 3; }, 8000ms));
  CHECK(waitUntil(
      [&] {
        return scrapeMetric(s.redge,
                            "redge_alert_notifications_total{receiver=\"hook\",status="
                            "\"sent\"}") >= 1;
      },
      3000ms));
  CHECK(sink.bodies()[0] == sink.bodies()[2]);  // the same notification, again
  CHECK(s.redge.logText().find("event=alert_notification_retry receiver=hook reason=\"status "
                               "500\" retry=1") != std::string::npos);
}

TEST_CASE(
    "alerts: a command receiver gets the payload on stdin, /alerts and ALERTS show the states",
    "[alerts]") {
  TempDir files;
  const std::string out = files.file("payload.json");
  const std::string receivers = "{\"file\":{\"type\":\"command\",\"argv\":[\"sh\",\"-c\",\"cat > " +
                                out + ".tmp && mv " + out + ".tmp " + out +
                                "\"],\"timeout_ms\":5000,\"repeat_interval_ms\":0}}";
  const std::string rules =
      std::string("[") + kBurstRule +
      ",{\"name\":\"Slow\",\"expr\":\"sum(increase(redge_http_requests_total{service='app'}[2s]))"
      " > 5\",\"for_ms\":600000}]";
  std::string rules_with_file = rules;
  rules_with_file.replace(rules_with_file.find("[\"hook\"]"), 8, "[\"file\"]");
  TestStack s(alertSettings(receivers, rules_with_file));
  burst(s, 20);
  REQUIRE(waitUntil([&] { return !readFile(out).empty(); }, 5000ms));
  rapidjson::Document payload = parseJson(readFile(out));
  CHECK(std::string(payload["receiver"].GetString()) == "file");
  CHECK(std::string(payload["status"].GetString()) == "firing");
  // The burst is still inside the window: AppBurst fires, Slow waits for 10 minutes.
  HttpReply alerts = httpGet(s.admin("/alerts"));
  REQUIRE(alerts.status == 200);
  CHECK(alerts.header("Content-Type") == "application/json");
  rapidjson::Document d = parseJson(alerts.body);
  std::map<std::string, std::string> states;
  for (const auto& rule : d["rules"].GetArray()) {
    states[rule["name"].GetString()] = rule["state"].GetString();
  }
  CHECK(states["AppBurst"] == "firing");
  CHECK(states["Slow"] == "pending");
  CHECK(states["RedgeAppErrorRatio"] == "inactive");  // built-in, on by default
  CHECK(states["RedgeAppLatencyP99"] == "inactive");
  CHECK(scrapeMetric(s.redge, "ALERTS{alertname=\"AppBurst\",alertstate=\"firing\"}") == 1);
  CHECK(scrapeMetric(s.redge, "ALERTS{alertname=\"Slow\",alertstate=\"pending\"}") == 1);
  CHECK(waitUntil(
      [&] {
        return scrapeMetric(s.redge,
                            "redge_alert_notifications_total{receiver=\"file\",status="
                            "\"sent\"}") >= 1;
      },
      3000ms));
  CHECK(s.redge.logText().find("outcome=sent detail=\"exit status 0\"") != std::string::npos);
}

TEST_CASE("alerts: a command that hangs is killed after timeout_ms and counted", "[alerts]") {
  TestStack s(alertSettings(
      "{\"stuck\":{\"type\":\"command\",\"argv\":[\"sleep\",\"30\"],\"timeout_ms\":300}}",
      "[{\"name\":\"Always\",\"expr\":\"redge_alerts_evaluations_total >= 0\","
      "\"receivers\":[\"stuck\"]}]"));
  CHECK(waitUntil(
      [&] {
        return scrapeMetric(s.redge,
                            "redge_alert_notifications_total{receiver=\"stuck\",status="
                            "\"timeout\"}") == 1;
      },
      5000ms));
  CHECK(s.redge.logText().find("outcome=timeout detail=\"killed after 300 ms\"") !=
        std::string::npos);
}

TEST_CASE("alerts: a rule that does not parse stops start-up with exit 2, naming it", "[alerts]") {
  TempDir dir;
  RedgeRun bad = runRedge(
      dir,
      {"--set", "alerts.enabled=true", "--set",
       "alerts.rules=[{\"name\":\"Broken\",\"expr\":\"rate(redge_http_requests_total) > 1\"}]"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err ==
        "config error: alerts.rules[0]: rule 'Broken': expr: column 6: rate() argument 1 must be "
        "a range vector such as metric[1m], not an instant vector\n");
  // --check-config refuses it the same way.
  RedgeRun checked = runRedge(dir, {"--check-config", "--set", "alerts.enabled=true", "--set",
                                    "alerts.rules=[{\"name\":\"Broken\",\"expr\":\"up >\"}]"});
  CHECK(checked.exit_code == 2);
  CHECK(checked.err.find("config error: alerts.rules[0]: rule 'Broken': expr: column 5: expected "
                         "a number") == 0);
  RedgeRun unknown = runRedge(
      dir, {"--set", "alerts.enabled=true", "--set",
            "alerts.rules=[{\"name\":\"A\",\"expr\":\"up > 0\",\"receivers\":[\"nobody\"]}]"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("rule 'A': no receiver named 'nobody'") != std::string::npos);
  RedgeRun noargv = runRedge(dir, {"--set", "alerts.enabled=true", "--set",
                                   "alerts.receivers={\"x\":{\"type\":\"command\"}}"});
  CHECK(noargv.exit_code == 2);
  CHECK(noargv.err ==
        "config error: alerts.receivers.x.argv: a command receiver needs a program to run\n");
}

TEST_CASE("alerts: two instances firing the same alert send one notification", "[alerts]") {
  WebhookSink sink;
  TempDir dir;
  RedisServer redis(dir);
  const std::string rule =
      "[{\"name\":\"Everywhere\",\"expr\":\"redge_alerts_evaluations_total > 2\","
      "\"receivers\":[\"hook\"]}]";
  std::vector<std::string> settings =
      alertSettings("{\"hook\":{\"url\":\"" + sink.url("/hook") + "\"}}", rule);
  settings.push_back("alerts.defaults.app_error_ratio=false");
  settings.push_back("alerts.defaults.app_p99=false");
  RedgeProcess a(dir, redis, settings);
  RedgeProcess b(dir, redis, settings);
  a.waitUntilReady();
  b.waitUntilReady();
  // Both fire; one sends, the other logs that the fleet already did.
  auto firing = [](const RedgeProcess& r) {
    return scrapeMetric(r, "ALERTS{alertname=\"Everywhere\",alertstate=\"firing\"}") == 1;
  };
  REQUIRE(waitUntil([&] { return firing(a) && firing(b); }, 5000ms));
  auto counted = [](const RedgeProcess& r, const char* status) {
    return scrapeMetric(r,
                        std::string("redge_alert_notifications_total{receiver=\"hook\",status=\"") +
                            status + "\"}")
        .value_or(0);
  };
  REQUIRE(waitUntil(
      [&] {
        return counted(a, "sent") + counted(b, "sent") == 1 &&
               counted(a, "deduplicated") + counted(b, "deduplicated") == 1;
      },
      5000ms));
  CHECK(sink.requests() == 1);
  const RedgeProcess& quiet = counted(a, "deduplicated") == 1 ? a : b;
  CHECK(quiet.logText().find("event=alert_notification rule=Everywhere receiver=hook status=firing "
                             "firing=1 resolved=0 outcome=deduplicated") != std::string::npos);
}

TEST_CASE("alerts: a fleet: rule sums every instance's requests, and fires once", "[alerts]") {
  WebhookSink sink;
  TempDir dir;
  RedisServer redis(dir);
  // Each instance alone answers 12 requests; only the fleet's sum passes 20.
  const std::string rules =
      "[{\"name\":\"FleetBurst\",\"expr\":\"sum(fleet:redge_http_requests_total"
      "{service='app'}) > 20\",\"receivers\":[\"hook\"]},"
      "{\"name\":\"LocalBurst\",\"expr\":\"sum(redge_http_requests_total"
      "{service='app'}) > 20\",\"receivers\":[\"hook\"]},"
      "{\"name\":\"TwoInstances\",\"expr\":\"count(fleet:redge_alerts_evaluations_total) "
      "== 2\"}]";
  std::vector<std::string> settings =
      alertSettings("{\"hook\":{\"url\":\"" + sink.url("/hook") + "\"}}", rules);
  settings.push_back("alerts.defaults.app_error_ratio=false");
  settings.push_back("alerts.defaults.app_p99=false");
  settings.push_back("alerts.fleet_publish_ms=200");
  RedgeProcess a(dir, redis, settings);
  RedgeProcess b(dir, redis, settings);
  a.waitUntilReady();
  b.waitUntilReady();
  auto state = [](const RedgeProcess& r, const std::string& rule, const char* s) {
    return scrapeMetric(r, "ALERTS{alertname=\"" + rule + "\",alertstate=\"" + s + "\"}")
        .value_or(0);
  };
  // The reader sees both instances.
  REQUIRE(waitUntil(
      [&] { return state(a, "TwoInstances", "firing") + state(b, "TwoInstances", "firing") == 1; },
      5000ms));
  for (int i = 0; i < 12; ++i) {
    REQUIRE(httpGet(a.appUrl("/")).status == 200);
    REQUIRE(httpGet(b.appUrl("/")).status == 200);
  }
  REQUIRE(waitUntil([&] { return sink.requests() >= 1; }, 5000ms));
  rapidjson::Document firing = parseJson(sink.bodies()[0]);
  CHECK(std::string(firing["alerts"][0]["labels"]["alertname"].GetString()) == "FleetBurst");
  // Fired on one instance only; the per-instance rule on neither.
  CHECK(state(a, "FleetBurst", "firing") + state(b, "FleetBurst", "firing") == 1);
  CHECK(state(a, "LocalBurst", "firing") + state(b, "LocalBurst", "firing") == 0);
  CHECK(scrapeMetric(a, "redge_alerts_fleet_reader").value_or(0) +
            scrapeMetric(b, "redge_alerts_fleet_reader").value_or(0) ==
        1);
}
