// balance redis_rotation end to end: two gateway processes on one Redis walk
// one shared rotation (requests alternating between them still go a, b, c,
// a, b, c), the list in Redis follows the pool, and with Redis down mid-run
// the gateways keep routing on their local rotation, say so once, and go
// back to the shared one (rewriting the list Redis lost) when it returns.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/gateway_echo.hpp"
#include "support/metrics_text.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

const std::string kRotationKey = "redge:gateway:rotation:web";

bool waitHealthy(const RedgeProcess& gw, int count) {
  return waitUntil(
      [&] { return scrapeMetric(gw, "redge_gateway_pool_members_healthy{pool=\"web\"}") == count; },
      5000ms);
}

std::vector<std::string> listed(const RedisServer& redis) {
  std::vector<std::string> out;
  RedisValue v = redis.command({"LRANGE", kRotationKey, "0", "-1"});
  for (const RedisValue& e : v.elements) out.push_back(e.str);
  return out;
}

size_t occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("gateway rotation: two gateways share one rotation through Redis", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  FakeUpstreamProcess c(dir, {"--name", "c"});
  std::vector<std::string> settings = gatewaySettings(
      R"([{"prefix": "/", "pool": "web"}])",
      "{\"web\": " + poolJson({&a, &b, &c}, 100, R"("balance": "redis_rotation")") + "}", {});
  RedgeProcess gw1(dir, redis, settings);
  RedgeProcess gw2(dir, redis, settings);
  REQUIRE(waitHealthy(gw1, 3));
  REQUIRE(waitHealthy(gw2, 3));
  // The list: every member once (weights 1), sorted by name.
  std::vector<std::string> members = {memberAddress(a), memberAddress(b), memberAddress(c)};
  std::sort(members.begin(), members.end());
  REQUIRE(waitUntil([&] { return listed(redis).size() == 3; }, 3000ms));
  std::vector<std::string> in_redis = listed(redis);
  std::sort(in_redis.begin(), in_redis.end());
  CHECK(in_redis == members);

  std::vector<std::string> names;
  auto ask = [&](const RedgeProcess& gw) {
    HttpReply r = httpGet(gw.gatewayUrl("/"));
    REQUIRE(r.status == 200);
    names.push_back(r.header("X-Upstream"));
  };
  // 13 turns: the list is then one turn past where it was written.
  for (int i = 0; i < 13; ++i) ask(i % 2 == 0 ? gw1 : gw2);
  // A third gateway starts and writes the list as it sees the pool: the same
  // names, so the rotation goes on where it was rather than from the first.
  RedgeProcess gw3(dir, redis, settings);
  REQUIRE(waitHealthy(gw3, 3));
  for (int i = 0; i < 5; ++i) ask(i % 2 == 0 ? gw3 : gw1);
  INFO([&] {
    std::string s;
    for (const auto& n : names) s += n + " ";
    return s;
  }());
  // One rotation, whoever asks: each turn is a different member, and the
  // order repeats every three requests.
  for (size_t i = 0; i + 1 < names.size(); ++i) CHECK(names[i] != names[i + 1]);
  for (size_t i = 0; i + 3 < names.size(); ++i) CHECK(names[i] == names[i + 3]);
  CHECK(scrapeMetric(gw1, "redge_gateway_rotation_picks_total{pool=\"web\",source=\"redis\"}") ==
        9);
  CHECK(scrapeMetric(gw2, "redge_gateway_rotation_picks_total{pool=\"web\",source=\"local\"}") ==
        0);
}

TEST_CASE("gateway rotation: with Redis down the gateway keeps routing, and says so once",
          "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(R"([{"prefix": "/", "pool": "web"}, {"prefix": "/rr/", "pool": "rr"}])",
                      "{\"web\": " + poolJson({&a, &b}, 100, R"("balance": "redis_rotation")") +
                          ", \"rr\": " + poolJson({&a, &b}, 100) + "}"));
  REQUIRE(waitHealthy(gw, 2));
  REQUIRE(waitUntil([&] { return listed(redis).size() == 2; }, 3000ms));
  CHECK(httpGet(gw.gatewayUrl("/")).status == 200);

  redis.stop();
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) {
    HttpReply r = httpGet(gw.gatewayUrl("/"));
    CHECK(r.status == 200);
    names.push_back(r.header("X-Upstream"));
    CHECK(httpGet(gw.gatewayUrl("/rr/")).status == 200);
  }
  // The local rotation alternates too.
  for (size_t i = 0; i + 1 < names.size(); ++i) CHECK(names[i] != names[i + 1]);
  CHECK(occurrences(gw.logText(), "event=gateway_rotation_fallback pool=web") == 1);
  CHECK(scrapeMetric(gw, "redge_gateway_rotation_fallback{pool=\"web\"}") == 1);
  CHECK(scrapeMetric(gw, "redge_gateway_rotation_picks_total{pool=\"web\",source=\"local\"}") >=
        10);

  // Redis comes back empty: the gateway writes the list again and takes its
  // turns from it.
  redis.start();
  REQUIRE(waitUntil([&] { return listed(redis).size() == 2; }, 5000ms));
  REQUIRE(waitUntil(
      [&] {
        return httpGet(gw.gatewayUrl("/")).status == 200 &&
               gw.logText().find("event=gateway_rotation_restored pool=web") != std::string::npos;
      },
      5000ms));
  CHECK(scrapeMetric(gw, "redge_gateway_rotation_fallback{pool=\"web\"}") == 0);
  CHECK(occurrences(gw.logText(), "event=gateway_rotation_fallback pool=web") == 1);
  CHECK(occurrences(gw.logText(), "event=gateway_rotation_restored pool=web") == 1);
}
