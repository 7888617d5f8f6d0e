// The gateway's health end to end: a member SIGKILLed under a steady GET
// load (no client sees an error: the requests that met it are retried on
// another member, and it gets no traffic once it is down), the active
// checks' fall and rise at their times, and passive ejection of a member
// answering 5xx, with its return. Every state change is read back from the
// log line and the metric that promise it.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/gateway_echo.hpp"
#include "support/load_driver.hpp"
#include "support/metrics_text.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

std::optional<double> memberMetric(const RedgeProcess& gw, const std::string& name,
                                   const std::string& member, const std::string& pool = "web") {
  return scrapeMetric(
      gw, "redge_gateway_" + name + "{pool=\"" + pool + "\",member=\"" + member + "\"}");
}

bool waitHealthy(const RedgeProcess& gw, int count, std::chrono::milliseconds timeout = 5000ms) {
  return waitUntil(
      [&] { return scrapeMetric(gw, "redge_gateway_pool_members_healthy{pool=\"web\"}") == count; },
      timeout);
}

}  // namespace

TEST_CASE("gateway health: a member killed under steady load costs no client an error",
          "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  FakeUpstreamProcess c(dir, {"--name", "c"});
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                                  "{\"web\": " + poolJson({&a, &b, &c}, 200) + "}"));
  REQUIRE(waitHealthy(gw, 3));

  LoadRequest get;
  get.name = "gateway GET /load";
  get.port = gw.gatewayPort();
  get.bytes = "GET /load HTTP/1.1\r\nHost: gateway.test\r\n\r\n";
  LoadOptions options;
  options.workers = 3;  // within the retry budget's floor of 3 retries at once
  options.interval = 5ms;
  LoadDriver load({get}, options);
  load.start();
  REQUIRE(waitUntil([&] { return load.count() >= 100; }, 5000ms));

  std::string dead = memberAddress(b);
  b.kill9();
  // Down after three failed checks (interval 200 ms): the log line and the gauge.
  REQUIRE(gw.waitForLog("event=member_down pool=web member=" + dead, 5000ms));
  CHECK(memberMetric(gw, "member_healthy", dead) == 0);
  double tries_when_down = memberMetric(gw, "member_requests_total", dead).value_or(-1);
  size_t count_when_down = load.count();
  REQUIRE(waitUntil([&] { return load.count() >= count_when_down + 200; }, 10000ms));
  load.stop();

  std::vector<LoadOutcome> outcomes = load.outcomes();
  INFO(summarizeLoad(load, outcomes));
  INFO(describeFailures(load, outcomes));
  const size_t failed = countFailures(outcomes);
  CHECK(failed == 0);
  // The requests that met the dead member were retried on the others...
  CHECK(scrapeMetric(gw, "redge_gateway_retries_total{pool=\"web\"}").value_or(0) >= 1);
  CHECK(scrapeMetric(gw, "redge_gateway_retries_refused_total{pool=\"web\"}") == 0);
  // ... and once it was down it got none.
  CHECK(memberMetric(gw, "member_requests_total", dead) == tries_when_down);
  CHECK(outcomes.size() >= count_when_down + 200);
}

TEST_CASE("gateway health: fall and rise take a member out and back at their times", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  // interval 300 ms, fall 3, rise 2: down 600-900 ms after the member turns
  // sick (its next check may come at once), up 300-600 ms after it recovers.
  std::string pool = "{\"members\": [{\"address\": \"" + memberAddress(a) +
                     "\"}, {\"address\": \"" + memberAddress(b) +
                     "\"}], \"health\": {\"interval_ms\": 300, \"timeout_ms\": 300, \"fall\": 3, "
                     "\"rise\": 2}}";
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(R"([{"prefix": "/", "pool": "web"}])", "{\"web\": " + pool + "}"));
  REQUIRE(waitHealthy(gw, 2));
  std::string member = memberAddress(b);

  b.configure(R"({"healthy": false})");
  auto sick_at = std::chrono::steady_clock::now();
  REQUIRE(waitUntil([&] { return memberMetric(gw, "member_healthy", member) == 0; }, 5000ms, 10ms));
  long long down_ms = msSince(sick_at);
  CHECK(down_ms >= 590);
  CHECK(down_ms <= 2500);
  CHECK(gw.waitForLog(
      "event=member_down pool=web member=" + member + " eligible=false last_check=fail status=503",
      1000ms));
  CHECK(memberMetric(gw, "member_downs_total", member) == 1);
  // Meanwhile every request goes to the healthy one.
  for (int i = 0; i < 6; ++i) CHECK(httpGet(gw.gatewayUrl("/")).header("X-Upstream") == "a");

  b.configure(R"({"healthy": true})");
  auto well_at = std::chrono::steady_clock::now();
  REQUIRE(waitUntil([&] { return memberMetric(gw, "member_healthy", member) == 1; }, 5000ms, 10ms));
  long long up_ms = msSince(well_at);
  CHECK(up_ms >= 290);
  CHECK(up_ms <= 2500);
  CHECK(gw.waitForLog("event=member_up pool=web member=" + member, 1000ms));
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) names.push_back(httpGet(gw.gatewayUrl("/")).header("X-Upstream"));
  CHECK(std::count(names.begin(), names.end(), "b") == 2);
}

TEST_CASE("gateway health: a member answering 5xx in a row is ejected, then returns", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                                  "{\"web\": " +
                                      poolJson({&a, &b}, 200,
                                               R"("passive": {"consecutive_failures": 3,
                                       "base_ejection_ms": 1500}, "balance": "round_robin")") +
                                      "}"));
  REQUIRE(waitHealthy(gw, 2));
  std::string member = memberAddress(b);
  b.configure(R"({"echo_status": 500})");
  // Its 500s pass through untouched until the third in a row ejects it.
  int five_hundreds = 0;
  for (int i = 0; i < 6; ++i) {
    HttpReply r = httpGet(gw.gatewayUrl("/"));
    if (r.status == 500) {
      ++five_hundreds;
      CHECK(r.header("X-Upstream") == "b");
    }
  }
  CHECK(five_hundreds == 3);
  CHECK(gw.waitForLog("event=member_ejected pool=web member=" + member +
                          " eligible=false failures=3 ejection_ms=1500 ejection_count=1",
                      1000ms));
  CHECK(memberMetric(gw, "member_ejected", member) == 1);
  CHECK(memberMetric(gw, "member_ejections_total", member) == 1);
  for (int i = 0; i < 6; ++i) CHECK(httpGet(gw.gatewayUrl("/")).status == 200);

  // Back after its period (its health checks kept passing all along).
  b.configure(R"({"echo_status": 200})");
  REQUIRE(gw.waitForLog("event=member_returned pool=web member=" + member, 4000ms));
  CHECK(memberMetric(gw, "member_ejected", member) == 0);
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) names.push_back(httpGet(gw.gatewayUrl("/")).header("X-Upstream"));
  CHECK(std::count(names.begin(), names.end(), "b") == 2);
}
