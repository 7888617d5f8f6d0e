// Replica reads and replicated relay durability, against real processes: a
// master and a replica (redis.replica_url, no sentinels), the real redge
// binary, a fake upstream for the relay.
//
// - redis.read_from=replica: the cache proxy's misses, /recent and the
//   relay's listing are answered by the replica (its INFO commandstats
//   count them, the master's do not); the replica frozen with SIGSTOP, a
//   read is answered by the master within the command timeout, the loss is
//   one log line however many reads follow; SIGCONT brings reads back.
// - relay.durability=replicated: 202 only once the replica has the message
//   (it is on the replica when the client reads the answer); the replica
//   frozen, 503 not_replicated within the replication timeout, with the
//   id of the message, which the master does keep.
// - With sentinels: the replica is one SENTINEL replicas lists; when it
//   dies, reads are answered meanwhile and move to the other replica once
//   the sentinels call it down.

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "support/fake_upstream_process.hpp"
#include "support/http_client.hpp"
#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/redge_process.hpp"
#include "support/redis_sentinel.hpp"
#include "support/redis_server.hpp"
#include "support/relay_api.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

constexpr int kCommandTimeoutMs = 1000;
// Scheduling noise on a shared 2-core machine.
constexpr double kSlackMs = 300;

// calls=N of cmdstat_<command> in INFO commandstats; 0 when never called.
long long commandCalls(const RedisServer& server, const std::string& command) {
  std::string info = server.command({"INFO", "commandstats"}).str;
  std::string needle = "cmdstat_" + command + ":calls=";
  size_t at = info.find(needle);
  if (at == std::string::npos) return 0;
  return std::stoll(info.substr(at + needle.size()));
}

size_t countLines(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A master and its replica, linked, with the replica's copy of every key
// checked before a test relies on it.
struct ReplicatedPair {
  ReplicatedPair()
      : master(master_dir, {"--repl-diskless-sync-delay", "0"}),
        replica(replica_dir, {"--repl-diskless-sync-delay", "0", "--replicaof", "127.0.0.1",
                              std::to_string(master.port())}) {
    REQUIRE(waitUntil([&] { return replicaLinkUp(replica); }, 5s));
    // After a diskless sync the master counts the replica (for WAIT) only
    // once its first REPLCONF ACK arrives, up to a second later.
    REQUIRE(waitUntil(
        [&] {
          return master.command({"INFO", "replication"}).str.find("state=online") !=
                 std::string::npos;
        },
        5s));
    // And acks writes: the replica has loaded what the sync sent and follows
    // the stream (under load that can come after "online").
    REQUIRE(master.command({"SET", "replica-test:warm", "1"}).str == "OK");
    REQUIRE(waitUntil([&] { return master.command({"WAIT", "1", "1000"}).integer == 1; }, 10s));
  }
  // SET on the master, then wait until the replica has the value.
  void set(const std::string& key, const std::string& value) {
    REQUIRE(master.command({"SET", key, value}).str == "OK");
    REQUIRE(waitUntil([&] { return replica.command({"GET", key}).str == value; }, 2s));
  }

  TempDir master_dir, replica_dir;
  RedisServer master;
  RedisServer replica;
};

}  // namespace

TEST_CASE("replica reads: misses, /recent and the listing read the replica, SIGSTOP falls back",
          "[replica]") {
  ReplicatedPair redis;
  TempDir dir;
  FakeUpstreamProcess upstream(dir);
  RedgeProcess redge(
      dir, redis.master,
      relaySettings(upstream,
                    {"redis.read_from=replica", "redis.replica_url=" + redis.replica.url(),
                     "redis.command_timeout_ms=" + std::to_string(kCommandTimeoutMs),
                     "redis.connect_timeout_ms=1000"}),
      {}, RedgeServices{.cache_proxy = true});
  redge.waitUntilReady();
  INFO("redge log:\n" << redge.logText());
  REQUIRE(redge.waitForLog(
      "event=redis_replica_ready target=127.0.0.1:" + std::to_string(redis.replica.port()),
      5000ms));

  // The cache proxy's miss.
  redis.set("k1", "one");
  // Counted by redge, not by the master's commandstats: scripts that run
  // there now and then (the flag store's reload, a lease) call GET too.
  const double master_reads =
      scrapeMetric(redge, "redge_redis_reads_total{server=\"master\"}").value_or(0);
  const long long replica_gets = commandCalls(redis.replica, "get");
  HttpReply got = httpGet(redge.cacheUrl("/k1"));
  CHECK(got.status == 200);
  CHECK(got.body == "one");
  CHECK(got.header("X-Cache") == "MISS");
  CHECK(commandCalls(redis.replica, "get") == replica_gets + 1);
  CHECK(scrapeMetric(redge, "redge_redis_reads_total{server=\"master\"}").value_or(0) ==
        master_reads);
  CHECK(scrapeMetric(redge, "redge_redis_replica_fallbacks_total").value_or(0) == 0);

  // /recent: the visits are written on the master, read on the replica.
  httpGet(redge.appUrl("/visited-page"));
  REQUIRE(waitUntil(
      [&] {
        RedisValue list = redis.replica.command({"LRANGE", "redge:app:recent", "0", "-1"});
        for (const RedisValue& v : list.elements) {
          if (v.str == "/visited-page") return true;
        }
        return false;
      },
      2s));
  const long long master_lranges = commandCalls(redis.master, "lrange");
  HttpReply recent = httpGet(redge.appUrl("/recent"), {"Accept: application/json"});
  CHECK(recent.status == 200);
  CHECK(recent.body.find("/visited-page") != std::string::npos);
  CHECK(commandCalls(redis.replica, "lrange") >= 1);
  CHECK(commandCalls(redis.master, "lrange") == master_lranges);

  // The relay's listing: written on the master, listed from the replica.
  HttpReply posted = postMessage(redge, "replica", "listed");
  REQUIRE(posted.status == 202);
  auto id = jsonString(posted.body, "id");
  REQUIRE(id);
  REQUIRE(waitUntil(
      [&] {
        return redis.replica.command({"EXISTS", "redge:relay:msg:" + *id}).integer == 1;
      },
      2s));
  const long long master_zrevranges = commandCalls(redis.master, "zrevrange");
  HttpReply listing = httpGet(redge.appUrl("/messages"));
  CHECK(listing.status == 200);
  CHECK(listing.body.find(*id) != std::string::npos);
  CHECK(commandCalls(redis.replica, "zrevrange") >= 1);
  CHECK(commandCalls(redis.master, "zrevrange") == master_zrevranges);
  CHECK(scrapeMetric(redge, "redge_redis_reads_total{server=\"replica\"}").value_or(0) >= 3);
  CHECK(scrapeMetric(redge, "redge_redis_replica_up") == 1.0);

  // Frozen: the first read waits out the replica's share of the command
  // timeout and is answered by the master; the next ones go straight there.
  redis.set("k2", "two");
  redis.set("k3", "three");
  redis.set("k4", "four");
  redis.replica.pause();
  auto t0 = std::chrono::steady_clock::now();
  HttpReply k2 = httpGet(redge.cacheUrl("/k2"));
  const double first_ms = msSince(t0);
  CHECK(k2.status == 200);
  CHECK(k2.body == "two");
  CHECK(first_ms <= kCommandTimeoutMs + kSlackMs);
  auto t1 = std::chrono::steady_clock::now();
  HttpReply k3 = httpGet(redge.cacheUrl("/k3"));
  const double second_ms = msSince(t1);
  CHECK(k3.body == "three");
  CHECK(second_ms < kCommandTimeoutMs / 2);
  HttpReply recent_paused = httpGet(redge.appUrl("/recent"), {"Accept: application/json"});
  CHECK(recent_paused.status == 200);
  WARN("replica frozen: first read answered by the master after "
       << static_cast<long>(first_ms) << " ms, the next after " << static_cast<long>(second_ms)
       << " ms (command timeout " << kCommandTimeoutMs << " ms)");
  CHECK(scrapeMetric(redge, "redge_redis_replica_fallbacks_total").value_or(0) >= 1);
  CHECK(scrapeMetric(redge, "redge_redis_replica_up") == 0.0);
  CHECK(countLines(redge.logText(), "event=redis_replica_lost") == 1);

  // Thawed: reads return to the replica.
  redis.replica.resume();
  REQUIRE(redge.waitForLog("event=redis_replica_back", 5000ms));
  const long long replica_gets_back = commandCalls(redis.replica, "get");
  HttpReply k4 = httpGet(redge.cacheUrl("/k4"));
  CHECK(k4.body == "four");
  CHECK(commandCalls(redis.replica, "get") == replica_gets_back + 1);
  CHECK(countLines(redge.logText(), "event=redis_replica_lost") == 1);
  CHECK(redge.running());
}

TEST_CASE("relay durability=replicated: 202 once a replica has it, else 503 not_replicated",
          "[replica]") {
  ReplicatedPair redis;
  TempDir dir;
  FakeUpstreamProcess upstream(dir, {"--latency-ms", "5"});
  constexpr int kReplicationTimeoutMs =
      500;  // the most command_timeout_ms allows: slack for a loaded machine
  RedgeProcess redge(
      dir, redis.master,
      relaySettings(upstream,
                    {"relay.durability=replicated",
                     "relay.replication_timeout_ms=" + std::to_string(kReplicationTimeoutMs),
                     "redis.command_timeout_ms=" + std::to_string(kCommandTimeoutMs),
                     "relay.queue_max=1000", "relay.queue_recovery=500"}));
  redge.waitUntilReady();
  INFO("redge log:\n" << redge.logText());
  REQUIRE(waitUntil(
      [&] { return scrapeMetric(redge, "redge_redis_connected{client=\"relay_durable\"}") == 1.0; },
      5s));

  // Acked: the replica has the message by the time the client reads 202. A
  // busy machine can hold the replica's ack past the timeout: the client
  // then does what the 503 tells it, retries with the same key (at most 5
  // times), and gets the same id.
  int not_acked = 0;
  for (int i = 0; i < 5; ++i) {
    const std::string key = "acked-" + std::to_string(i);
    HttpReply r = postMessage(redge, "replicated", "acked " + std::to_string(i), key);
    std::optional<std::string> first_id = jsonString(r.body, "id");
    bool retried = false;
    for (int retry = 0; r.status == 503 && retry < 5; ++retry) {
      retried = true;
      CHECK(errorCode(r.body) == "not_replicated");
      ++not_acked;
      r = postMessage(redge, "replicated", "acked " + std::to_string(i), key);
      CHECK(jsonString(r.body, "id") == first_id);
    }
    INFO(r.body);
    // 202 the first time; after a retry 200, the key's message confirmed.
    REQUIRE(r.status == (retried ? 200 : 202));
    auto id = jsonString(r.body, "id");
    REQUIRE(id);
    CHECK(redis.replica.command({"EXISTS", "redge:relay:msg:" + *id}).integer == 1);
  }
  CHECK(scrapeMetric(redge, "redge_relay_replication_total{result=\"acked\"}") == 5.0);
  CHECK(
      scrapeMetric(redge, "redge_relay_replication_total{result=\"not_replicated\"}").value_or(0) ==
      not_acked);

  // No replica acks: 503 within the timeout, the message kept by the master.
  const size_t lines_before = countLines(redge.logText(), "event=relay_not_replicated");
  redis.replica.pause();
  auto t0 = std::chrono::steady_clock::now();
  HttpReply r = postMessage(redge, "replicated", "unconfirmed", "key-1");
  const double ms = msSince(t0);
  INFO(r.body);
  CHECK(r.status == 503);
  CHECK(jsonString(r.body, "error") == "not_replicated");
  CHECK(r.header("Retry-After") == "1");
  CHECK(jsonString(r.body, "message").value_or("").find("Idempotency-Key") != std::string::npos);
  CHECK(ms >= kReplicationTimeoutMs - 50);
  CHECK(ms <= kReplicationTimeoutMs + kSlackMs);
  auto id = jsonString(r.body, "id");
  REQUIRE(id);
  CHECK(redis.master.command({"EXISTS", "redge:relay:msg:" + *id}).integer == 1);
  // The same Idempotency-Key answers the same id, and is not replicated either.
  HttpReply again = postMessage(redge, "replicated", "unconfirmed", "key-1");
  CHECK(again.status == 503);
  CHECK(jsonString(again.body, "id") == *id);
  CHECK(scrapeMetric(redge, "redge_relay_replication_total{result=\"not_replicated\"}") ==
        2.0 + not_acked);
  CHECK(scrapeMetric(redge, "redge_http_errors_total{service=\"app\",code=\"not_replicated\"}")
            .value_or(0) >= 2);
  CHECK(countLines(redge.logText(), "event=relay_not_replicated") == lines_before + 1);
  // Other routes do not wait behind the blocked WAIT: the shared connection is free.
  auto t1 = std::chrono::steady_clock::now();
  CHECK(httpGet(redge.appUrl("/set")).status == 200);
  CHECK(msSince(t1) < kReplicationTimeoutMs);

  // Back: the retry with the same key is a confirmed duplicate.
  redis.replica.resume();
  REQUIRE(waitUntil([&] { return replicaLinkUp(redis.replica); }, 5s));
  HttpReply retried = postMessage(redge, "replicated", "unconfirmed", "key-1");
  CHECK(retried.status == 200);
  CHECK(jsonString(retried.body, "id") == *id);
  CHECK(redge.waitForLog("event=relay_replicated", 2000ms));
  CHECK(redge.running());
}

TEST_CASE(
    "relay durability=replicated: relay.replication_acks=2 with one replica is 503, saying 1 of 2",
    "[replica]") {
  ReplicatedPair redis;
  TempDir dir;
  FakeUpstreamProcess upstream(dir, {"--latency-ms", "5"});
  RedgeProcess redge(
      dir, redis.master,
      relaySettings(upstream, {"relay.durability=replicated", "relay.replication_timeout_ms=500",
                               "redis.command_timeout_ms=" + std::to_string(kCommandTimeoutMs),
                               "relay.replication_acks=2", "relay.queue_max=1000",
                               "relay.queue_recovery=500"}));
  redge.waitUntilReady();
  INFO("redge log:\n" << redge.logText());
  REQUIRE(waitUntil(
      [&] { return scrapeMetric(redge, "redge_redis_connected{client=\"relay_durable\"}") == 1.0; },
      5s));
  // One replica can never make two acks: 503 every time. The one replica
  // acks (it has the message); a busy machine can hold that ack past a
  // timeout, so the client retries with the same key, as the 503 says, until
  // the answer counts it (at most 5 times).
  std::optional<int64_t> acked;
  HttpReply r;
  for (int attempt = 0; attempt < 5 && acked != 1; ++attempt) {
    r = postMessage(redge, "replicated", "needs two", "two-1");
    INFO(r.body);
    REQUIRE(r.status == 503);
    CHECK(errorCode(r.body) == "not_replicated");
    acked = jsonInt(r.body, "replicas_acked");
    REQUIRE(acked);
    CHECK(jsonString(r.body, "message")
              .value_or("")
              .find(std::to_string(*acked) +
                    " of the 2 replicas relay.replication_acks asks for confirmed it") !=
          std::string::npos);
  }
  CHECK(acked == 1);
  auto id = jsonString(r.body, "id");
  REQUIRE(id);
  CHECK(waitUntil(
      [&] {
        return redis.replica.command({"EXISTS", "redge:relay:msg:" + *id}).integer == 1;
      },
      5s));
  CHECK(scrapeMetric(redge, "redge_relay_replication_total{result=\"acked\"}").value_or(0) == 0);
}

TEST_CASE("replica reads with sentinels: a replica from SENTINEL replicas, another after its loss",
          "[replica][sentinel]") {
  TempDir master_dir, a_dir, b_dir, sentinel_dir, dir;
  const std::vector<std::string> common = {"--repl-diskless-sync-delay", "0"};
  RedisServer master(master_dir, common);
  const std::vector<std::string> replica_args = replicaArgs(master, common);
  RedisServer a(a_dir, replica_args);
  RedisServer b(b_dir, replica_args);
  REQUIRE(waitUntil([&] { return replicaLinkUp(a) && replicaLinkUp(b); }, 5s));
  RedisSentinel s1(sentinel_dir, master.port(), "mymaster");
  RedisSentinel s2(sentinel_dir, master.port(), "mymaster");
  RedisSentinel s3(sentinel_dir, master.port(), "mymaster");
  REQUIRE(sentinelsSettled({&s1, &s2, &s3}, "mymaster", 2, 15s));

  RedgeProcess redge(dir, "redis://127.0.0.1:1/0",
                     {"redis.sentinels=[\"" + s1.address() + "\",\"" + s2.address() + "\",\"" +
                          s3.address() + "\"]",
                      "redis.master_name=mymaster", "redis.read_from=replica",
                      "redis.command_timeout_ms=" + std::to_string(kCommandTimeoutMs)},
                     {}, RedgeServices{.cache_proxy = true});
  redge.waitUntilReady();
  INFO("redge log:\n" << redge.logText());
  REQUIRE(redge.waitForLog("event=redis_replica_ready", 5000ms));
  const bool on_a = redge.logText().find("event=redis_replica_ready target=127.0.0.1:" +
                                         std::to_string(a.port())) != std::string::npos;
  RedisServer& chosen = on_a ? a : b;
  RedisServer& other = on_a ? b : a;

  auto setEverywhere = [&](const std::string& key, const std::string& value) {
    REQUIRE(master.command({"SET", key, value}).str == "OK");
    REQUIRE(waitUntil(
        [&] {
          return a.command({"GET", key}).str == value && b.command({"GET", key}).str == value;
        },
        2s));
  };
  setEverywhere("k1", "one");
  const long long chosen_gets = commandCalls(chosen, "get");
  CHECK(httpGet(redge.cacheUrl("/k1")).body == "one");
  CHECK(commandCalls(chosen, "get") == chosen_gets + 1);

  // The chosen replica dies: reads are answered meanwhile, then move to the
  // other one once the sentinels call it down.
  for (int i = 0; i < 20; ++i) setEverywhere("k" + std::to_string(i + 2), "v");
  ::kill(chosen.pid(), SIGKILL);
  int n = 2;
  CHECK(waitUntil(
      [&] {
        const long long before = commandCalls(other, "get");
        auto t = std::chrono::steady_clock::now();
        HttpReply r = httpGet(redge.cacheUrl("/k" + std::to_string(n++)));
        CHECK(r.status == 200);
        CHECK(r.body == "v");
        CHECK(msSince(t) <= kCommandTimeoutMs + kSlackMs);
        return commandCalls(other, "get") > before;
      },
      10s, 200ms));
  CHECK(
      redge.waitForLog("event=redis_replica_moved old=127.0.0.1:" + std::to_string(chosen.port()) +
                           " new=127.0.0.1:" + std::to_string(other.port()),
                       1000ms));
  CHECK(redge.running());
}
