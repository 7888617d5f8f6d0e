// The seed scenario of alert actions, end to end against real processes: a
// canary release that fails on large uploads (its member answers 500 to any
// body over 50,000 bytes) takes 25% of a gateway pool; an alert rule on the
// canary's error ratio fires, its action aborts the canary (the weight flag
// off, so every gateway stops sending there), an email-shaped notification
// is written by the mail receiver's command, and no stable answer was an
// error.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/gateway_echo.hpp"
#include "support/metrics_text.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

TEST_CASE("alert actions: a canary failing large uploads is aborted by its error-ratio rule",
          "[alerts][canary]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess stable(dir, {"--name", "stable", "--latency-ms", "0"});
  FakeUpstreamProcess canary(
      dir, {"--name", "canary", "--latency-ms", "0", "--echo-fail-over-bytes", "50000"});
  const std::string mail = dir.file("mail.eml");
  const std::string pools =
      R"({"web": {"members": [{"address": ")" + memberAddress(stable) +
      R"("}], "health": {"enabled": false}, "passive": {"consecutive_failures": 0},
      "canary": {"members": [{"address": ")" +
      memberAddress(canary) + R"("}]}}})";
  const std::string rules =
      R"([{"name": "CanaryErrorRatio", "expr": "sum(rate(redge_gateway_side_responses_total{pool='web',side='canary',status=~'5..'}[2s])) / sum(rate(redge_gateway_side_requests_total{pool='web',side='canary'}[2s])) > 0.05",
           "for_ms": 300, "labels": {"severity": "page"},
           "annotations": {"summary": "{{ $value }} of the canary's answers are 5xx"},
           "receivers": ["mail"], "actions": ["canary_abort:web"]}])";
  const std::string receivers = R"({"mail": {"type": "command", "format": "email",
      "email_to": "ops@example.com", "argv": ["sh", "-c", "cat > )" +
                                mail + R"(.tmp && mv )" + mail + ".tmp " + mail + R"("]}})";
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(R"([{"prefix": "/", "pool": "web"}])", pools,
                      {"alerts.enabled=true", "alerts.interval_ms=100", "alerts.defaults.cpu=false",
                       "alerts.defaults.memory=false", "alerts.defaults.app_error_ratio=false",
                       "alerts.defaults.app_p99=false", "alerts.rules=" + rules,
                       "alerts.receivers=" + receivers}));
  gw.waitUntilReady();
  REQUIRE(httpRequest("PUT", gw.adminUrl("/flags/canary.web"), R"({"enabled":true,"rollout":25})")
              .status == 201);

  // Uploads, small and large, until the canary is aborted (bounded).
  const std::string large(60000, 'x');
  const std::string small(1000, 'y');
  int stable_errors = 0;
  int canary_errors = 0;
  int sent = 0;
  auto aborted = [&] { return scrapeMetric(gw, "redge_gateway_canary_weight{pool=\"web\"}") == 0; };
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!aborted() && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 20; ++i) {
      HttpReply r = httpPost(gw.gatewayUrl("/upload"), i % 2 ? large : small,
                             {"Content-Type: application/octet-stream"});
      ++sent;
      bool on_canary = r.hasHeader("X-Redge-Canary");
      if (r.status >= 500) (on_canary ? canary_errors : stable_errors) += 1;
    }
  }
  INFO(sent << " uploads, " << canary_errors << " canary errors");
  REQUIRE(aborted());
  CHECK(canary_errors > 0);
  CHECK(stable_errors == 0);  // stable traffic never saw an error

  // The action, in the log and the metrics; the flag says who switched it off.
  CHECK(gw.waitForLog(
      "event=alert_action rule=CanaryErrorRatio action=canary_abort:web outcome=done", 2s));
  CHECK(scrapeMetric(
            gw, "redge_alert_actions_total{action=\"canary_abort:web\",outcome=\"done\"}") == 1);
  HttpReply flag = httpGet(gw.adminUrl("/flags/canary.web"));
  CHECK(flag.body.find("\"enabled\":false") != std::string::npos);
  CHECK(flag.body.find("\"updated_by\":\"alert:CanaryErrorRatio\"") != std::string::npos);

  // After the abort, large uploads go to stable only and succeed.
  for (int i = 0; i < 20; ++i) {
    HttpReply r = httpPost(gw.gatewayUrl("/upload"), large);
    CHECK(r.status == 200);
    CHECK_FALSE(r.hasHeader("X-Redge-Canary"));
  }
  CHECK(scrapeMetric(gw,
                     "redge_gateway_side_responses_total{pool=\"web\",side=\"stable\","
                     "status=\"500\"}")
            .value_or(0) == 0);

  // The email a sendmail -t would take.
  REQUIRE(waitUntil([&] { return !readFile(mail).empty(); }, 5s));
  std::string email = readFile(mail);
  INFO(email);
  CHECK(email.find("To: ops@example.com\r\n") != std::string::npos);
  CHECK(email.find("Subject: [FIRING:1] CanaryErrorRatio (page)\r\n") != std::string::npos);
  CHECK(email.find("of the canary's answers are 5xx") != std::string::npos);
}
