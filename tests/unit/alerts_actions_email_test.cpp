// A rule's actions as written (canary_abort:<pool>, flag_off:<flag>, the
// refused scale_* and the mistakes), and the email form of a notification:
// its headers, its body, and no header injection from alert data.

#include <catch2/catch.hpp>
#include <string>

#include "ops/alerts/alert_action.hpp"
#include "ops/alerts/alert_email.hpp"
#include "ops/alerts/alert_payload.hpp"
#include "ops/alerts/fleet_summary.hpp"

using namespace redge;

TEST_CASE(
    "alert actions: canary_abort, flag_off and scale_out or scale_in parse, the rest is refused",
    "[alerts]") {
  std::string error;
  auto abort = parseAlertAction("canary_abort:web", error);
  REQUIRE(abort);
  CHECK(abort->kind == AlertAction::Kind::CanaryAbort);
  CHECK(abort->target == "web");
  CHECK(abort->text == "canary_abort:web");
  auto off = parseAlertAction("flag_off:set_enabled", error);
  REQUIRE(off);
  CHECK(off->kind == AlertAction::Kind::FlagOff);
  CHECK(off->target == "set_enabled");

  CHECK_FALSE(parseAlertAction("canary_abort", error));
  CHECK(error.find("is not an action") != std::string::npos);
  CHECK_FALSE(parseAlertAction("canary_abort:", error));
  CHECK(error.find("canary_abort needs a gateway pool's name") == 0);
  CHECK_FALSE(parseAlertAction("flag_off:no spaces", error));
  CHECK(error.find("flag_off needs a flag's name") == 0);
  auto out = parseAlertAction("scale_out:web", error);
  REQUIRE(out);
  CHECK(out->kind == AlertAction::Kind::ScaleOut);
  CHECK(parseAlertAction("scale_in:web", error)->kind == AlertAction::Kind::ScaleIn);
  CHECK_FALSE(parseAlertAction("scale_in:bad name", error));
  CHECK(error.find("scale_in needs a registry service's name") == 0);
  CHECK_FALSE(parseAlertAction("reboot:now", error));
  CHECK(error.find("unknown action 'reboot'") == 0);
}

TEST_CASE("alert email: an RFC 5322 message from the payload, headers safe from the data",
          "[alerts]") {
  const std::string payload =
      R"({"version":"4","status":"firing","receiver":"mail",)"
      R"("groupLabels":{"alertname":"CanaryErrorRatio"},"commonLabels":{"severity":"page"},)"
      R"("alerts":[{"status":"firing","labels":{"alertname":"CanaryErrorRatio","pool":"web\r\nBcc: x@evil"},)"
      R"("annotations":{"summary":"0.5 of the canary's answers are 5xx"},)"
      R"("startsAt":"2026-11-29T13:55:00.000Z"}]})";
  AlertEmailOptions o;
  o.to = "ops@example.com";
  std::string m = renderAlertEmail(payload, o, 1796046900000);
  INFO(m);
  CHECK(m.find("From: redge <redge@localhost>\r\nTo: ops@example.com\r\n") == 0);
  CHECK(m.find("Subject: [FIRING:1] CanaryErrorRatio (page)\r\n") != std::string::npos);
  CHECK(m.find("Date: ") != std::string::npos);
  CHECK(m.find("\r\n\r\nRule CanaryErrorRatio: 1 firing, 0 resolved.") != std::string::npos);
  CHECK(m.find("  summary: 0.5 of the canary's answers are 5xx\r\n") != std::string::npos);
  // The label with a line break is in the body only, never a header line.
  size_t body = m.find("\r\n\r\n");
  CHECK(m.find("\r\nBcc:") > body);
  CHECK(renderAlertEmail("not json", o, 0).empty());
  CHECK(formatRfc5322Date(0) == "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST_CASE("alert fleet: two instances' notifications of the same alerts are one", "[alerts]") {
  // The same alerts as two instances render them: start times differ.
  const std::string a =
      R"({"receiver":"hook","groupKey":"{}:{alertname=\"X\"}","status":"firing","alerts":[)"
      R"({"status":"firing","fingerprint":"aa","startsAt":"2026-11-29T10:00:00.100Z"},)"
      R"({"status":"firing","fingerprint":"bb","startsAt":"2026-11-29T10:00:00.100Z"}]})";
  const std::string b =
      R"({"receiver":"hook","groupKey":"{}:{alertname=\"X\"}","status":"firing","alerts":[)"
      R"({"status":"firing","fingerprint":"bb","startsAt":"2026-11-29T10:00:00.900Z"},)"
      R"({"status":"firing","fingerprint":"aa","startsAt":"2026-11-29T10:00:01.000Z"}]})";
  CHECK(notificationIdentity(a).size() == 16);
  CHECK(notificationIdentity(a) == notificationIdentity(b));
  std::string resolved = b;
  resolved.replace(resolved.find("\"status\":\"firing\",\"alerts\""), 17,
                   "\"status\":\"resolved\"");
  CHECK(notificationIdentity(resolved) != notificationIdentity(a));
  std::string other_receiver = a;
  other_receiver.replace(other_receiver.find("hook"), 4, "mail");
  CHECK(notificationIdentity(other_receiver) != notificationIdentity(a));
  CHECK(notificationIdentity("{").empty());
}

TEST_CASE("alert fleet: the metrics fleet: rules read are published and read back", "[alerts]") {
  SampleHistory rules(1000);
  rules.want("fleet:redge_http_requests_total", 60000);
  rules.want("process_cpu_seconds_total", 60000);  // an instance rule's: not published
  CHECK(fleetMetricNames(rules) == std::vector<std::string>{"redge_http_requests_total"});

  SampleHistory local(1000);
  local.want("redge_http_requests_total", 0);
  local.record("redge_http_requests_total", {{"service", "app"}, {"status", "200"}}, 1000, 41);
  local.record("redge_http_requests_total", {{"service", "app"}, {"status", "500"}}, 1000, 2);
  std::string summary = renderFleetSummary(local, {"redge_http_requests_total"});
  std::vector<FleetSample> back;
  REQUIRE(parseFleetSummary(summary, 100, back));
  REQUIRE(back.size() == 2);
  CHECK(back[0].name == "redge_http_requests_total");
  CHECK(back[0].labels == Labels{{"service", "app"}, {"status", "200"}});
  CHECK(back[0].value == 41);
  CHECK(back[1].value == 2);

  // What Redis may hold is not trusted: bounded, odd entries skipped.
  std::vector<FleetSample> few;
  REQUIRE(parseFleetSummary(summary, 1, few));
  CHECK(few.size() == 1);
  std::vector<FleetSample> odd;
  REQUIRE(parseFleetSummary(R"([["a",{"k":"v"},1],["b",{"k":2},1],[1,{},1],"x",["c",{},"n"]])", 10,
                            odd));
  CHECK(odd.size() == 1);
  CHECK_FALSE(parseFleetSummary("{}", 10, odd));
}
