// hash (consistent hashing on a ring of virtual nodes), over 10,000 keys: a
// member leaving, whether removed or ineligible, moves only the keys it held;
// one joining takes only its share; weights set the shares; a retry goes to
// the member the key would move to; every instance agrees whatever its table
// order.

#include "upstream/consistent_hash.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

namespace redge {

namespace {

constexpr int kKeys = 10000;

struct Pool {
  std::vector<std::string> names;
  std::vector<Member> table;

  explicit Pool(size_t n) {
    for (size_t i = 0; i < n; ++i) names.push_back("10.0.0." + std::to_string(i + 1) + ":8080");
    rebuildTable();
  }
  void rebuildTable() {
    table.clear();
    for (size_t i = 0; i < names.size(); ++i) {
      Member m;
      m.index = static_cast<uint32_t>(i);
      m.eligible = true;
      m.name = names[i];
      table.push_back(m);
    }
  }
};

std::string key(int i) {
  return "user-" + std::to_string(i);
}

// Key number -> the name of the member it goes to.
std::vector<std::string> mapping(ConsistentHash& lb, const Pool& pool) {
  std::vector<std::string> out;
  for (int i = 0; i < kKeys; ++i) {
    std::string k = key(i);
    PickContext ctx;
    ctx.hash_key = k;
    auto pick = lb.pick(ctx);
    REQUIRE(pick.has_value());
    out.push_back(pool.names[*pick]);
  }
  return out;
}

}  // namespace

TEST_CASE("hash: the same key always goes to the same member", "[load_balancer][hash]") {
  Pool pool(5);
  ConsistentHash lb;
  lb.setMembers(pool.table);
  CHECK(lb.ringPoints() == 5 * ConsistentHash::kPointsPerWeight);
  auto first = mapping(lb, pool);
  CHECK(mapping(lb, pool) == first);
  std::map<std::string, int> share;
  for (const auto& n : first) ++share[n];
  CHECK(share.size() == 5);
  for (const auto& [name, count] : share) {
    CHECK(count > 1400);  // 2000 each on average
    CHECK(count < 2600);
  }
}

TEST_CASE("hash: a key goes to the owner of the first point at or after its hash",
          "[load_balancer][hash]") {
  // A reference ring built here, point by point, and searched linearly.
  for (size_t n : {1, 3, 40}) {
    Pool pool(n);
    pool.table[0].weight = 2;
    ConsistentHash lb;
    lb.setMembers(pool.table);
    std::vector<std::pair<uint64_t, uint32_t>> ring;
    for (const Member& m : pool.table) {
      for (uint32_t r = 0; r < m.weight * ConsistentHash::kPointsPerWeight; ++r) {
        std::string label = std::string(m.name) + "#" + std::to_string(r);
        ring.emplace_back(ConsistentHash::hash(label), m.index);
      }
    }
    std::sort(ring.begin(), ring.end());
    REQUIRE(lb.ringPoints() == ring.size());
    int wrapped = 0;
    for (int i = 0; i < 2000; ++i) {
      std::string k = key(i);
      uint64_t h = ConsistentHash::hash(k);
      uint32_t expected = ring.front().second;  // past the last point: wrap around
      if (h > ring.back().first) ++wrapped;
      for (const auto& [point, member] : ring) {
        if (point >= h) {
          expected = member;
          break;
        }
      }
      PickContext ctx;
      ctx.hash_key = k;
      CHECK(*lb.pick(ctx) == expected);
    }
    if (n == 1) CHECK(wrapped > 0);  // some keys did fall past the last point
  }
}

TEST_CASE("hash: a member removed moves only its own keys, spread over the rest",
          "[load_balancer][hash]") {
  Pool pool(10);
  ConsistentHash lb;
  lb.setMembers(pool.table);
  auto before = mapping(lb, pool);

  const std::string gone = pool.names[3];
  pool.names.erase(pool.names.begin() + 3);  // every later member changes position
  pool.rebuildTable();
  lb.setMembers(pool.table);
  auto after = mapping(lb, pool);

  int moved = 0;
  std::map<std::string, int> taken_by;
  for (int i = 0; i < kKeys; ++i) {
    if (before[i] == gone) {
      ++moved;
      ++taken_by[after[i]];
    } else {
      CHECK(after[i] == before[i]);  // no key of a member that stayed moved
    }
  }
  CHECK(moved > 500);  // its tenth of the keys, about 1000
  CHECK(moved < 1500);
  CHECK(taken_by.size() >= 7);  // not all dumped on one neighbour
}

TEST_CASE("hash: an ineligible member's keys move, and come back when it does",
          "[load_balancer][hash]") {
  Pool pool(10);
  ConsistentHash lb;
  lb.setMembers(pool.table);
  auto before = mapping(lb, pool);

  pool.table[6].eligible = false;  // in place: no rebuild
  auto during = mapping(lb, pool);
  for (int i = 0; i < kKeys; ++i) {
    if (before[i] == pool.names[6]) {
      CHECK(during[i] != pool.names[6]);
    } else {
      CHECK(during[i] == before[i]);
    }
  }
  // Where the keys went is where removing the member sends them.
  Pool without(10);
  without.names.erase(without.names.begin() + 6);
  without.rebuildTable();
  ConsistentHash other;
  other.setMembers(without.table);
  CHECK(mapping(other, without) == during);

  pool.table[6].eligible = true;
  CHECK(mapping(lb, pool) == before);
}

TEST_CASE("hash: a member joining takes keys only for itself", "[load_balancer][hash]") {
  Pool pool(8);
  ConsistentHash lb;
  lb.setMembers(pool.table);
  auto before = mapping(lb, pool);
  pool.names.push_back("10.0.0.99:8080");
  pool.rebuildTable();
  lb.setMembers(pool.table);
  auto after = mapping(lb, pool);
  int taken = 0;
  for (int i = 0; i < kKeys; ++i) {
    if (after[i] != before[i]) {
      CHECK(after[i] == "10.0.0.99:8080");
      ++taken;
    }
  }
  CHECK(taken > 600);  // about a ninth, 1111
  CHECK(taken < 1700);
}

TEST_CASE("hash: every instance maps a key to the same member whatever its table order",
          "[load_balancer][hash]") {
  Pool a(6);
  Pool b(6);
  std::reverse(b.names.begin(), b.names.end());
  b.rebuildTable();
  ConsistentHash lb_a;
  ConsistentHash lb_b;
  lb_a.setMembers(a.table);
  lb_b.setMembers(b.table);
  CHECK(mapping(lb_a, a) == mapping(lb_b, b));
}

TEST_CASE("hash: a member of weight 3 holds about three times the keys", "[load_balancer][hash]") {
  Pool pool(4);
  pool.table[2].weight = 3;
  ConsistentHash lb;
  lb.setMembers(pool.table);
  CHECK(lb.ringPoints() == 6 * ConsistentHash::kPointsPerWeight);
  std::map<std::string, int> share;
  for (const auto& n : mapping(lb, pool)) ++share[n];
  CHECK(share[pool.names[2]] > 4000);  // half the keys: 5000 on average
  CHECK(share[pool.names[2]] < 6000);
  pool.table[1].weight = 0;  // a weight change needs setMembers: then it holds nothing
  lb.setMembers(pool.table);
  share.clear();
  for (const auto& n : mapping(lb, pool)) ++share[n];
  CHECK(share.count(pool.names[1]) == 0);
}

TEST_CASE("hash: a retry goes where the key would go without the member tried",
          "[load_balancer][hash]") {
  Pool pool(5);
  ConsistentHash lb;
  lb.setMembers(pool.table);
  for (int i = 0; i < 200; ++i) {
    std::string k = key(i);
    PickContext ctx;
    ctx.hash_key = k;
    uint32_t first = *lb.pick(ctx);
    std::vector<uint32_t> tried{first};
    ctx.avoid = tried;
    uint32_t second = *lb.pick(ctx);
    CHECK(second != first);
    pool.table[first].eligible = false;
    ctx.avoid = {};
    CHECK(*lb.pick(ctx) == second);
    pool.table[first].eligible = true;
  }
}

TEST_CASE("hash: nothing to pick with no members or none eligible", "[load_balancer][hash]") {
  ConsistentHash lb;
  CHECK_FALSE(lb.pick({}).has_value());
  Pool pool(3);
  lb.setMembers(pool.table);
  for (auto& m : pool.table) m.eligible = false;
  CHECK_FALSE(lb.pick({}).has_value());
}

TEST_CASE("hash: the key hash is fixed across builds and spreads similar keys",
          "[load_balancer][hash]") {
  // Where keys go must not change between releases (instances of two
  // versions share traffic during a rollout).
  // Values from an independent implementation (FNV-1a 64, then the
  // murmur3 fmix64 finaliser).
  CHECK(ConsistentHash::hash("") == 0xefd01f60ba992926ULL);
  CHECK(ConsistentHash::hash("user-1") == 0x41a2fca5c68401c5ULL);
  CHECK(ConsistentHash::hash("10.0.0.1:8080#0") == 0x65283bf9882a6167ULL);
  uint64_t a = ConsistentHash::hash("user-1");
  uint64_t b = ConsistentHash::hash("user-2");
  CHECK(__builtin_popcountll(a ^ b) > 16);
}

}  // namespace redge
