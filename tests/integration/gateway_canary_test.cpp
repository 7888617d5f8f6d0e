// Canary routing end to end: real redge gateways on one real redis-server in
// front of real fake_upstream processes ("stable" and "canary", each naming
// itself in X-Upstream). The weight is a feature flag: 10,000 users split
// within 3% of it, canary answers carry X-Redge-Canary: 1 and are counted
// apart; a ramp keeps every canary user on the canary, on both gateways;
// an abort on one gateway reaches the other within 1 s; a promotion moves
// the canary members to the stable side everywhere; registry instances
// tagged canary form the canary side; a route bound to a flag answers 404
// feature_disabled while it is off.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "support/gateway_echo.hpp"
#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// Pool "web": the stable upstream, the canary upstream as its canary
// member, sticky by X-User-Id (or drawn at random with `stickiness` empty).
std::vector<std::string> canaryGateway(const FakeUpstreamProcess& stable,
                                       const FakeUpstreamProcess& canary,
                                       const std::string& stickiness = "header:X-User-Id",
                                       const std::string& route_more = "") {
  std::string pool = R"({"web": {"members": [{"address": ")" + memberAddress(stable) +
                     R"("}], "health": {"enabled": false}, "canary": {"members": [{"address": ")" +
                     memberAddress(canary) + R"("}], "stickiness": ")" + stickiness + R"("}}})";
  return gatewaySettings(R"([{"prefix": "/", "pool": "web")" + route_more + "}]", pool);
}

HttpReply setWeight(const RedgeProcess& r, double percent, bool enabled = true) {
  return httpRequest("PUT", r.adminUrl("/flags/canary.web"),
                     R"({"enabled":)" + std::string(enabled ? "true" : "false") + R"(,"rollout":)" +
                         std::to_string(percent) + "}");
}

bool onCanary(const RedgeProcess& gw, const std::string& user) {
  HttpReply r = httpGet(gw.gatewayUrl("/page"), {"X-User-Id: " + user});
  REQUIRE(r.status == 200);
  bool canary = r.header("X-Upstream") == "canary";
  CHECK(r.hasHeader("X-Redge-Canary") == canary);
  return canary;
}

double sideMetric(const RedgeProcess& gw, const std::string& name, const std::string& side,
                  const std::string& more = "") {
  return scrapeMetric(gw, name + "{pool=\"web\",side=\"" + side + "\"" + more + "}").value_or(0);
}

double weightOf(const RedgeProcess& gw) {
  return scrapeMetric(gw, "redge_gateway_canary_weight{pool=\"web\"}").value_or(-1);
}

}  // namespace

TEST_CASE("gateway canary: 10k users split within 3% of the weight, answers say their side",
          "[gateway][canary]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess stable(dir, {"--name", "stable", "--latency-ms", "0"});
  FakeUpstreamProcess canary(dir, {"--name", "canary", "--latency-ms", "0"});
  RedgeProcess gw(dir, redis, canaryGateway(stable, canary));
  gw.waitUntilReady();

  // No flag yet: the canary side takes nothing.
  for (int i = 0; i < 50; ++i) CHECK_FALSE(onCanary(gw, "early-" + std::to_string(i)));
  REQUIRE(setWeight(gw, 25).status == 201);
  REQUIRE(waitUntil([&] { return weightOf(gw) == 25; }, 2s));

  constexpr int kUsers = 10000;
  int on_canary = 0;
  for (int i = 0; i < kUsers; ++i) on_canary += onCanary(gw, "user-" + std::to_string(i));
  INFO("canary took " << on_canary << " of " << kUsers);
  CHECK(on_canary >= kUsers * 22 / 100);
  CHECK(on_canary <= kUsers * 28 / 100);

  // Counted apart, for alert rules comparing the sides.
  CHECK(sideMetric(gw, "redge_gateway_side_requests_total", "canary") == on_canary);
  CHECK(sideMetric(gw, "redge_gateway_side_requests_total", "stable") == kUsers - on_canary + 50);
  CHECK(sideMetric(gw, "redge_gateway_side_responses_total", "canary", ",status=\"200\"") ==
        on_canary);
  CHECK(sideMetric(gw, "redge_gateway_side_request_duration_seconds_count", "canary") == on_canary);

  // GET /canary tells the operator the same.
  HttpReply list = httpGet(gw.adminUrl("/canary"));
  REQUIRE(list.status == 200);
  CHECK(list.body.find(R"("pool":"web","flag":"canary.web","weight":25)") != std::string::npos);
  CHECK(list.body.find(memberAddress(canary)) != std::string::npos);
  CHECK(list.body.find(R"("stickiness":"header:X-User-Id")") != std::string::npos);
}

TEST_CASE("gateway canary: a ramp keeps canary users there on every gateway, abort reaches both",
          "[gateway][canary]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess stable(dir, {"--name", "stable", "--latency-ms", "0"});
  FakeUpstreamProcess canary(dir, {"--name", "canary", "--latency-ms", "0"});
  RedgeProcess a(dir, redis, canaryGateway(stable, canary));
  RedgeProcess b(dir, redis, canaryGateway(stable, canary));
  a.waitUntilReady();
  b.waitUntilReady();
  REQUIRE(setWeight(a, 10).status == 201);
  REQUIRE(waitUntil([&] { return weightOf(b) == 10; }, 2s));

  constexpr int kUsers = 1000;
  std::vector<bool> at10(kUsers);
  int count10 = 0;
  for (int i = 0; i < kUsers; ++i) {
    std::string user = "ramp-" + std::to_string(i);
    at10[i] = onCanary(a, user);
    count10 += at10[i];
    CHECK(onCanary(b, user) == at10[i]);  // the same side on every gateway
  }
  CHECK(count10 > 50);
  CHECK(count10 < 150);

  REQUIRE(setWeight(b, 25).status == 200);
  REQUIRE(waitUntil([&] { return weightOf(a) == 25; }, 2s));
  int count25 = 0;
  int lost = 0;
  for (int i = 0; i < kUsers; ++i) {
    bool now = onCanary(a, "ramp-" + std::to_string(i));
    count25 += now;
    if (at10[i] && !now) ++lost;
  }
  CHECK(lost == 0);
  CHECK(count25 > count10);

  // Abort on A: B sends everyone to stable within 1 s.
  HttpReply abort = httpPost(a.adminUrl("/canary/web/abort"), "");
  REQUIRE(abort.status == 200);
  auto aborted = std::chrono::steady_clock::now();
  CHECK(jsonString(abort.body, "flag") == "canary.web");
  bool stopped = waitUntil([&] { return weightOf(b) == 0; }, 1s, 1ms);
  long long ms = msSince(aborted);
  INFO("B stopped the canary " << ms << " ms after A's answer");
  REQUIRE(stopped);
  CHECK(ms < 1000);
  for (int i = 0; i < kUsers; i += 10) {
    CHECK_FALSE(onCanary(b, "ramp-" + std::to_string(i)));
    CHECK_FALSE(onCanary(a, "ramp-" + std::to_string(i)));
  }
  CHECK(a.waitForLog("event=gateway_canary_aborted pool=web flag=canary.web weight_before=25", 2s));
  CHECK(b.waitForLog("event=gateway_canary_weight pool=web flag=canary.web weight=0 was=25", 2s));
  CHECK(scrapeMetric(a, "redge_gateway_canary_actions_total{pool=\"web\",action=\"abort\"}") == 1);
  // The flag says who stopped it.
  CHECK(httpGet(b.adminUrl("/flags/canary.web")).body.find("\"enabled\":false") !=
        std::string::npos);
}

TEST_CASE("gateway canary: promote moves the canary members to stable on every gateway",
          "[gateway][canary]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess stable(dir, {"--name", "stable", "--latency-ms", "0"});
  FakeUpstreamProcess canary(dir, {"--name", "canary", "--latency-ms", "0"});
  RedgeProcess a(dir, redis, canaryGateway(stable, canary, ""));
  RedgeProcess b(dir, redis, canaryGateway(stable, canary, ""));
  a.waitUntilReady();
  b.waitUntilReady();
  REQUIRE(setWeight(a, 50).status == 201);
  REQUIRE(waitUntil([&] { return weightOf(b) == 50; }, 2s));
  // A random draw: both sides serve, no user sticks.
  int canary_answers = 0;
  for (int i = 0; i < 200; ++i) canary_answers += onCanary(b, "same-user");
  CHECK(canary_answers > 50);
  CHECK(canary_answers < 150);

  HttpReply promoted = httpPost(a.adminUrl("/canary/web/promote"), "");
  REQUIRE(promoted.status == 200);
  CHECK(promoted.body.find(memberAddress(canary)) != std::string::npos);
  CHECK(
      a.waitForLog("event=gateway_canary_promoted pool=web members=" + memberAddress(canary), 2s));
  // On B too: the canary member is now a stable one; no answer says canary,
  // and both upstreams serve the stable side.
  REQUIRE(b.waitForLog(
      "event=gateway_canary_member_moved pool=web member=" + memberAddress(canary) + " side=stable",
      2s));
  REQUIRE(waitUntil([&] { return weightOf(b) == 0; }, 2s));
  int from_promoted = 0;
  for (int i = 0; i < 100; ++i) {
    HttpReply r = httpGet(b.gatewayUrl("/page"));
    REQUIRE(r.status == 200);
    CHECK_FALSE(r.hasHeader("X-Redge-Canary"));
    from_promoted += r.header("X-Upstream") == "canary";
  }
  CHECK(from_promoted > 20);
  CHECK(from_promoted < 80);
  CHECK(scrapeMetric(a, "redge_gateway_canary_actions_total{pool=\"web\",action=\"promote\"}") ==
        1);
  // A restarted gateway reads the promotion from the flags.
  RedgeProcess c(dir, redis, canaryGateway(stable, canary, ""));
  c.waitUntilReady();
  REQUIRE(c.waitForLog(
      "event=gateway_canary_member_moved pool=web member=" + memberAddress(canary) + " side=stable",
      3s));

  // Nothing left to promote: 409 with the error model; an unknown pool: 404.
  HttpReply again = httpPost(a.adminUrl("/canary/web/promote"), "");
  CHECK(again.status == 409);
  CHECK(errorCode(again.body) == "no_canary_members");
  HttpReply unknown = httpPost(a.adminUrl("/canary/nope/abort"), "");
  CHECK(unknown.status == 404);
  CHECK(errorCode(unknown.body) == "unknown_canary_pool");
}

TEST_CASE("gateway canary: registry instances tagged canary form the canary side",
          "[gateway][canary]") {
  TempDir dir;
  RedisServer redis(dir);
  auto app = [](const std::vector<std::string>& tags) {
    std::vector<std::string> s = {"discovery.enabled=true", "discovery.service=web",
                                  "discovery.lease_ms=1000"};
    if (!tags.empty()) s.push_back("discovery.tags=[\"" + tags[0] + "\"]");
    return s;
  };
  RedgeProcess v1(dir, redis, app({}));
  RedgeProcess v2(dir, redis, app({"canary"}));
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                                  R"({"web": {"discover": "web", "health": {"enabled": false},
                                      "canary": {"stickiness": "header:X-User-Id"}}})",
                                  {"discovery.enabled=true", "discovery.register_self=false"}));
  v1.waitUntilReady();
  v2.waitUntilReady();
  gw.waitUntilReady();
  std::string v2_address = "127.0.0.1:" + std::to_string(v2.appPort());
  REQUIRE(waitUntil(
      [&] {
        return scrapeMetric(gw, "redge_gateway_pool_members{pool=\"web/canary\"}") == 1 &&
               scrapeMetric(gw, "redge_gateway_pool_members{pool=\"web\"}") == 1;
      },
      5s));
  REQUIRE(setWeight(gw, 100).status == 201);
  REQUIRE(waitUntil([&] { return weightOf(gw) == 100; }, 2s));
  HttpReply r = httpGet(gw.gatewayUrl("/"), {"X-User-Id: u1"});
  CHECK(r.status == 200);
  CHECK(r.header("X-Redge-Canary") == "1");
  REQUIRE(setWeight(gw, 0).status == 200);
  REQUIRE(waitUntil([&] { return weightOf(gw) == 0; }, 2s));
  CHECK_FALSE(httpGet(gw.gatewayUrl("/"), {"X-User-Id: u1"}).hasHeader("X-Redge-Canary"));

  // Promoted: the tagged instance joins the stable side.
  REQUIRE(httpPost(gw.adminUrl("/canary/web/promote"), "").status == 200);
  REQUIRE(waitUntil(
      [&] {
        return scrapeMetric(gw, "redge_gateway_pool_members{pool=\"web/canary\"}") == 0 &&
               scrapeMetric(gw, "redge_gateway_pool_members{pool=\"web\"}") == 2;
      },
      3s));
}

TEST_CASE("gateway canary: a route bound to a flag is 404 feature_disabled while it is off",
          "[gateway][flags]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess stable(dir, {"--name", "stable", "--latency-ms", "0"});
  FakeUpstreamProcess canary(dir, {"--name", "canary", "--latency-ms", "0"});
  RedgeProcess gw(dir, redis,
                  canaryGateway(stable, canary, "header:X-User-Id", R"(, "flag": "web_on")"));
  gw.waitUntilReady();
  // No such flag: the route serves (an empty Redis takes no route down).
  CHECK(httpGet(gw.gatewayUrl("/x")).status == 200);
  REQUIRE(httpRequest("PUT", gw.adminUrl("/flags/web_on"), R"({"enabled":false})").status == 201);
  HttpReply off = httpGet(gw.gatewayUrl("/x"));
  CHECK(off.status == 404);
  CHECK(errorCode(off.body) == "feature_disabled");
  CHECK(jsonString(off.body, "flag") == "web_on");
  CHECK(gw.waitForLog("error=feature_disabled", 2s));
  CHECK(scrapeMetric(gw, "redge_http_errors_total{service=\"gateway\",code=\"feature_disabled\"}")
            .value_or(0) == 1);
  REQUIRE(httpPost(gw.adminUrl("/flags/web_on/on"), "").status == 200);
  CHECK(httpGet(gw.gatewayUrl("/x")).status == 200);
}
