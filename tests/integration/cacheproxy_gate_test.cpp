// The cache proxy's in-flight gate and single flight, seen from outside.
//
// Redis is frozen with SIGSTOP so that every miss stays in progress for as
// long as the test wants; the gate's state is then read from admin /metrics
// (redge_cache_inflight, redge_cache_waiting), which redge serves from its
// own loop while Redis is stuck. Requests are sent one at a time and each is
// confirmed arrived (by those gauges) before the next, so the arrival order
// is known exactly without sleeping. After SIGCONT:
//   - Redis's MONITOR shows in which order the proxy sent its GETs;
//   - INFO commandstats shows how many GETs it sent;
//   - poll() over the client sockets shows in which order answers came back
//     (a socket that became readable in an earlier poll round was answered
//     first; two in the same round are a tie, which says nothing either way).

#include <poll.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "support/metrics_text.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// A paused Redis must not turn into redis_timeout while the test looks.
TestStack gateStack(const std::string& max_inflight) {
  return TestStack({"cacheproxy.max_inflight=" + max_inflight, "redis.command_timeout_ms=8000"}, {},
                   RedgeServices{.cache_proxy = true});
}

struct Gate {
  double inflight = -1;
  double waiting = -1;
  double coalesced = -1;
};

Gate readGate(const TestStack& s) {
  Gate g;
  HttpReply r = httpGet(s.admin("/metrics"), {}, 2000ms);
  if (r.status != 200) return g;
  g.inflight = metricValue(r.body, "redge_cache_inflight").value_or(-1);
  g.waiting = metricValue(r.body, "redge_cache_waiting").value_or(-1);
  g.coalesced = metricValue(r.body, "redge_cache_coalesced_total").value_or(-1);
  return g;
}

// Polls the gauges until inflight + waiting reaches `lookups`.
bool waitForLookups(const TestStack& s, int lookups) {
  return waitUntil(
      [&] {
        Gate g = readGate(s);
        return g.inflight + g.waiting >= lookups;
      },
      3000ms, 10ms);
}

std::string getRequest(const std::string& key) {
  return "GET /" + key + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

// For each connection, the poll round in which its answer started to arrive
// (0 = first round after the call). Bounded by `timeout`; -1 for a
// connection that never became readable.
std::vector<int> answerRounds(const std::vector<std::unique_ptr<RawConnection>>& conns,
                              std::chrono::milliseconds timeout) {
  std::vector<int> rounds(conns.size(), -1);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int round = 0;
  size_t done = 0;
  while (done < conns.size() && std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<size_t> index;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (rounds[i] >= 0) continue;
      fds.push_back({conns[i]->fd(), POLLIN, 0});
      index.push_back(i);
    }
    int n = ::poll(fds.data(), fds.size(), 100);
    if (n <= 0) continue;
    for (size_t j = 0; j < fds.size(); ++j) {
      if (fds[j].revents != 0) {
        rounds[index[j]] = round;
        ++done;
      }
    }
    ++round;
  }
  return rounds;
}

// The keys of the GET commands in MONITOR's output, in the order Redis ran them.
std::vector<std::string> monitoredGets(RedisConnection& monitor, size_t count) {
  std::vector<std::string> keys;
  const std::string marker = "\"GET\" \"";
  while (keys.size() < count) {
    RedisValue line = monitor.readReply();  // throws after its own 3 s timeout
    size_t at = line.str.find(marker);
    if (at == std::string::npos) continue;
    size_t end = line.str.find('"', at + marker.size());
    keys.push_back(line.str.substr(at + marker.size(), end - at - marker.size()));
  }
  return keys;
}

long long getCalls(const TestStack& s) {
  RedisValue info = s.redis.command({"INFO", "commandstats"});
  const std::string marker = "cmdstat_get:calls=";
  size_t at = info.str.find(marker);
  if (at == std::string::npos) return 0;
  return std::atoll(info.str.c_str() + at + marker.size());
}

}  // namespace

TEST_CASE("cacheproxy: max_inflight=1 runs one lookup at a time, in arrival order",
          "[cacheproxy][gate]") {
  TestStack s = gateStack("1");
  const std::vector<std::string> keys = {"k0", "k1", "k2", "k3"};
  for (const auto& k : keys) s.redis.command({"SET", k, "value-" + k});
  s.redis.command({"SET", "hot", "cached"});
  REQUIRE(httpGet(s.cache("/hot")).header("X-Cache") == "MISS");
  REQUIRE(httpGet(s.cache("/hot")).header("X-Cache") == "HIT");

  RedisConnection monitor(s.redis.port());
  REQUIRE(monitor.command({"MONITOR"}).str == "OK");

  s.redis.pause();
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (size_t i = 0; i < keys.size(); ++i) {
    conns.push_back(std::make_unique<RawConnection>(s.redge.cacheHttpPort()));
    REQUIRE(conns.back()->send(getRequest(keys[i])));
    INFO("request " << i);
    REQUIRE(waitForLookups(s, static_cast<int>(i) + 1));
  }
  Gate g = readGate(s);
  CHECK(g.inflight == 1);
  CHECK(g.waiting == 3);

  // A hit that arrives behind them waits its turn too: the gate is FIFO for
  // every lookup, not only for misses.
  conns.push_back(std::make_unique<RawConnection>(s.redge.cacheHttpPort()));
  REQUIRE(conns.back()->send(getRequest("hot")));
  REQUIRE(waitForLookups(s, 5));
  g = readGate(s);
  CHECK(g.inflight == 1);
  CHECK(g.waiting == 4);
  CHECK_FALSE(conns.back()->readResponse(200ms));

  s.redis.resume();
  std::vector<int> rounds = answerRounds(conns, 5000ms);
  for (size_t i = 0; i < conns.size(); ++i) {
    INFO("connection " << i);
    CHECK(rounds[i] >= 0);
    auto r = conns[i]->readResponse(5000ms);
    REQUIRE(r);
    CHECK(r->status == 200);
    if (i < keys.size()) {
      CHECK(r->body == "value-" + keys[i]);
      CHECK(r->header("X-Cache") == "MISS");
    } else {
      CHECK(r->body == "cached");
      CHECK(r->header("X-Cache") == "HIT");
    }
  }
  // Answers came back in request order (ties allowed, inversions not).
  INFO("answer rounds: " << Catch::Detail::stringify(rounds));
  for (size_t i = 1; i < rounds.size(); ++i) CHECK(rounds[i - 1] <= rounds[i]);
  // And Redis was asked in request order.
  CHECK(monitoredGets(monitor, keys.size()) == keys);
  g = readGate(s);
  CHECK(g.inflight == 0);
  CHECK(g.waiting == 0);
}

TEST_CASE("cacheproxy: max_inflight=4 overlaps four misses and answers hits meanwhile",
          "[cacheproxy][gate]") {
  TestStack s = gateStack("4");
  const std::vector<std::string> keys = {"k0", "k1", "k2", "k3", "k4"};
  for (const auto& k : keys) s.redis.command({"SET", k, "value-" + k});
  s.redis.command({"SET", "hot", "cached"});
  REQUIRE(httpGet(s.cache("/hot")).status == 200);

  s.redis.pause();
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (size_t i = 0; i < 4; ++i) {
    conns.push_back(std::make_unique<RawConnection>(s.redge.cacheHttpPort()));
    REQUIRE(conns.back()->send(getRequest(keys[i])));
  }
  REQUIRE(waitForLookups(s, 4));
  Gate g = readGate(s);
  CHECK(g.inflight == 4);
  CHECK(g.waiting == 0);

  // All four slots are taken: a fifth miss waits for one.
  conns.push_back(std::make_unique<RawConnection>(s.redge.cacheHttpPort()));
  REQUIRE(conns.back()->send(getRequest(keys[4])));
  REQUIRE(waitForLookups(s, 5));
  g = readGate(s);
  CHECK(g.inflight == 4);
  CHECK(g.waiting == 1);

  s.redis.resume();
  for (size_t i = 0; i < conns.size(); ++i) {
    INFO("connection " << i);
    auto r = conns[i]->readResponse(5000ms);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "value-" + keys[i]);
  }

  // With fewer than max_inflight misses outstanding, a hit does not wait for
  // a frozen Redis at all.
  s.redis.pause();
  RawConnection slow(s.redge.cacheHttpPort());
  REQUIRE(slow.send(getRequest("not-cached")));
  REQUIRE(waitForLookups(s, 1));
  HttpReply hot = httpGet(s.cache("/hot"), {}, 2000ms);
  CHECK(hot.status == 200);
  CHECK(hot.body == "cached");
  CHECK(hot.header("X-Cache") == "HIT");
  CHECK(hot.elapsed < 1000ms);
  s.redis.resume();
  auto r = slow.readResponse(5000ms);
  REQUIRE(r);
  CHECK(r->status == 404);
}

TEST_CASE("cacheproxy: concurrent misses for one key send a single GET to Redis",
          "[cacheproxy][gate][singleflight]") {
  TestStack s = gateStack("64");
  s.redis.command({"SET", "popular", "the one value"});
  REQUIRE(s.redis.command({"CONFIG", "RESETSTAT"}).str == "OK");
  REQUIRE(getCalls(s) == 0);

  s.redis.pause();
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < 10; ++i) {
    conns.push_back(std::make_unique<RawConnection>(s.redge.cacheHttpPort()));
    REQUIRE(conns.back()->send(getRequest("popular")));
  }
  bool joined = waitUntil([&] { return readGate(s).coalesced >= 9; }, 3000ms, 10ms);
  Gate g = readGate(s);
  INFO("coalesced " << g.coalesced << " inflight " << g.inflight << " waiting " << g.waiting);
  CHECK(joined);
  CHECK(g.coalesced == 9);
  CHECK(g.inflight == 1);
  s.redis.resume();

  for (size_t i = 0; i < conns.size(); ++i) {
    INFO("connection " << i);
    auto r = conns[i]->readResponse(5000ms);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "the one value");
  }
  CHECK(getCalls(s) == 1);
  // The answer was cached as well: the next read is a hit and sends nothing.
  HttpReply hit = httpGet(s.cache("/popular"));
  CHECK(hit.header("X-Cache") == "HIT");
  CHECK(getCalls(s) == 1);
}

TEST_CASE("cacheproxy: on one HTTP connection a hit pipelined behind a miss waits for it",
          "[cacheproxy][gate][pipeline]") {
  TestStack s = gateStack("64");
  s.redis.command({"SET", "slow", "fetched"});
  s.redis.command({"SET", "hot", "cached"});
  REQUIRE(httpGet(s.cache("/hot")).status == 200);

  s.redis.pause();
  RawConnection c(s.redge.cacheHttpPort());
  REQUIRE(c.send(getRequest("slow") + getRequest("hot") + getRequest("hot")));
  REQUIRE(waitForLookups(s, 1));
  // The hits are ready at once but must not overtake the miss.
  CHECK_FALSE(c.readResponse(300ms));
  s.redis.resume();

  std::vector<std::string> bodies;
  for (int i = 0; i < 3; ++i) {
    auto r = c.readResponse(5000ms);
    REQUIRE(r);
    CHECK(r->status == 200);
    bodies.push_back(r->body);
  }
  CHECK(bodies == std::vector<std::string>{"fetched", "cached", "cached"});
}

TEST_CASE("cacheproxy: on one RESP connection replies keep command order across hits and misses",
          "[cacheproxy][gate][pipeline][resp]") {
  TestStack s = gateStack("64");
  s.redis.command({"SET", "slow", "fetched"});
  s.redis.command({"SET", "hot", "cached"});
  REQUIRE(httpGet(s.cache("/hot")).status == 200);

  s.redis.pause();
  RawConnection c(s.redge.cacheRespPort());
  REQUIRE(
      c.send("*2\r\n$3\r\nGET\r\n$4\r\nslow\r\n"
             "*2\r\n$3\r\nGET\r\n$3\r\nhot\r\n"
             "PING\r\n"
             "*4\r\n$4\r\nMGET\r\n$3\r\nhot\r\n$5\r\nother\r\n$3\r\nhot\r\n"
             "*2\r\n$3\r\nGET\r\n$3\r\nhot\r\n"));
  REQUIRE(waitForLookups(s, 1));
  c.readFor(300ms);
  CHECK(c.pending().empty());
  s.redis.resume();

  const std::string expected =
      "$7\r\nfetched\r\n"
      "$6\r\ncached\r\n"
      "+PONG\r\n"
      "*3\r\n$6\r\ncached\r\n$-1\r\n$6\r\ncached\r\n"
      "$6\r\ncached\r\n";
  CHECK(c.readUntil(expected, 5000ms));
  CHECK(c.pending() == expected);
}
