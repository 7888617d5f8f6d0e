// redge following a Redis master through Redis Sentinel, against real
// processes: a master, a replica and three redis-sentinel on loopback, the
// real redge binary with redis.sentinels set (and a redis.url whose host
// and port lead nowhere, so only the sentinels can have told it where the
// master is), a fake upstream for the relay.
//
// Under a steady load of /set, /get and POST /messages the master is
// SIGKILLed. The sentinels promote the replica; redge must serve again
// within 1 s of the promotion (the measured times are printed), no request
// may hang past the command timeout, every failure in between is the 503
// with Retry-After of a Redis outage, and the failover is one log line and
// one count. The cache proxy's keyspace subscriber must be listening on the
// new master afterwards. A second case starts redge with its first sentinel
// down.

#include "support/redis_sentinel.hpp"

#include <signal.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_upstream_process.hpp"
#include "support/http_client.hpp"
#include "support/load_driver.hpp"
#include "support/metrics_text.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/relay_api.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

constexpr int kCommandTimeoutMs = 500;
// Scheduling noise on a shared 2-core machine.
constexpr double kSlackMs = 1000;
const std::string kMaster = "mymaster";
// Nothing listens there: the sentinels alone say where the master is.
const std::string kNowhereUrl = "redis://127.0.0.1:1/0";

std::vector<std::string> sentinelSettings(const std::vector<std::string>& addresses) {
  std::string list = "[";
  for (size_t i = 0; i < addresses.size(); ++i) {
    list += (i ? ",\"" : "\"") + addresses[i] + "\"";
  }
  list += "]";
  return {"redis.sentinels=" + list, "redis.master_name=" + kMaster,
          "redis.command_timeout_ms=" + std::to_string(kCommandTimeoutMs),
          "redis.connect_timeout_ms=500", "redis.reconnect_max_ms=500"};
}

size_t countLines(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string rawHttpRequest(const std::string& method, const std::string& target,
                           const std::string& body = "") {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: x\r\n";
  if (!body.empty()) {
    r +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return r + "\r\n" + body;
}

}  // namespace

TEST_CASE("sentinel: redge follows a SIGKILLed master to the promoted replica under load",
          "[sentinel]") {
  TempDir master_dir, replica_dir, sentinel_dir, dir;
  // No wait for more replicas before the first sync (Redis waits 5 s by
  // default); keyspace events for the cache proxy's invalidation.
  const std::vector<std::string> common = {"--repl-diskless-sync-delay", "0",
                                           "--notify-keyspace-events", "KA"};
  RedisServer master(master_dir, common);
  std::vector<std::string> replica_args = common;
  replica_args.insert(replica_args.end(),
                      {"--replicaof", "127.0.0.1", std::to_string(master.port())});
  RedisServer replica(replica_dir, replica_args);
  REQUIRE(waitUntil([&] { return replicaLinkUp(replica); }, 5s));
  RedisSentinel s1(sentinel_dir, master.port(), kMaster);
  RedisSentinel s2(sentinel_dir, master.port(), kMaster);
  RedisSentinel s3(sentinel_dir, master.port(), kMaster);
  REQUIRE(sentinelsSettled({&s1, &s2, &s3}, kMaster, 1, 15s));

  FakeUpstreamProcess upstream(dir, {"--latency-ms", "5"});
  std::vector<std::string> settings = sentinelSettings({s1.address(), s2.address(), s3.address()});
  settings.insert(settings.end(), {"relay.queue_max=100000", "relay.queue_recovery=50000",
                                   "cacheproxy.invalidate=keyspace"});
  RedgeProcess redge(dir, kNowhereUrl, relaySettings(upstream, settings), {},
                     RedgeServices{.cache_proxy = true});
  redge.waitUntilReady();
  INFO("redge log:\n" << redge.logText());
  REQUIRE(redge.logText().find("event=sentinel_master master=mymaster address=127.0.0.1:" +
                               std::to_string(master.port())) != std::string::npos);
  CHECK(scrapeMetric(redge, "redge_redis_failovers_total") == 0.0);
  const double flushes_before = scrapeMetric(redge, "redge_cache_flushes_total").value_or(-1);

  const std::string post_body = messageJson("sentinel", "steady load");
  LoadDriver load({{"app GET /set",
                    LoadRequest::Wire::Http,
                    redge.appPort(),
                    rawHttpRequest("GET", "/set"),
                    {200}},
                   {"app GET /get",
                    LoadRequest::Wire::Http,
                    redge.appPort(),
                    rawHttpRequest("GET", "/get"),
                    {200, 404}},
                   {"relay POST /messages",
                    LoadRequest::Wire::Http,
                    redge.appPort(),
                    rawHttpRequest("POST", "/messages", post_body),
                    {202}}},
                  LoadOptions{.workers = 3});
  load.start();
  REQUIRE(waitUntil([&] { return load.count() >= 30; }, 5s));
  const double kill_ms = load.nowMs();
  ::kill(master.pid(), SIGKILL);
  // The replica says it is a master: promoted, not yet announced.
  REQUIRE(waitUntil(
      [&] {
        try {
          RedisValue role = replica.command({"ROLE"});
          return !role.elements.empty() && role.elements[0].str == "master";
        } catch (const std::exception&) {
          return false;
        }
      },
      15s, 2ms));
  const double promoted_ms = load.nowMs();
  // The failover is over when the sentinels name the replica: the leader
  // does so as it announces +switch-master (after seeing the replica report
  // its new role), the others learn it from the leader later.
  REQUIRE(waitUntil(
      [&] {
        for (const RedisSentinel* s : {&s1, &s2, &s3}) {
          if (s->masterPort() == replica.port()) return true;
        }
        return false;
      },
      15s, 1ms));
  const double announced_ms = load.nowMs();
  REQUIRE(redge.waitForLog("event=redis_failover", 5000ms));
  // Load keeps running long enough to see redge settled on the new master.
  std::this_thread::sleep_for(1500ms);
  load.stop();

  const std::vector<LoadOutcome> all = load.outcomes();
  INFO(summarizeLoad(load, all));
  INFO("SIGKILL at " << kill_ms << " ms, replica promoted at " << promoted_ms
                     << " ms, the sentinels named it at " << announced_ms << " ms");

  // Per request kind: the first success after the kill, measured from the
  // end of the sentinels' failover (announced_ms).
  double follow_ms = 0;
  std::string measured;
  for (const LoadRequest& r : load.mix()) {
    double first_ok = -1;
    for (const LoadOutcome& o : all) {
      if (load.mix()[o.request].name != r.name || !o.ok || o.sent_ms < kill_ms) continue;
      if (first_ok < 0 || o.done_ms < first_ok) first_ok = o.done_ms;
    }
    INFO(r.name << ": first success after the kill at " << first_ok << " ms");
    REQUIRE(first_ok >= 0);
    follow_ms = std::max(follow_ms, first_ok - announced_ms);
    measured += r.name + " " + std::to_string(static_cast<long>(first_ok - announced_ms)) + " ms; ";
  }
  WARN("sentinel failover: SIGKILL to promotion "
       << static_cast<long>(promoted_ms - kill_ms) << " ms, to the sentinels naming the replica "
       << static_cast<long>(announced_ms - kill_ms)
       << " ms; redge served again after that: " << measured << summarizeLoad(load, all));
  CHECK(follow_ms <= 1000);

  size_t failures = 0;
  for (const LoadOutcome& o : all) {
    INFO(describeOutcome(load, o));
    CHECK(o.latencyMs() <= kCommandTimeoutMs + kSlackMs);
    if (o.ok) continue;
    ++failures;
    CHECK(o.answered);
    CHECK(o.status == 503);
    CHECK(o.retry_after);
    CHECK((o.error_code == "redis_unavailable" || o.error_code == "redis_timeout"));
    // Only from the kill (a request in flight then included) until redge
    // followed.
    CHECK(o.done_ms >= kill_ms - 100);
    CHECK(o.sent_ms <= announced_ms + 1000);
  }
  CHECK(failures > 0);  // the outage was felt

  // One failover: one line with both addresses, one count.
  const std::string log = redge.logText();
  CHECK(countLines(log, "event=redis_failover") == 1);
  CHECK(log.find(
            "event=redis_failover master=mymaster old=127.0.0.1:" + std::to_string(master.port()) +
            " new=127.0.0.1:" + std::to_string(replica.port())) != std::string::npos);
  CHECK(scrapeMetric(redge, "redge_redis_failovers_total") == 1.0);

  // The keyspace subscriber follows too: it subscribed again (a flush) and
  // a write on the new master reaches the cache proxy long before its TTL.
  CHECK(scrapeMetric(redge, "redge_cache_flushes_total").value_or(0) > flushes_before);
  REQUIRE(replica.command({"SET", "k", "one"}).str == "OK");
  REQUIRE(httpGet(redge.cacheUrl("/k")).body == "one");
  REQUIRE(replica.command({"SET", "k", "two"}).str == "OK");
  CHECK(waitUntil([&] { return httpGet(redge.cacheUrl("/k")).body == "two"; }, 2s));
  CHECK(redge.running());
}

TEST_CASE("sentinel: with the first sentinel down at start, the second names the master",
          "[sentinel]") {
  TempDir master_dir, sentinel_dir, dir;
  RedisServer master(master_dir);
  RedisSentinel live(sentinel_dir, master.port(), kMaster, SentinelTimings{.quorum = 1});
  REQUIRE(waitUntil([&] { return live.masterPort() == master.port(); }, 5s));
  const std::string dead = "127.0.0.1:" + std::to_string(findFreePort());
  RedgeProcess redge(dir, kNowhereUrl, sentinelSettings({dead, live.address()}));
  redge.waitUntilReady();
  INFO("redge log:\n" << redge.logText());
  CHECK(redge.logText().find("event=sentinel_master master=mymaster address=127.0.0.1:" +
                             std::to_string(master.port()) + " sentinel=" + live.address()) !=
        std::string::npos);
  HttpReply set = httpGet(redge.appUrl("/set"));
  CHECK(set.status == 200);
  CHECK(master.command({"DBSIZE"}).integer > 0);
}
