// redge when Redis misbehaves: stopped, paused, and restarted under it, and
// when redge itself is told to stop while a Redis command is in flight. The
// answers must be quick and clear, and recovery must need no restart.

#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

#include "support/json_fields.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

const std::string kMessage = "this message will self-destruct in 10 seconds";

}  // namespace

TEST_CASE("redis: with Redis down its routes answer 503 fast and / still works", "[redis]") {
  TestStack s({"redis.reconnect_max_ms=500"});
  pid_t pid = s.redge.pid();
  REQUIRE(httpGet(s.app("/set")).status == 200);
  REQUIRE(httpGet(s.admin("/readyz")).status == 200);

  s.redis.stop();

  HttpReply down = httpGet(s.app("/get"));
  REQUIRE(down.status == 503);
  CHECK(down.elapsed < 1500ms);
  CHECK(down.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(down.body) == "redis_unavailable");
  CHECK(down.hasHeader("Retry-After"));

  HttpReply again = httpGet(s.app("/set"));
  CHECK(again.status == 503);
  CHECK(again.elapsed < 1500ms);
  CHECK(errorCode(again.body) == "redis_unavailable");

  HttpReply ready = httpGet(s.admin("/readyz"));
  CHECK(ready.status == 503);
  CHECK(ready.hasHeader("Retry-After"));
  CHECK(httpGet(s.admin("/healthz")).status == 200);

  HttpReply hello = httpGet(s.app("/"));
  CHECK(hello.status == 200);
  CHECK(hello.body == "hello world");

  s.redis.start();
  bool recovered =
      waitUntil([&] { return httpGet(s.admin("/readyz")).status == 200; }, 5000ms, 50ms);
  REQUIRE(recovered);
  // The restarted Redis is empty; /set and /get must work on it.
  HttpReply set = httpGet(s.app("/set"));
  CHECK(set.status == 200);
  HttpReply get = httpGet(s.app("/get"));
  CHECK(get.status == 200);
  CHECK(get.body == kMessage);
  // Same process all along.
  CHECK(s.redge.running());
  CHECK(s.redge.pid() == pid);
}

TEST_CASE("redis: redge starts without Redis and becomes ready when it appears", "[redis]") {
  TempDir dir;
  RedisServer redis(dir);
  redis.stop();
  RedgeProcess redge(dir, redis, {"redis.reconnect_max_ms=300"});
  HttpReply hello = httpGet(redge.appUrl("/"));
  CHECK(hello.status == 200);
  HttpReply get = httpGet(redge.appUrl("/get"));
  CHECK(get.status == 503);
  CHECK(errorCode(get.body) == "redis_unavailable");
  CHECK(httpGet(redge.adminUrl("/readyz")).status == 503);

  redis.start();
  CHECK(waitUntil([&] { return httpGet(redge.adminUrl("/readyz")).status == 200; }, 5000ms, 50ms));
  CHECK(httpGet(redge.appUrl("/set")).status == 200);
  CHECK(httpGet(redge.appUrl("/get")).body == kMessage);
}

TEST_CASE("redis: a paused Redis gives 503 redis_timeout within the command timeout", "[redis]") {
  TestStack s({"redis.command_timeout_ms=300", "redis.reconnect_max_ms=500"});
  REQUIRE(httpGet(s.app("/set")).status == 200);
  REQUIRE(httpGet(s.app("/get")).status == 200);

  s.redis.pause();
  HttpReply slow = httpGet(s.app("/get"));
  REQUIRE(slow.status == 503);
  CHECK(errorCode(slow.body) == "redis_timeout");
  CHECK(slow.hasHeader("Retry-After"));
  CHECK(slow.elapsed >= 250ms);
  CHECK(slow.elapsed < 800ms);
  // Routes that do not need Redis are untouched.
  CHECK(httpGet(s.app("/")).status == 200);

  s.redis.resume();
  bool recovered = waitUntil(
      [&] {
        HttpReply set = httpGet(s.app("/set"));
        return set.status == 200 && httpGet(s.app("/get")).body == kMessage;
      },
      5000ms, 50ms);
  CHECK(recovered);
  CHECK(httpGet(s.admin("/readyz")).status == 200);
  CHECK(s.redge.running());
}

TEST_CASE("redis: SIGTERM lets the in-flight request finish and exits 0", "[redis][drain]") {
  TestStack s({"redis.command_timeout_ms=3000"}, {"--enable-debug-command", "yes"});
  int port = s.redge.appPort();
  REQUIRE(httpGet(s.app("/set"), {}, 5000ms).status == 200);

  // Keep Redis busy so redge's GET waits in Redis's queue while the signal lands.
  RedisConnection blocker(s.redis.port());
  blocker.send({"DEBUG", "SLEEP", "1"});
  std::this_thread::sleep_for(100ms);

  RawConnection c(port);
  auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send("GET /get HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(150ms);
  s.redge.signal(SIGTERM);

  // New connections are refused once the drain has begun, while the old
  // request is still waiting for Redis.
  bool refused = waitUntil([&] { return !canConnect(port); }, 500ms, 10ms);
  CHECK(refused);
  CHECK(msSince(start) < 900);

  auto r = c.readResponse(5000ms);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == kMessage);
  CHECK(msSince(start) >= 700);

  // The answer ends the connection; a client closes its side in turn (redge
  // may linger on a half-closed socket, waiting for exactly that).
  CHECK(c.waitForClose(2000ms));
  c.close();

  auto code = s.redge.waitForExit(2000ms);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(blocker.readReply().type == RedisValue::Type::Status);
  CHECK(s.redge.logText().find("event=draining") != std::string::npos);
}

TEST_CASE("redis: SIGTERM on an idle redge exits 0 promptly", "[redis][drain]") {
  TestStack s;
  REQUIRE(httpGet(s.app("/")).status == 200);
  auto start = std::chrono::steady_clock::now();
  CHECK(s.redge.stop() == 0);
  CHECK(msSince(start) < 2000);
}
