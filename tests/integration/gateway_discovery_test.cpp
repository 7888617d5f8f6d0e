// A gateway pool that follows the service registry, end to end: real redge
// instances register (discovery) and join the pool without a restart; one
// SIGKILLed leaves it within lease_ms + 1 s and the gateway answers 503
// rather than hang; GET /listservers shows the traffic this gateway sees;
// with Redis down the gateway keeps routing to the instances it last knew.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
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

constexpr int64_t kLeaseMs = 1000;

std::vector<std::string> instance() {
  return {"discovery.enabled=true", "discovery.service=web",
          "discovery.lease_ms=" + std::to_string(kLeaseMs)};
}

std::vector<std::string> discoveringGateway() {
  return gatewaySettings(
      R"([{"prefix": "/", "pool": "web"}])",
      R"({"web": {"discover": "web", "health": {"path": "/", "interval_ms": 200}}})",
      {"discovery.enabled=true", "discovery.register_self=false"});
}

std::string addressOf(const RedgeProcess& app) {
  return "127.0.0.1:" + std::to_string(app.appPort());
}

double poolMembers(const RedgeProcess& gw) {
  return scrapeMetric(gw, "redge_gateway_pool_members{pool=\"web\"}").value_or(-1);
}

bool routesTo(const RedgeProcess& gw, int count) {
  return scrapeMetric(gw, "redge_gateway_pool_members_healthy{pool=\"web\"}") == count;
}

struct Traffic {
  bool found = false;
  std::string health;
  int64_t inflight = -1;
  int64_t requests = -1;
};

Traffic trafficOf(const RedgeProcess& gw, const std::string& address) {
  Traffic t;
  HttpReply r = httpGet(gw.adminUrl("/listservers"));
  rapidjson::Document doc;
  doc.Parse(r.body.c_str(), r.body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("instances")) return t;
  for (const auto& v : doc["instances"].GetArray()) {
    if (std::string(v["address"].GetString()) != address) continue;
    t.found = true;
    if (v["health"].IsString()) t.health = v["health"].GetString();
    if (v["inflight"].IsInt64()) t.inflight = v["inflight"].GetInt64();
    if (v["requests"].IsInt64()) t.requests = v["requests"].GetInt64();
  }
  return t;
}

}  // namespace

TEST_CASE("gateway discovery: a registered instance joins the pool, and leaves it after SIGKILL",
          "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  RedgeProcess gw(dir, redis, discoveringGateway());
  gw.waitUntilReady();
  // No instance yet: 503, at once.
  HttpReply none = httpGet(gw.gatewayUrl("/"));
  CHECK(none.status == 503);
  CHECK(errorCode(none.body) == "no_healthy_upstream");

  RedgeProcess a(dir, redis, instance());
  RedgeProcess b(dir, redis, instance());
  REQUIRE(waitUntil([&] { return routesTo(gw, 2); }, 5000ms));
  CHECK(gw.waitForLog("event=gateway_member_added pool=web member=" + addressOf(a), 1000ms));
  for (int i = 0; i < 4; ++i) {
    HttpReply r = httpGet(gw.gatewayUrl("/"));
    CHECK(r.status == 200);
    CHECK(r.body == "hello world");
  }

  // GET /listservers on the gateway: what it sees of each instance.
  Traffic t = trafficOf(gw, addressOf(a));
  REQUIRE(t.found);
  CHECK(t.health == "healthy");
  CHECK(t.inflight == 0);
  CHECK(t.requests == 2);

  auto killed = std::chrono::steady_clock::now();
  a.kill9();
  REQUIRE(waitUntil([&] { return poolMembers(gw) == 1; }, 5000ms, 10ms));
  long long gone_ms = msSince(killed);
  INFO("left the pool " << gone_ms << " ms after SIGKILL");
  CHECK(gone_ms <= kLeaseMs + 1000);
  CHECK(gw.waitForLog("event=gateway_member_removed pool=web member=" + addressOf(a), 1000ms));
  // Its health checks may have taken it out first; either way only b answers.
  for (int i = 0; i < 4; ++i) CHECK(httpGet(gw.gatewayUrl("/")).status == 200);

  // The last one leaves by a graceful stop (deregistered at once): 503, not a hang.
  CHECK(b.stop() == 0);
  REQUIRE(waitUntil([&] { return poolMembers(gw) == 0; }, 3000ms));
  auto start = std::chrono::steady_clock::now();
  HttpReply empty = httpGet(gw.gatewayUrl("/"));
  CHECK(empty.status == 503);
  CHECK(errorCode(empty.body) == "no_healthy_upstream");
  CHECK(empty.hasHeader("Retry-After"));
  CHECK(msSince(start) < 1000);
}

TEST_CASE("gateway discovery: with Redis down the gateway routes on what it last knew",
          "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  RedgeProcess gw(dir, redis, discoveringGateway());
  RedgeProcess a(dir, redis, instance());
  REQUIRE(waitUntil([&] { return routesTo(gw, 1); }, 5000ms));

  redis.stop();
  REQUIRE(gw.waitForLog("event=discovery_registry_stale", 3000ms));
  // Longer than the lease: nobody can expire it, and the gateway keeps it.
  std::this_thread::sleep_for(std::chrono::milliseconds(kLeaseMs + 500));
  for (int i = 0; i < 5; ++i) {
    HttpReply r = httpGet(gw.gatewayUrl("/"));
    CHECK(r.status == 200);
    CHECK(r.body == "hello world");
  }
  CHECK(poolMembers(gw) == 1);

  // Redis comes back empty: the instance registers again, the gateway loads
  // the registry again (the instance may leave and join the pool meanwhile,
  // if the load comes before its heartbeat) and routes to it.
  redis.start();
  REQUIRE(gw.waitForLog("event=discovery_registry_resynced", 5000ms));
  REQUIRE(waitUntil([&] { return routesTo(gw, 1) && poolMembers(gw) == 1; }, 5000ms));
  CHECK(httpGet(gw.gatewayUrl("/")).status == 200);
}

TEST_CASE("gateway config: --check-config and --help show it, mistakes exit 2 naming the key",
          "[gateway]") {
  TempDir dir;
  RedgeRun shown = runRedge(
      dir,
      {"--check-config", "--set", "gateway.enabled=true", "--set",
       R"(gateway.routes=[{"prefix": "/api/", "pool": "api"}])", "--set",
       R"(gateway.pools={"api": {"members": [{"address": "127.0.0.1:9"}], "balance": "hash"}})"});
  REQUIRE(shown.exit_code == 0);
  rapidjson::Document doc;
  doc.Parse(shown.out.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["gateway"]["routes"][0]["prefix"].GetString()) == "/api/");
  CHECK(std::string(doc["gateway"]["pools"]["api"]["balance"].GetString()) == "hash");
  CHECK(doc["gateway"]["pools"]["api"]["health"]["interval_ms"].GetInt() == 2000);

  RedgeRun help = runRedge(dir, {"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("gateway.pools.<name>.hash_by (string, default \"client_address\")") !=
        std::string::npos);

  struct Case {
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {{"--set", "gateway.enabled=true", "--set", R"(gateway.routes=[{"pool": "web"}])"},
       "config error: gateway.routes[0].pool: no pool named 'web' in gateway.pools"},
      {{"--set", R"(gateway.pools={"web": {"members": [{"address": "nowhere"}]}})"},
       "config error: gateway.pools.web.members[0].address: expected host:port"},
      {{"--set", R"(gateway.pools={"web": {"balance": "hash"}})"},
       "config error: gateway.pools.web: has neither members nor discover"},
      {{"--set", "gateway.enabled=true", "--set", R"(gateway.routes=[{"pool": "web"}])", "--set",
        R"(gateway.pools={"web": {"members": [{"address": "no-such-host.invalid:80"}]}})"},
       "config error: gateway.pools.web.members[0].address: cannot resolve host "
       "'no-such-host.invalid'"},
  };
  for (const Case& c : cases) {
    INFO(c.message);
    RedgeRun run = runRedge(dir, c.args);
    CHECK(run.exit_code == 2);
    CHECK(run.err.find(c.message) != std::string::npos);
  }
}
