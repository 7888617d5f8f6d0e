// The gateway's routes and pools changed by SIGHUP while it serves: a new
// pool and a moved route answer from the new member at once; a load that
// runs across several reloads (members in and out, pool options changed)
// sees no failure, and a slow request on a pool the reload removes still
// completes; an unchanged pool keeps its members' health and counts (no
// re-probe, no 503 window); a gateway section that would not start (a route
// to a missing pool, a member host that does not resolve) is refused and
// the running routes stay.

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "support/config_reload.hpp"
#include "support/gateway_echo.hpp"
#include "support/load_driver.hpp"
#include "support/metrics_text.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

std::string gatewayFile(const std::string& routes, const std::string& pools) {
  return R"({"gateway": {"routes": )" + routes + R"(, "pools": )" + pools + "}}";
}

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The name of the fake upstream that answered a gateway GET, or the status.
std::string whoAnswers(const RedgeProcess& gw, const std::string& target) {
  HttpReply r = httpGet(gw.gatewayUrl(target));
  if (r.status != 200) return "status " + std::to_string(r.status);
  return parseEcho(r.body).name;
}

RedgeServices withConfig(const std::string& path) {
  RedgeServices s;
  s.args = {"--config", path};
  return s;
}

const std::vector<std::string> kGatewayOn = {"app.enabled=false", "gateway.enabled=true"};

}  // namespace

TEST_CASE("gateway reload: routes and pools change live", "[gateway][reload]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  std::string config = dir.file("redge.json");
  writeConfigFile(
      config, gatewayFile(R"([{"prefix": "/a", "pool": "pa"}, {"prefix": "/old", "pool": "pa"}])",
                          "{\"pa\": " + poolJson({&a}, 0) + "}"));
  RedgeProcess gw(dir, redis, kGatewayOn, {}, withConfig(config));
  CHECK(whoAnswers(gw, "/a/x") == "a");
  CHECK(whoAnswers(gw, "/old") == "a");
  CHECK(whoAnswers(gw, "/b") == "status 404");

  writeConfigFile(
      config,
      gatewayFile(R"([{"prefix": "/a", "pool": "pb"}, {"prefix": "/b", "pool": "pb"}])",
                  "{\"pa\": " + poolJson({&a}, 0) + ", \"pb\": " + poolJson({&b}, 0) + "}"));
  std::string line = reloadConfig(gw, 1);
  INFO(line);
  CHECK(line.find("event=config_reloaded") != std::string::npos);
  CHECK(line.find("applied=gateway.routes,gateway.pools") != std::string::npos);
  CHECK(line.find("restart_needed=none") != std::string::npos);
  std::string reloaded = nthLogLine(gw, "event=gateway_reloaded", 1);
  CHECK(reloaded.find("routes=2 pools_kept=1 pools_changed=0") != std::string::npos);
  CHECK(reloaded.find("pools_added=1 pools_removed=0") != std::string::npos);

  CHECK(whoAnswers(gw, "/b") == "b");
  CHECK(whoAnswers(gw, "/a/x") == "b");
  HttpReply gone = httpGet(gw.gatewayUrl("/old"));
  CHECK(gone.status == 404);
  CHECK(gone.body.find("\"error\":\"no_route\"") != std::string::npos);
  CHECK(scrapeMetric(gw, "redge_gateway_reload_pools_total{outcome=\"added\"}") == 1);
  CHECK(scrapeMetric(gw, "redge_gateway_pool_members{pool=\"pb\"}") == 1);

  // A listener limit is not live: named as needing a restart; the routes
  // and pools in the same file still apply.
  writeConfigFile(
      config,
      R"({"gateway": {"max_connections": 500, "routes": [{"prefix": "/", "pool": "pa"}], "pools": {"pa": )" +
          poolJson({&a}, 0) + "}}}");
  line = reloadConfig(gw, 2);
  CHECK(line.find("applied=gateway.routes,gateway.pools") != std::string::npos);
  CHECK(line.find("restart_needed=gateway.max_connections") != std::string::npos);
  CHECK(whoAnswers(gw, "/b") == "a");
  std::string removed = nthLogLine(gw, "event=gateway_reloaded", 2);
  CHECK(removed.find("pools_removed=1") != std::string::npos);
  CHECK(gw.waitForLog("event=gateway_pool_freed pool=pb", 5s));
  // Its series stay, saying it has no member now.
  CHECK(scrapeMetric(gw, "redge_gateway_pool_members{pool=\"pb\"}") == 0);
  CHECK(scrapeMetric(gw, "redge_gateway_pool_members_healthy{pool=\"pb\"}") == 0);
  CHECK(scrapeMetric(gw, "redge_gateway_pool_members{pool=\"pa\"}") == 1);
}

TEST_CASE("gateway reload: no request is lost across reloads", "[gateway][reload]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  FakeUpstreamProcess c(dir, {"--name", "c"});
  FakeUpstreamProcess slow(dir, {"--name", "slow"});
  const std::string routes =
      R"([{"prefix": "/", "pool": "web"}, {"prefix": "/slow", "pool": "slow"}])";
  const std::string slow_pool = ", \"slow\": " + poolJson({&slow}, 100) + "}";
  // Each a reload of its own kind: members joining and leaving in place,
  // options that rebuild the pool (balance, health), both at once.
  const std::vector<std::string> webs = {
      "{\"web\": " + poolJson({&a, &b}, 100),
      "{\"web\": " + poolJson({&a, &c}, 100),
      "{\"web\": " + poolJson({&a, &c}, 100, R"("balance": "least_request")"),
      "{\"web\": " + poolJson({&b}, 150, R"("balance": "least_request")"),
      "{\"web\": " + poolJson({&b, &c}, 150, R"("balance": "least_request")"),
      "{\"web\": " + poolJson({&a, &b, &c}, 100),
  };
  std::string config = dir.file("redge.json");
  writeConfigFile(config, gatewayFile(routes, webs[0] + slow_pool));
  RedgeProcess gw(dir, redis, kGatewayOn, {}, withConfig(config));
  REQUIRE(waitUntil(
      [&] { return scrapeMetric(gw, "redge_gateway_pool_members_healthy{pool=\"web\"}") == 2; },
      5s));
  REQUIRE(waitUntil(
      [&] { return scrapeMetric(gw, "redge_gateway_pool_members_healthy{pool=\"slow\"}") == 1; },
      5s));

  LoadRequest get;
  get.name = "gateway GET /load";
  get.port = gw.gatewayPort();
  get.bytes = "GET /load HTTP/1.1\r\nHost: gateway.test\r\n\r\n";
  LoadOptions options;
  options.workers = 3;
  options.interval = 2ms;
  LoadDriver load({get}, options);
  load.start();
  REQUIRE(waitUntil([&] { return load.count() >= 50; }, 5s));

  size_t reloads = 0;
  for (size_t i = 1; i < webs.size(); ++i) {
    writeConfigFile(config, gatewayFile(routes, webs[i] + slow_pool));
    std::string line = reloadConfig(gw, ++reloads);
    REQUIRE(line.find("event=config_reloaded") != std::string::npos);
    size_t before = load.count();
    REQUIRE(waitUntil([&] { return load.count() >= before + 30; }, 5s));
  }

  // A slow request in flight on pool "slow" when a reload removes the pool
  // (and its route): it completes on the member it started on.
  auto answer = std::async(std::launch::async,
                           [&] { return httpGet(gw.gatewayUrl("/slow/x?delay_ms=500")); });
  REQUIRE(waitUntil(
      [&] {
        return scrapeMetric(gw, "redge_gateway_member_inflight{pool=\"slow\",member=\"" +
                                    memberAddress(slow) + "\"}") == 1;
      },
      3s));
  writeConfigFile(config, gatewayFile(R"([{"prefix": "/", "pool": "web"}])", webs.back() + "}"));
  std::string line = reloadConfig(gw, ++reloads);
  CHECK(line.find("event=config_reloaded") != std::string::npos);
  CHECK(nthLogLine(gw, "event=gateway_pool_retired pool=slow", 1).find("requests_inflight=1") !=
        std::string::npos);
  HttpReply slow_reply = answer.get();
  CHECK(slow_reply.status == 200);
  CHECK(parseEcho(slow_reply.body).name == "slow");
  // After its last request the retired pool is closed and freed; /slow now
  // belongs to the catch-all route.
  CHECK(gw.waitForLog("event=gateway_pool_freed pool=slow", 5s));
  CHECK(whoAnswers(gw, "/slow/x") != "slow");
  size_t before = load.count();
  REQUIRE(waitUntil([&] { return load.count() >= before + 30; }, 5s));
  load.stop();

  std::vector<LoadOutcome> outcomes = load.outcomes();
  INFO(summarizeLoad(load, outcomes));
  INFO(describeFailures(load, outcomes));
  const size_t failed = countFailures(outcomes);
  CHECK(outcomes.size() > 200);
  CHECK(failed == 0);
  CHECK(waitUntil([&] { return scrapeMetric(gw, "redge_gateway_pools_retiring") == 0; }, 5s));
  CHECK(countOf(gw.logText(), "event=gateway_reloaded") == reloads);
}

TEST_CASE("gateway reload: an unchanged pool keeps its members' health and counts",
          "[gateway][reload][canary]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  FakeUpstreamProcess c(dir, {"--name", "c"});
  // A minute between checks and rise 3: a member passes its one first check
  // at once and is not checked again within the test, so a second pass
  // means its pool was built again (and a down member would need three).
  const std::string slow_checks =
      R"("health": {"interval_ms": 60000, "timeout_ms": 1000, "rise": 3})";
  const std::string web = "{\"members\": [{\"address\": \"" + memberAddress(a) +
                          "\"}], \"canary\": {\"members\": [{\"address\": \"" + memberAddress(c) +
                          "\"}]}, " + slow_checks + "}";
  auto side = [&](int interval_ms) {
    return "{\"members\": [{\"address\": \"" + memberAddress(b) +
           "\"}], \"health\": {\"interval_ms\": " + std::to_string(interval_ms) +
           ", \"timeout_ms\": 1000, \"rise\": 3}}";
  };
  std::string config = dir.file("redge.json");
  writeConfigFile(
      config,
      gatewayFile(R"([{"prefix": "/", "pool": "web"}, {"prefix": "/side", "pool": "side"}])",
                  "{\"web\": " + web + ", \"side\": " + side(60000) + "}"));
  RedgeProcess gw(dir, redis, kGatewayOn, {}, withConfig(config));
  const std::string am = memberAddress(a);
  const std::string bm = memberAddress(b);
  auto passes = [&](const std::string& pool, const std::string& member) {
    return scrapeMetric(gw, "redge_gateway_health_checks_total{pool=\"" + pool + "\",member=\"" +
                                member + "\",result=\"pass\"}")
        .value_or(-1);
  };
  REQUIRE(waitUntil([&] { return passes("web", am) == 1 && passes("side", bm) == 1; }, 5s));
  for (int i = 0; i < 5; ++i) REQUIRE(whoAnswers(gw, "/x") == "a");
  REQUIRE(whoAnswers(gw, "/side") == "b");
  auto canaryList = [&] { return httpGet(gw.adminUrl("/canary")).body; };
  const std::string counted =
      "{\"name\":\"" + am + "\",\"health\":\"healthy\",\"inflight\":0,\"requests\":";
  CHECK(canaryList().find(counted + "5}") != std::string::npos);

  // "side" changes its interval (rebuilt); "web" is unchanged; a route is added.
  writeConfigFile(
      config, gatewayFile(R"([{"prefix": "/", "pool": "web"}, {"prefix": "/side", "pool": "side"},
                           {"prefix": "/more", "pool": "web"}])",
                          "{\"web\": " + web + ", \"side\": " + side(50000) + "}"));
  std::string line = reloadConfig(gw, 1);
  CHECK(line.find("applied=gateway.routes,gateway.pools") != std::string::npos);
  CHECK(nthLogLine(gw, "event=gateway_reloaded", 1).find("pools_kept=1 pools_changed=1") !=
        std::string::npos);
  // At once, no 503: the kept pool as it was, the rebuilt one through the
  // pool it replaced until its own member has passed.
  CHECK(whoAnswers(gw, "/more") == "a");
  CHECK(whoAnswers(gw, "/side") == "b");
  CHECK(canaryList().find(counted + "6}") != std::string::npos);
  CHECK(scrapeMetric(gw, "redge_gateway_pool_members_healthy{pool=\"web\"}") == 1);
  // The rebuilt pool probed its member again; the kept one did not.
  CHECK(waitUntil([&] { return passes("side", bm) == 2; }, 5s));
  CHECK(passes("web", am) == 1);
  CHECK(whoAnswers(gw, "/side") == "b");
  CHECK(gw.waitForLog("event=gateway_pool_freed pool=side", 5s));
  CHECK(scrapeMetric(gw, "redge_gateway_pool_members_healthy{pool=\"side\"}") == 1);
  CHECK(scrapeMetric(gw, "redge_gateway_member_healthy{pool=\"side\",member=\"" + bm + "\"}") == 1);
}

TEST_CASE("gateway reload: a gateway section that would not start is refused",
          "[gateway][reload]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  std::string config = dir.file("redge.json");
  const std::string pools = "{\"pa\": " + poolJson({&a}, 0) + "}";
  writeConfigFile(config, gatewayFile(R"([{"prefix": "/a", "pool": "pa"}])", pools));
  RedgeProcess gw(dir, redis, kGatewayOn, {}, withConfig(config));
  REQUIRE(whoAnswers(gw, "/a") == "a");

  // A route to a pool that does not exist (the schema's rule).
  writeConfigFile(
      config,
      gatewayFile(R"([{"prefix": "/a", "pool": "pb"}, {"prefix": "/b", "pool": "nope"}])",
                  "{\"pa\": " + poolJson({&a}, 0) + ", \"pb\": " + poolJson({&b}, 0) + "}"));
  std::string line = reloadConfig(gw, 1);
  INFO(line);
  CHECK(line.find("level=error event=config_reload_refused path=gateway.routes[1].pool") !=
        std::string::npos);
  CHECK(line.find("no pool named 'nope'") != std::string::npos);
  CHECK(whoAnswers(gw, "/a") == "a");
  CHECK(whoAnswers(gw, "/b") == "status 404");

  // A member whose host does not resolve (the module's prepare step, as at
  // start-up).
  writeConfigFile(
      config, gatewayFile(R"([{"prefix": "/a", "pool": "pa"}, {"prefix": "/b", "pool": "pb"}])",
                          "{\"pa\": " + poolJson({&a}, 0) +
                              R"(, "pb": {"members": [{"address": "no-such-host.invalid:80"}]}})"));
  line = reloadConfig(gw, 2);
  CHECK(line.find("event=config_reload_refused path=gateway.pools.pb.members[0].address") !=
        std::string::npos);
  CHECK(line.find("cannot resolve host") != std::string::npos);
  CHECK(whoAnswers(gw, "/a") == "a");
  CHECK(whoAnswers(gw, "/b") == "status 404");
  CHECK(countOf(gw.logText(), "event=gateway_reloaded") == 0);

  // Then a good one applies.
  writeConfigFile(
      config,
      gatewayFile(R"([{"prefix": "/a", "pool": "pa"}, {"prefix": "/b", "pool": "pb"}])",
                  "{\"pa\": " + poolJson({&a}, 0) + ", \"pb\": " + poolJson({&b}, 0) + "}"));
  line = reloadConfig(gw, 3);
  CHECK(line.find("event=config_reloaded") != std::string::npos);
  CHECK(whoAnswers(gw, "/b") == "b");
}

TEST_CASE("gateway reload: every worker of a group reloads its routes", "[gateway][reload]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  std::string config = dir.file("redge.json");
  writeConfigFile(config, gatewayFile(R"([{"prefix": "/", "pool": "pa"}])",
                                      "{\"pa\": " + poolJson({&a}, 0) + "}"));
  // Ports the workers share (SO_REUSEPORT): found free, not 0.
  const int gateway_port = findFreePort();
  RedgeProcess gw(dir, redis,
                  {"server.workers=2", "app.enabled=false", "gateway.enabled=true",
                   "admin.port=" + std::to_string(findFreePort()),
                   "gateway.port=" + std::to_string(gateway_port)},
                  {}, withConfig(config));
  gw.waitUntilReady();
  const std::string url = "http://127.0.0.1:" + std::to_string(gateway_port) + "/x";
  REQUIRE(parseEcho(httpGet(url).body).name == "a");

  writeConfigFile(config, gatewayFile(R"([{"prefix": "/", "pool": "pb"}])",
                                      "{\"pb\": " + poolJson({&b}, 0) + "}"));
  gw.signal(SIGHUP);
  REQUIRE(waitUntil([&] { return countOf(gw.logText(), "event=gateway_reloaded") == 2; }, 5s));
  // Each request on a new connection, which either worker may take.
  for (int i = 0; i < 20; ++i) {
    HttpReply r = httpGet(url);
    REQUIRE(r.status == 200);
    CHECK(parseEcho(r.body).name == "b");
  }
}

TEST_CASE("gateway reload: a route keeps its cache only while it is the same route",
          "[gateway][reload][cache]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  const std::string pools =
      "{\"web\": " + poolJson({&up}, 0) + ", \"web2\": " + poolJson({&up}, 0) + "}";
  auto routes = [](const std::string& pool, const std::string& cache, bool more) {
    return R"([{"prefix": "/items", "pool": ")" + pool + R"(", "cache": )" + cache + "}" +
           (more ? R"(, {"prefix": "/more", "pool": "web"}])" : "]");
  };
  std::string config = dir.file("redge.json");
  writeConfigFile(config, gatewayFile(routes("web", R"({"enabled": true})", false), pools));
  RedgeProcess gw(dir, redis, kGatewayOn, {}, withConfig(config));
  const std::string url = gw.gatewayUrl("/items?cc=max-age%3D60&nocookie=1");
  auto hit = [&] {
    HttpReply r = httpGet(url);
    REQUIRE(r.status == 200);
    return r.header("Cache-Status").rfind("redge; hit", 0) == 0;
  };
  CHECK_FALSE(hit());
  CHECK(hit());
  CHECK(up.stats().echoed == 1);

  // Another route added: this one is the same, its entry stays.
  writeConfigFile(config, gatewayFile(routes("web", R"({"enabled": true})", true), pools));
  reloadConfig(gw, 1);
  CHECK(nthLogLine(gw, "event=gateway_reloaded", 1).find("caches_kept=1 caches_emptied=0") !=
        std::string::npos);
  CHECK(hit());
  CHECK(up.stats().echoed == 1);

  // Its cache options changed: it starts empty. A miss still being fetched
  // through the old cache when the reload comes (its member answers after
  // 2 s, room for a loaded machine's reload) holds it: it is freed when
  // that request ends, not before and not never.
  auto slow = std::async(std::launch::async, [&] {
    return httpGet(gw.gatewayUrl("/items?cc=max-age%3D60&nocookie=1&delay_ms=2000"));
  });
  REQUIRE(waitUntil(
      [&] {
        return scrapeMetric(gw, "redge_gateway_member_inflight{pool=\"web\",member=\"" +
                                    memberAddress(up) + "\"}") == 1;
      },
      3s));
  writeConfigFile(
      config, gatewayFile(routes("web", R"({"enabled": true, "max_entries": 500})", true), pools));
  reloadConfig(gw, 2);
  CHECK(nthLogLine(gw, "event=gateway_reloaded", 2).find("caches_kept=0 caches_emptied=1") !=
        std::string::npos);
  CHECK(gw.logText().find("event=gateway_cache_freed") == std::string::npos);
  CHECK(slow.get().status == 200);
  CHECK(nthLogLine(gw, "event=gateway_cache_freed", 1).find("route=/items") != std::string::npos);
  CHECK_FALSE(hit());
  CHECK(up.stats().echoed == 3);
  CHECK(hit());

  // Sent to another pool (the same member, even): empty too, and the cache
  // it replaces, which nothing holds, is freed.
  writeConfigFile(
      config, gatewayFile(routes("web2", R"({"enabled": true, "max_entries": 500})", true), pools));
  reloadConfig(gw, 3);
  CHECK_FALSE(hit());
  CHECK(up.stats().echoed == 4);
  CHECK(nthLogLine(gw, "event=gateway_cache_freed", 2).find("route=/items") != std::string::npos);
  CHECK(scrapeMetric(gw, "redge_gateway_reload_pools_total{outcome=\"kept\"}") == 6);
}

TEST_CASE("gateway reload: a canary side added live takes its share and shows in GET /canary",
          "[gateway][reload][canary]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess c(dir, {"--name", "c"});
  const std::string plain = "{\"web\": " + poolJson({&a}, 0) + "}";
  const std::string with_canary =
      "{\"web\": " +
      poolJson({&a}, 0, R"("canary": {"members": [{"address": ")" + memberAddress(c) + "\"}]}") +
      "}";
  const std::string routes = R"([{"prefix": "/", "pool": "web"}])";
  std::string config = dir.file("redge.json");
  writeConfigFile(config, gatewayFile(routes, plain));
  RedgeProcess gw(dir, redis, kGatewayOn, {}, withConfig(config));
  // The whole share, set before any pool has a canary side (a 503 while
  // Redis is still connecting is retried).
  REQUIRE(waitUntil(
      [&] {
        return httpRequest("PUT", gw.adminUrl("/flags/canary.web"),
                           R"({"enabled":true,"rollout":100})")
                   .status < 300;
      },
      5s));
  CHECK(whoAnswers(gw, "/x") == "a");
  CHECK(httpGet(gw.adminUrl("/canary")).status == 404);

  writeConfigFile(config, gatewayFile(routes, with_canary));
  reloadConfig(gw, 1);
  CHECK(nthLogLine(gw, "event=gateway_reloaded", 1).find("pools_changed=1") != std::string::npos);
  HttpReply r = httpGet(gw.gatewayUrl("/x"));
  REQUIRE(r.status == 200);
  CHECK(parseEcho(r.body).name == "c");
  CHECK(r.header("X-Redge-Canary") == "1");
  HttpReply list = httpGet(gw.adminUrl("/canary"));
  REQUIRE(list.status == 200);
  CHECK(list.body.find(R"("pool":"web","flag":"canary.web","weight":100)") != std::string::npos);
  CHECK(list.body.find(memberAddress(c)) != std::string::npos);

  // Gone again: every request on the stable side; the weight series reads 0
  // once the old pool is freed.
  writeConfigFile(config, gatewayFile(routes, plain));
  reloadConfig(gw, 2);
  CHECK(whoAnswers(gw, "/x") == "a");
  CHECK(httpGet(gw.adminUrl("/canary")).body.find("\"pools\":[]") != std::string::npos);
  CHECK(waitUntil(
      [&] { return scrapeMetric(gw, "redge_gateway_canary_weight{pool=\"web\"}") == 0; }, 5s));
}
