// least_request (power of two random choices), with the random draws
// scripted: the lighter of two draws wins, weight breaks a tie, the two
// draws are distinct available members, and the counting path that takes
// over when most of the pool is unavailable is still uniform.

#include "upstream/least_request.hpp"

#include <catch2/catch.hpp>
#include <deque>
#include <map>
#include <vector>

namespace redge {

namespace {

// Replays positions: next() returns a number that below(n) maps to the
// queued position; SplitMix once the script is used up.
class ScriptedRandom final : public RandomSource {
 public:
  void draw(uint32_t pos, uint32_t n) {
    // The smallest 32-bit h with (h * n) >> 32 == pos.
    uint64_t h = ((static_cast<uint64_t>(pos) << 32) + n - 1) / n;
    script_.push_back(h << 32);
  }
  uint64_t next() override {
    ++calls_;
    if (script_.empty()) return fallback_.next();
    uint64_t v = script_.front();
    script_.pop_front();
    return v;
  }
  size_t left() const { return script_.size(); }
  int calls_ = 0;

 private:
  std::deque<uint64_t> script_;
  SplitMixRandom fallback_{42};
};

std::vector<Member> members(size_t n) {
  std::vector<Member> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].index = static_cast<uint32_t>(i);
    out[i].eligible = true;
  }
  return out;
}

}  // namespace

TEST_CASE("least request: the scripted source maps to the positions it names",
          "[load_balancer][least_request]") {
  ScriptedRandom r;
  for (uint32_t n : {1u, 2u, 3u, 7u, 1000u}) {
    for (uint32_t pos = 0; pos < n; pos += (n > 10 ? 97 : 1)) {
      r.draw(pos, n);
      CHECK(r.below(n) == pos);
    }
  }
}

TEST_CASE("least request: of two draws the one with fewer requests in flight wins",
          "[load_balancer][least_request]") {
  auto table = members(4);
  table[1].active_requests = 5;
  table[3].active_requests = 2;
  ScriptedRandom r;
  LeastRequest lb(r);
  lb.setMembers(table);
  r.draw(1, 4);
  r.draw(3, 4);
  CHECK(*lb.pick({}) == 3);
  r.draw(3, 4);
  r.draw(1, 4);
  CHECK(*lb.pick({}) == 3);
  CHECK(r.left() == 0);
}

TEST_CASE("least request: a tie goes to the heavier weight, then to the first drawn",
          "[load_balancer][least_request]") {
  auto table = members(3);
  table[2].weight = 3;
  ScriptedRandom r;
  LeastRequest lb(r);
  lb.setMembers(table);
  r.draw(0, 3);
  r.draw(2, 3);
  CHECK(*lb.pick({}) == 2);
  r.draw(2, 3);
  r.draw(0, 3);
  CHECK(*lb.pick({}) == 2);
  r.draw(1, 3);
  r.draw(0, 3);
  CHECK(*lb.pick({}) == 1);
}

TEST_CASE("least request: the second draw is another member, unavailable draws are redrawn",
          "[load_balancer][least_request]") {
  auto table = members(4);
  table[0].active_requests = 9;
  table[2].eligible = false;
  ScriptedRandom r;
  LeastRequest lb(r);
  lb.setMembers(table);
  std::vector<uint32_t> tried{3};
  PickContext retry;
  retry.avoid = tried;
  r.draw(2, 4);  // ineligible: drawn again
  r.draw(0, 4);  // first
  r.draw(0, 4);  // the same member: drawn again
  r.draw(3, 4);  // avoided: drawn again
  r.draw(1, 4);  // second
  CHECK(*lb.pick(retry) == 1);
  CHECK(r.left() == 0);
}

TEST_CASE("least request: one available member is the answer, none is nothing",
          "[load_balancer][least_request]") {
  auto table = members(3);
  table[0].eligible = false;
  table[2].eligible = false;
  SplitMixRandom r(7);
  LeastRequest lb(r);
  lb.setMembers(table);
  for (int i = 0; i < 20; ++i) CHECK(*lb.pick({}) == 1);
  table[1].eligible = false;
  CHECK_FALSE(lb.pick({}).has_value());
  LeastRequest empty(r);
  CHECK_FALSE(empty.pick({}).has_value());
}

TEST_CASE("least request: the busiest member is never chosen while others are idle",
          "[load_balancer][least_request]") {
  auto table = members(10);
  table[4].active_requests = 100;
  SplitMixRandom r(1);
  LeastRequest lb(r);
  lb.setMembers(table);
  std::map<uint32_t, int> got;
  for (int i = 0; i < 9000; ++i) ++got[*lb.pick({})];
  CHECK(got.count(4) == 0);
  for (uint32_t m = 0; m < 10; ++m) {
    if (m == 4) continue;
    CHECK(got[m] > 800);  // 1000 each on average
    CHECK(got[m] < 1200);
  }
}

TEST_CASE("least request: with most of the pool down, picks stay uniform over the rest",
          "[load_balancer][least_request]") {
  // 2 of 100 members available: the direct draws mostly miss, and the
  // counting path decides; both members must still get their half.
  auto table = members(100);
  for (auto& m : table) m.eligible = false;
  table[17].eligible = true;
  table[83].eligible = true;
  table[17].active_requests = 1;
  table[83].active_requests = 1;
  SplitMixRandom r(3);
  LeastRequest lb(r);
  lb.setMembers(table);
  std::map<uint32_t, int> got;
  for (int i = 0; i < 4000; ++i) ++got[*lb.pick({})];
  CHECK(got.size() == 2);
  CHECK(got[17] > 1800);
  CHECK(got[83] > 1800);
}

}  // namespace redge
