// The RESP listener's deadlines, from raw sockets: half a command must not
// hold a connection slot for ever (it gets -ERR and a close), an idle
// connection stays (Redis's default) unless resp.idle_timeout_ms says
// otherwise, a client that takes none of its replies is closed after the
// write-stall deadline, and refusals at the connection limit are logged.

#include <catch2/catch.hpp>
#include <string>

#include "support/metrics_text.hpp"
#include "support/never_reader.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

TestStack cacheStack(std::vector<std::string> settings = {}) {
  return TestStack(std::move(settings), {}, RedgeServices{.cache_proxy = true});
}

}  // namespace

TEST_CASE("resp: half a command gets -ERR timeout and a close after command_read_timeout_ms",
          "[resp][deadline]") {
  TestStack s = cacheStack({"resp.command_read_timeout_ms=400"});
  RawConnection c(s.redge.cacheRespPort());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send("*2\r\n$3\r\nGET\r\n$5\r\nhal"));
  REQUIRE(c.readUntil("\r\n", 2000ms));
  long long waited = msSince(start);
  CHECK(waited >= 300);
  CHECK(waited < 1500);
  CHECK(c.pending().rfind("-ERR timeout: the command did not arrive whole within 400 ms", 0) == 0);
  CHECK(c.waitForClose(3000ms));
  CHECK(scrapeMetric(s.redge, "redge_resp_command_read_timeouts_total{service=\"cacheproxy\"}") ==
        1);
  CHECK(
      s.redge.waitForLog("event=resp_error service=cacheproxy error=command_read_timeout", 1000ms));
}

TEST_CASE("resp: a command trickled in pieces meets the same deadline", "[resp][deadline]") {
  TestStack s = cacheStack({"resp.command_read_timeout_ms=400"});
  RawConnection c(s.redge.cacheRespPort());
  auto start = std::chrono::steady_clock::now();
  std::string command = "*2\r\n$3\r\nGET\r\n$30\r\n" + std::string(30, 'k') + "\r\n";
  for (size_t i = 0; i < command.size() && c.pending().empty() && !c.peerClosed(); ++i) {
    if (!c.send(command.substr(i, 1))) break;
    c.readFor(50ms);
  }
  REQUIRE(c.readUntil("\r\n", 1000ms));
  CHECK(c.pending().rfind("-ERR timeout", 0) == 0);
  CHECK(msSince(start) < 1500);
}

TEST_CASE("resp: whole commands in separate reads never meet the deadline", "[resp][deadline]") {
  TestStack s = cacheStack({"resp.command_read_timeout_ms=300"});
  RawConnection c(s.redge.cacheRespPort());
  for (int i = 0; i < 4; ++i) {
    REQUIRE(c.send("PING\r\n"));
    REQUIRE(c.readUntil("+PONG\r\n", 1000ms));
    c.readFor(200ms);  // 800 ms in all, between commands: idle, not late
  }
  CHECK_FALSE(c.peerClosed());
}

TEST_CASE("resp: an idle connection stays by default and goes after resp.idle_timeout_ms",
          "[resp][deadline]") {
  SECTION("default: kept, as Redis keeps it") {
    TestStack s = cacheStack();
    RawConnection c(s.redge.cacheRespPort());
    REQUIRE(c.send("PING\r\n"));
    REQUIRE(c.readUntil("+PONG\r\n", 1000ms));
    CHECK_FALSE(c.waitForClose(700ms));
  }
  SECTION("resp.idle_timeout_ms=300: closed quietly") {
    TestStack s = cacheStack({"resp.idle_timeout_ms=300"});
    RawConnection c(s.redge.cacheRespPort());
    REQUIRE(c.send("PING\r\n"));
    REQUIRE(c.readUntil("+PONG\r\n", 1000ms));
    auto start = std::chrono::steady_clock::now();
    CHECK(c.waitForClose(2000ms));
    CHECK(msSince(start) >= 200);
    CHECK(c.pending() == "+PONG\r\n");
  }
}

TEST_CASE("resp: a client that takes none of a few replies is closed after the stall deadline",
          "[resp][deadline][slow]") {
  // Less output than any watermark: it still waits on a client that reads
  // nothing, so the stall deadline must close it.
  TestStack s = cacheStack({"http.idle_timeout_ms=500"});
  s.redis.command({"SET", "big", std::string(64 * 1024, 'v')});
  RedisConnection warm(s.redge.cacheRespPort());
  REQUIRE(warm.command({"GET", "big"}).str.size() == 64 * 1024);
  NeverReader hostile(s.redge.cacheRespPort());
  REQUIRE(hostile.push("GET big\r\n", 12) == 12);
  const std::string open_series = "redge_resp_connections_open{service=\"cacheproxy\"}";
  CHECK(waitUntil([&] { return scrapeMetric(s.redge, open_series) == 2; }, 1000ms));
  CHECK(waitUntil([&] { return scrapeMetric(s.redge, open_series) == 1; }, 3000ms));
}

TEST_CASE("resp: a refused connection is logged with its code", "[resp][limits]") {
  TestStack s = cacheStack({"cacheproxy.max_connections=1"});
  RawConnection first(s.redge.cacheRespPort());
  REQUIRE(first.send("PING\r\n"));
  REQUIRE(first.readUntil("+PONG\r\n", 1000ms));
  RawConnection second(s.redge.cacheRespPort());
  REQUIRE(second.readUntil("\r\n", 1000ms));
  CHECK(second.pending() == "-ERR max number of clients reached\r\n");
  CHECK(s.redge.waitForLog("event=resp_error service=cacheproxy error=max_clients", 1000ms));
}

TEST_CASE("fairness: a client pipelining as fast as it can does not starve the others",
          "[resp][http][fairness]") {
  TestStack s = cacheStack();
  // Four connections each push 4 MB of PINGs; a fifth asks one at a time.
  std::vector<std::unique_ptr<NeverReader>> floods;
  std::string pings;
  for (int i = 0; i < 8192; ++i) pings += "PING\r\n";
  for (int i = 0; i < 4; ++i) {
    floods.push_back(std::make_unique<NeverReader>(s.redge.cacheRespPort()));
  }
  std::thread pusher([&] {
    for (auto& f : floods) f->push(pings, 80, 300ms, 3000ms);
  });
  RedisConnection polite(s.redge.cacheRespPort());
  long long worst = 0;
  auto end = std::chrono::steady_clock::now() + 2000ms;
  int answered = 0;
  while (std::chrono::steady_clock::now() < end) {
    auto t = std::chrono::steady_clock::now();
    REQUIRE(polite.command({"PING"}).str == "PONG");
    worst = std::max(worst, msSince(t));
    ++answered;
  }
  pusher.join();
  INFO("polite client: " << answered << " answers, worst " << worst << " ms");
  CHECK(answered > 20);
  CHECK(worst < 500);
}
