// Keyspace coherence (cacheproxy.invalidate=keyspace): a write made in Redis
// by someone else reaches the proxy's local cache through Redis keyspace
// notifications, fast; and when the subscriber loses Redis and comes back it
// assumes it missed events and flushes everything.
//
// The latency checks poll every 5 ms from the moment Redis acknowledged the
// write; Redis queues the notification before it sends that reply, so the
// clock starts no earlier than the event.

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "support/metrics_text.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

TestStack keyspaceStack(std::vector<std::string> extra = {}) {
  std::vector<std::string> settings = {"cacheproxy.invalidate=keyspace"};
  settings.insert(settings.end(), extra.begin(), extra.end());
  return TestStack(std::move(settings), {}, RedgeServices{.cache_proxy = true});
}

std::string notifyFlags(const TestStack& s) {
  RedisValue v = s.redis.command({"CONFIG", "GET", "notify-keyspace-events"});
  if (v.type != RedisValue::Type::Array || v.elements.size() < 2) return "";
  return v.elements[1].str;
}

// The flags a cache needs: K (keyspace channel), g (DEL, EXPIRE, RENAME...),
// $ (SET and the other string commands), x (a key expiring).
bool hasCacheFlags(const std::string& flags) {
  bool all = flags.find('A') != std::string::npos;
  auto has = [&](char f) { return flags.find(f) != std::string::npos; };
  return has('K') && (all || (has('g') && has('$') && has('x')));
}

// Waits until the subscriber is live and Redis publishes what it needs, so
// that no event of the test itself can be lost to start-up.
void waitForSubscriber(const TestStack& s) {
  REQUIRE(s.redge.waitForLog("event=redis_subscribed", 5000ms));
  REQUIRE(s.redge.waitForLog("event=cache_flushed", 5000ms));
  bool flags = waitUntil([&] { return hasCacheFlags(notifyFlags(s)); }, 3000ms, 10ms);
  INFO("notify-keyspace-events: " << notifyFlags(s));
  REQUIRE(flags);
}

// Milliseconds from now until a read of `target` satisfies `seen`, polling
// every 5 ms; -1 if it never does within `limit`.
long long msUntilSeen(const TestStack& s, const std::string& target,
                      const std::function<bool(const HttpReply&)>& seen,
                      std::chrono::milliseconds limit = 1000ms) {
  auto start = std::chrono::steady_clock::now();
  bool ok = waitUntil([&] { return seen(httpGet(s.cache(target), {}, 1000ms)); }, limit, 5ms);
  return ok ? msSince(start) : -1;
}

// Reads `target` until the proxy answers it from its cache with `value`.
// One read is not always enough: the event for the write that created the
// value travels on the subscriber's connection, and if it lands while the
// proxy's own GET is in flight, that GET's answer is served but not stored.
bool cachedAs(const TestStack& s, const std::string& target, const std::string& value) {
  return waitUntil(
      [&] {
        HttpReply r = httpGet(s.cache(target));
        return r.body == value && r.header("X-Cache") == "HIT";
      },
      2000ms, 10ms);
}

}  // namespace

TEST_CASE("cacheproxy: keyspace invalidation makes Redis writes visible within 100 ms",
          "[cacheproxy][keyspace]") {
  TestStack s = keyspaceStack();
  waitForSubscriber(s);
  CHECK(notifyFlags(s).find('K') != std::string::npos);

  REQUIRE(s.redis.command({"SET", "k", "v1"}).str == "OK");
  REQUIRE(cachedAs(s, "/k", "v1"));

  SECTION("SET") {
    REQUIRE(s.redis.command({"SET", "k", "v2"}).str == "OK");
    long long ms = msUntilSeen(s, "/k", [](const HttpReply& r) { return r.body == "v2"; });
    INFO("new value seen after " << ms << " ms");
    CHECK(ms >= 0);
    CHECK(ms <= 100);
    CHECK(cachedAs(s, "/k", "v2"));
    CHECK(scrapeMetric(s.redge, "redge_cache_invalidations_total").value_or(0) >= 1);
    CHECK(scrapeMetric(s.redge, "redge_cache_keyspace_events_total").value_or(0) >= 1);
  }

  SECTION("DEL") {
    REQUIRE(s.redis.command({"DEL", "k"}).integer == 1);
    long long ms = msUntilSeen(s, "/k", [](const HttpReply& r) { return r.status == 404; });
    INFO("404 seen after " << ms << " ms");
    CHECK(ms >= 0);
    CHECK(ms <= 100);
  }

  SECTION("other writes: APPEND, RENAME away") {
    REQUIRE(s.redis.command({"APPEND", "k", "+more"}).integer == 7);
    long long ms = msUntilSeen(s, "/k", [](const HttpReply& r) { return r.body == "v1+more"; });
    INFO("appended value seen after " << ms << " ms");
    CHECK(ms >= 0);
    CHECK(ms <= 100);
    REQUIRE(cachedAs(s, "/k", "v1+more"));
    REQUIRE(s.redis.command({"RENAME", "k", "k2"}).type == RedisValue::Type::Status);
    ms = msUntilSeen(s, "/k", [](const HttpReply& r) { return r.status == 404; });
    INFO("404 after RENAME seen after " << ms << " ms");
    CHECK(ms >= 0);
    CHECK(ms <= 100);
  }

  SECTION("EXPIRE") {
    auto expire_at = std::chrono::steady_clock::now();
    REQUIRE(s.redis.command({"EXPIRE", "k", "1"}).integer == 1);
    // Until Redis drops it, the key still reads (and is cached again).
    HttpReply still = httpGet(s.cache("/k"));
    CHECK(still.status == 200);
    CHECK(still.body == "v1");
    long long ms = msUntilSeen(
        s, "/k", [](const HttpReply& r) { return r.status == 404; }, 3000ms);
    long long since_expire = msSince(expire_at);
    INFO("404 seen " << since_expire << " ms after EXPIRE");
    CHECK(ms >= 0);
    CHECK(since_expire >= 900);
    // Redis's active expiry finds the key within a few of its 100 ms cycles.
    CHECK(since_expire <= 1600);
  }
}

TEST_CASE("cacheproxy: after Redis restarts the subscriber reconnects and flushes the cache",
          "[cacheproxy][keyspace][redis]") {
  TestStack s = keyspaceStack({"redis.reconnect_max_ms=300"});
  waitForSubscriber(s);
  REQUIRE(s.redis.command({"SET", "k", "before"}).str == "OK");
  REQUIRE(cachedAs(s, "/k", "before"));
  double flushes_before = scrapeMetric(s.redge, "redge_cache_flushes_total").value_or(-1);
  REQUIRE(flushes_before >= 1);

  // A change the proxy cannot hear about: notifications off, the new value
  // saved to disk, then a restart that loads it. Only the flush on
  // reconnection can make the proxy read it again.
  REQUIRE(s.redis.command({"CONFIG", "SET", "notify-keyspace-events", ""}).str == "OK");
  REQUIRE(s.redis.command({"SET", "k", "after"}).str == "OK");
  HttpReply stale = httpGet(s.cache("/k"));
  CHECK(stale.body == "before");
  CHECK(stale.header("X-Cache") == "HIT");
  REQUIRE(s.redis.command({"SAVE"}).str == "OK");

  s.redis.stop();
  s.redis.start();
  REQUIRE(s.redis.command({"GET", "k"}).str == "after");

  bool flushed = waitUntil(
      [&] {
        return scrapeMetric(s.redge, "redge_cache_flushes_total").value_or(0) > flushes_before;
      },
      5000ms, 20ms);
  REQUIRE(flushed);
  HttpReply fresh;
  bool served = waitUntil(
      [&] {
        fresh = httpGet(s.cache("/k"));
        return fresh.status == 200;
      },
      5000ms, 20ms);
  REQUIRE(served);
  CHECK(fresh.body == "after");
  CHECK(fresh.header("X-Cache") == "MISS");

  // The restarted Redis had default settings; redge turned notifications
  // back on, and writes are seen promptly again.
  bool flags = waitUntil([&] { return hasCacheFlags(notifyFlags(s)); }, 3000ms, 20ms);
  INFO("notify-keyspace-events after restart: " << notifyFlags(s));
  CHECK(flags);
  REQUIRE(cachedAs(s, "/k", "after"));
  REQUIRE(s.redis.command({"SET", "k", "again"}).str == "OK");
  long long ms = msUntilSeen(s, "/k", [](const HttpReply& r) { return r.body == "again"; });
  INFO("write after restart seen after " << ms << " ms");
  CHECK(ms >= 0);
  CHECK(ms <= 100);
}

TEST_CASE("cacheproxy: with invalidate=none Redis's notification settings are left alone",
          "[cacheproxy][keyspace]") {
  TestStack s({"cacheproxy.invalidate=none"}, {}, RedgeServices{.cache_proxy = true});
  REQUIRE(s.redis.command({"SET", "k", "v"}).str == "OK");
  REQUIRE(httpGet(s.cache("/k")).status == 200);
  CHECK(notifyFlags(s).empty());
  // No keyspace subscription (the flags module's own channel is another).
  CHECK(s.redge.logText().find("event=redis_subscribed client=keyspace") == std::string::npos);
}
