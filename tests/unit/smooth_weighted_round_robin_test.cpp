// round_robin (nginx's smooth weighted algorithm): the interleaved order for
// uneven weights, exact shares, and what happens when members cannot take a
// request (ineligible, avoided by a retry, weight 0).

#include "upstream/smooth_weighted_round_robin.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

namespace redge {

namespace {

std::vector<Member> members(std::initializer_list<uint32_t> weights) {
  std::vector<Member> out;
  uint32_t i = 0;
  for (uint32_t w : weights) {
    Member m;
    m.index = i++;
    m.weight = w;
    m.eligible = true;
    out.push_back(m);
  }
  return out;
}

std::string sequence(LoadBalancer& lb, int picks, const PickContext& ctx = {}) {
  std::string out;
  for (int i = 0; i < picks; ++i) {
    auto pick = lb.pick(ctx);
    out += pick ? static_cast<char>('a' + *pick) : '-';
  }
  return out;
}

}  // namespace

TEST_CASE("round robin: weights 5,1,1 interleave as nginx's smooth algorithm does",
          "[load_balancer][round_robin]") {
  auto table = members({5, 1, 1});
  SmoothWeightedRoundRobin lb;
  lb.setMembers(table);
  CHECK(sequence(lb, 14) == "aabacaaaabacaa");
}

TEST_CASE("round robin: equal weights rotate in table order", "[load_balancer][round_robin]") {
  auto table = members({1, 1, 1});
  SmoothWeightedRoundRobin lb;
  lb.setMembers(table);
  CHECK(sequence(lb, 7) == "abcabca");
}

TEST_CASE("round robin: every member gets exactly its weight's share",
          "[load_balancer][round_robin]") {
  auto table = members({3, 2, 7, 1});
  SmoothWeightedRoundRobin lb;
  lb.setMembers(table);
  std::map<uint32_t, int> got;
  for (int i = 0; i < 13 * 100; ++i) ++got[*lb.pick({})];
  CHECK(got[0] == 300);
  CHECK(got[1] == 200);
  CHECK(got[2] == 700);
  CHECK(got[3] == 100);
}

TEST_CASE("round robin: an ineligible member is skipped and its turns shared, then it is back",
          "[load_balancer][round_robin]") {
  auto table = members({1, 1, 1});
  SmoothWeightedRoundRobin lb;
  lb.setMembers(table);
  table[1].eligible = false;  // changed in place: the balancer reads it per pick
  CHECK(sequence(lb, 6) == "acacac");
  table[1].eligible = true;
  std::string s = sequence(lb, 30);
  CHECK(std::count(s.begin(), s.end(), 'b') == 10);
}

TEST_CASE("round robin: a retry avoids the members already tried", "[load_balancer][round_robin]") {
  auto table = members({1, 1, 1});
  SmoothWeightedRoundRobin lb;
  lb.setMembers(table);
  std::vector<uint32_t> tried{0};
  PickContext retry;
  retry.avoid = tried;
  for (int i = 0; i < 10; ++i) CHECK(*lb.pick(retry) != 0);
  tried = {0, 1, 2};
  retry.avoid = tried;
  CHECK_FALSE(lb.pick(retry).has_value());
}

TEST_CASE("round robin: nothing to pick when no member may take traffic",
          "[load_balancer][round_robin]") {
  SmoothWeightedRoundRobin lb;
  CHECK_FALSE(lb.pick({}).has_value());  // no members at all
  auto table = members({2, 0});
  table[0].eligible = false;
  lb.setMembers(table);
  CHECK_FALSE(lb.pick({}).has_value());  // one ineligible, one of weight 0
}

TEST_CASE("round robin: the index returned is the member's, not its position",
          "[load_balancer][round_robin]") {
  auto table = members({1, 1});
  table[0].index = 7;
  table[1].index = 3;
  SmoothWeightedRoundRobin lb;
  lb.setMembers(table);
  CHECK(*lb.pick({}) == 7);
  CHECK(*lb.pick({}) == 3);
}

}  // namespace redge
