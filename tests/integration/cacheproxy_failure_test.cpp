// The cache proxy when Redis is gone or frozen: what is already cached keeps
// being served, a miss fails fast and says why (HTTP 503 JSON with
// Retry-After, a RESP error), and misses work again once Redis is back, with
// no restart of redge.

#include <catch2/catch.hpp>
#include <string>

#include "support/json_fields.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

TEST_CASE("cacheproxy: with Redis down cached keys are served and misses are 503 fast",
          "[cacheproxy][redis]") {
  TestStack s({"redis.reconnect_max_ms=300"}, {}, RedgeServices{.cache_proxy = true});
  pid_t pid = s.redge.pid();
  REQUIRE(s.redis.command({"SET", "cached", "kept"}).str == "OK");
  REQUIRE(s.redis.command({"SET", "uncached", "lost"}).str == "OK");
  REQUIRE(httpGet(s.cache("/cached")).header("X-Cache") == "MISS");
  REQUIRE(httpGet(s.cache("/cached")).header("X-Cache") == "HIT");
  RedisConnection resp(s.redge.cacheRespPort());

  s.redis.stop();

  HttpReply hit = httpGet(s.cache("/cached"));
  CHECK(hit.status == 200);
  CHECK(hit.body == "kept");
  CHECK(hit.header("X-Cache") == "HIT");

  for (int i = 0; i < 2; ++i) {
    INFO("attempt " << i);
    HttpReply miss = httpGet(s.cache("/uncached"));
    REQUIRE(miss.status == 503);
    CHECK(miss.elapsed < 1500ms);
    CHECK(miss.header("Content-Type").rfind("application/json", 0) == 0);
    CHECK(errorCode(miss.body) == "redis_unavailable");
    CHECK(miss.hasHeader("Retry-After"));
  }

  RedisValue resp_hit = resp.command({"GET", "cached"});
  CHECK(resp_hit.type == RedisValue::Type::String);
  CHECK(resp_hit.str == "kept");
  auto start = std::chrono::steady_clock::now();
  RedisValue resp_miss = resp.command({"GET", "uncached"});
  CHECK(msSince(start) < 1500);
  CHECK(resp_miss.type == RedisValue::Type::Error);
  CHECK(resp_miss.str == "ERR redis unavailable");
  // The RESP connection survives the error.
  CHECK(resp.command({"PING"}).str == "PONG");

  s.redis.start();  // empty: no persistence
  REQUIRE(s.redis.command({"SET", "uncached", "back"}).str == "OK");
  HttpReply recovered;
  bool ok = waitUntil(
      [&] {
        recovered = httpGet(s.cache("/uncached"));
        return recovered.status == 200;
      },
      5000ms, 50ms);
  REQUIRE(ok);
  CHECK(recovered.body == "back");
  CHECK(recovered.header("X-Cache") == "MISS");
  RedisValue resp_back = resp.command({"GET", "uncached"});
  CHECK(resp_back.str == "back");
  CHECK(httpGet(s.cache("/cached")).body == "kept");
  CHECK(s.redge.running());
  CHECK(s.redge.pid() == pid);
}

TEST_CASE("cacheproxy: a frozen Redis turns a miss into redis_timeout, hits are untouched",
          "[cacheproxy][redis]") {
  TestStack s({"redis.command_timeout_ms=300", "redis.reconnect_max_ms=300"}, {},
              RedgeServices{.cache_proxy = true});
  REQUIRE(s.redis.command({"SET", "cached", "kept"}).str == "OK");
  REQUIRE(s.redis.command({"SET", "uncached", "v"}).str == "OK");
  REQUIRE(httpGet(s.cache("/cached")).status == 200);

  s.redis.pause();
  HttpReply hit = httpGet(s.cache("/cached"), {}, 2000ms);
  CHECK(hit.status == 200);
  CHECK(hit.header("X-Cache") == "HIT");
  CHECK(hit.elapsed < 250ms);

  HttpReply slow = httpGet(s.cache("/uncached"), {}, 3000ms);
  REQUIRE(slow.status == 503);
  CHECK(errorCode(slow.body) == "redis_timeout");
  CHECK(slow.hasHeader("Retry-After"));
  CHECK(slow.elapsed >= 250ms);
  CHECK(slow.elapsed < 1000ms);
  s.redis.resume();

  bool recovered =
      waitUntil([&] { return httpGet(s.cache("/uncached")).status == 200; }, 5000ms, 50ms);
  CHECK(recovered);
  CHECK(httpGet(s.cache("/uncached")).body == "v");
}
