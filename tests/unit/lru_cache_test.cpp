// LruCache: expiry on the injected clock, eviction order, capacity edge
// cases, replacement, erase, and the index staying consistent under churn.

#include "services/cacheproxy/lru_cache.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>

#include "core/clock.hpp"

using redge::LruCache;
using redge::ManualClock;

namespace {
std::string valueOf(LruCache& c, const std::string& key) {
  LruCache::Hit hit;
  return c.get(key, hit) ? std::string(hit.value) : std::string("<miss>");
}
}  // namespace

TEST_CASE("lru: get returns what put stored, with its age", "[lru]") {
  ManualClock clock;
  LruCache c(clock, 3, 1000);
  c.put("a", "1");
  clock.advanceMs(250);
  LruCache::Hit hit;
  REQUIRE(c.get("a", hit));
  CHECK(hit.value == "1");
  CHECK(hit.age_ms == 250);
  CHECK_FALSE(c.get("b", hit));
  CHECK(c.stats().hits == 1);
  CHECK(c.stats().misses == 1);
}

TEST_CASE("lru: an entry expires ttl_ms after it was stored, not after it was read", "[lru]") {
  ManualClock clock;
  LruCache c(clock, 10, 1000);
  c.put("k", "v");
  clock.advanceMs(999);
  CHECK(valueOf(c, "k") == "v");  // reading does not extend its life
  clock.advanceMs(1);
  CHECK(valueOf(c, "k") == "<miss>");
  CHECK(c.size() == 0);
  CHECK(c.stats().expirations == 1);
  // Stored again, it lives again.
  c.put("k", "v2");
  clock.advanceMs(500);
  CHECK(valueOf(c, "k") == "v2");
}

TEST_CASE("lru: ttl 0 stores nothing", "[lru]") {
  ManualClock clock;
  LruCache c(clock, 10, 0);
  c.put("k", "v");
  CHECK(c.size() == 0);
  CHECK(valueOf(c, "k") == "<miss>");
}

TEST_CASE("lru: the least recently read key is evicted when full", "[lru]") {
  ManualClock clock;
  LruCache c(clock, 3, 60000);
  c.put("a", "1");
  c.put("b", "2");
  c.put("c", "3");
  CHECK(valueOf(c, "a") == "1");  // a is now the most recent; b the least
  c.put("d", "4");
  CHECK(valueOf(c, "b") == "<miss>");
  CHECK(valueOf(c, "a") == "1");
  CHECK(valueOf(c, "c") == "3");
  CHECK(valueOf(c, "d") == "4");
  CHECK(c.stats().evictions == 1);
  CHECK(c.size() == 3);
  auto order = c.keysByRecency();
  REQUIRE(order.size() == 3);
  CHECK(order[0] == "d");
  CHECK(order[1] == "c");
  CHECK(order[2] == "a");
}

TEST_CASE("lru: capacity 1 keeps only the newest", "[lru]") {
  ManualClock clock;
  LruCache c(clock, 1, 60000);
  c.put("a", "1");
  c.put("b", "2");
  CHECK(valueOf(c, "a") == "<miss>");
  CHECK(valueOf(c, "b") == "2");
  c.put("b", "3");  // replacing the only key evicts nothing
  CHECK(valueOf(c, "b") == "3");
  CHECK(c.stats().evictions == 1);
  CHECK(c.size() == 1);
}

TEST_CASE("lru: updating an existing key replaces value, resets age, makes it most recent",
          "[lru]") {
  ManualClock clock;
  LruCache c(clock, 2, 1000);
  c.put("a", "old");
  c.put("b", "x");
  clock.advanceMs(900);
  c.put("a", "a much longer new value");
  CHECK(c.size() == 2);
  CHECK(c.bytes() == 1 + 23 + 1 + 1);
  clock.advanceMs(200);  // b expired (1100 ms), a is 200 ms old
  CHECK(valueOf(c, "b") == "<miss>");
  LruCache::Hit hit;
  REQUIRE(c.get("a", hit));
  CHECK(hit.value == "a much longer new value");
  CHECK(hit.age_ms == 200);
  c.put("c", "y");
  CHECK(c.stats().evictions == 0);  // b had already gone
}

TEST_CASE("lru: erase and clear", "[lru]") {
  ManualClock clock;
  LruCache c(clock, 4, 60000);
  c.put("a", "1");
  c.put("b", "2");
  CHECK(c.erase("a"));
  CHECK_FALSE(c.erase("a"));
  CHECK(valueOf(c, "a") == "<miss>");
  CHECK(valueOf(c, "b") == "2");
  c.clear();
  CHECK(c.size() == 0);
  CHECK(c.bytes() == 0);
  CHECK(valueOf(c, "b") == "<miss>");
  c.put("b", "again");
  CHECK(valueOf(c, "b") == "again");
}

TEST_CASE("lru: keys and values are arbitrary bytes", "[lru]") {
  ManualClock clock;
  LruCache c(clock, 4, 60000);
  std::string key("a\0b", 3), value("\0\xff\r\n", 4);
  c.put(key, value);
  c.put("", "empty key");
  CHECK(valueOf(c, key) == value);
  CHECK(valueOf(c, std::string("a")) == "<miss>");
  CHECK(valueOf(c, "") == "empty key");
}

TEST_CASE("lru: matches a simple model under random churn", "[lru]") {
  // A reference model (map + recency counter) and the cache must agree on
  // every get, across puts, erases, evictions and expiries.
  ManualClock clock;
  const size_t capacity = 50;
  LruCache c(clock, capacity, 400);
  struct ModelEntry {
    std::string value;
    int64_t stored;
    uint64_t last_read;
  };
  std::map<std::string, ModelEntry> model;
  uint64_t tick = 0;
  std::mt19937 rng(7);
  for (int step = 0; step < 20000; ++step) {
    std::string key = "k";
    key += std::to_string(rng() % 120);
    int op = static_cast<int>(rng() % 10);
    clock.advanceMs(rng() % 3);
    // Expire in the model exactly as the cache does: lazily, on access.
    if (op < 5) {
      LruCache::Hit hit;
      bool got = c.get(key, hit);
      auto it = model.find(key);
      bool want = it != model.end() && clock.nowMs() - it->second.stored < 400;
      if (it != model.end() && !want) model.erase(it);
      REQUIRE(got == want);
      if (got) {
        REQUIRE(hit.value == model[key].value);
        model[key].last_read = ++tick;
      }
    } else if (op < 9) {
      std::string value = "v";
      value += std::to_string(step);
      c.put(key, value);
      if (!model.count(key) && model.size() >= capacity) {
        auto victim = model.begin();
        for (auto it = model.begin(); it != model.end(); ++it) {
          if (it->second.last_read < victim->second.last_read) victim = it;
        }
        model.erase(victim);
      }
      model[key] = {value, clock.nowMs(), ++tick};
    } else {
      bool erased = c.erase(key);
      REQUIRE(erased == (model.erase(key) == 1));
    }
    REQUIRE(c.size() == model.size());
    REQUIRE(c.size() <= capacity);
  }
}

TEST_CASE("lru: a bytes bound evicts the least recently read until the new entry fits", "[lru]") {
  ManualClock clock;
  LruCache c(clock, 100, 1000, 10);  // 10 key + value bytes
  REQUIRE(c.put("a", "1234"));       // 5 bytes
  REQUIRE(c.put("b", "1234"));       // 10
  LruCache::Hit hit;
  REQUIRE(c.get("a", hit));  // b is now the least recently read
  REQUIRE(c.put("c", "12"));
  CHECK(valueOf(c, "b") == "<miss>");
  CHECK(valueOf(c, "a") == "1234");
  CHECK(valueOf(c, "c") == "12");
  CHECK(c.bytes() == 8);
  CHECK(c.stats().evictions == 1);
  // Larger than the bound on its own: not stored, and nothing evicted for it.
  CHECK_FALSE(c.put("d", "1234567890"));
  CHECK(c.size() == 2);
  CHECK(c.stats().evictions == 1);
}

TEST_CASE("lru: eraseIf removes exactly the keys it accepts", "[lru]") {
  ManualClock clock;
  LruCache c(clock, 10, 1000);
  c.put("/a", "1");
  c.put("/a?x=1", "2");
  c.put("/ab", "3");
  c.put("/b", "4");
  size_t n = c.eraseIf([](std::string_view k) { return k == "/a" || k.starts_with("/a?"); });
  CHECK(n == 2);
  CHECK(c.size() == 2);
  CHECK(valueOf(c, "/ab") == "3");
  CHECK(valueOf(c, "/b") == "4");
  CHECK(c.stats().invalidations == 2);
}

namespace {
// "k17": appended rather than "k" + std::to_string(i), which GCC 12 misreads
// as an overlapping memcpy (-Wrestrict).
std::string numbered(const char* prefix, int i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}
}  // namespace

TEST_CASE("lru: a smaller capacity evicts the least recently read at once", "[lru][reload]") {
  ManualClock clock;
  LruCache c(clock, 100, 60000);
  for (int i = 0; i < 50; ++i) c.put(numbered("k", i), std::to_string(i));
  CHECK(valueOf(c, "k3") == "3");  // read: now the most recent
  c.setCapacity(2);
  CHECK(c.size() == 2);
  CHECK(c.capacity() == 2);
  CHECK(c.stats().evictions == 48);
  auto order = c.keysByRecency();
  REQUIRE(order.size() == 2);
  CHECK(order[0] == "k3");
  CHECK(order[1] == "k49");
  CHECK(valueOf(c, "k0") == "<miss>");
  c.put("new", "n");  // full: k49 goes
  CHECK(valueOf(c, "k49") == "<miss>");
  CHECK(valueOf(c, "k3") == "3");
  CHECK(valueOf(c, "new") == "n");
}

TEST_CASE("lru: a larger capacity keeps every entry findable and holds more", "[lru][reload]") {
  ManualClock clock;
  LruCache c(clock, 4, 60000);
  for (int i = 0; i < 4; ++i) c.put(numbered("k", i), std::to_string(i));
  c.setCapacity(1000);  // the index grows from 8 slots to 2048
  for (int i = 0; i < 4; ++i) CHECK(valueOf(c, numbered("k", i)) == std::to_string(i));
  for (int i = 4; i < 1000; ++i) c.put(numbered("k", i), std::to_string(i));
  CHECK(c.size() == 1000);
  CHECK(c.stats().evictions == 0);
  for (int i = 0; i < 1000; i += 97) {
    CHECK(valueOf(c, numbered("k", i)) == std::to_string(i));
  }
  c.setCapacity(3);  // and shrinks back
  CHECK(c.size() == 3);
  for (int i = 0; i < 3000; ++i) {
    c.put(numbered("x", i % 7), "v");
    CHECK(c.size() <= 3);
  }
}

TEST_CASE("lru: a new ttl applies to entries already stored", "[lru][reload]") {
  ManualClock clock;
  LruCache c(clock, 10, 10000);
  c.put("k", "v");
  clock.advanceMs(600);
  CHECK(valueOf(c, "k") == "v");
  c.setTtlMs(500);
  CHECK(c.ttlMs() == 500);
  CHECK(valueOf(c, "k") == "<miss>");  // stored 600 ms ago: past the new ttl
  c.setTtlMs(0);
  c.put("k", "v");
  CHECK(c.size() == 0);  // ttl 0 stores nothing, as at start
}
