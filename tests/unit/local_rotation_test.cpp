// LocalRotation (redis_rotation's fallback while Redis is down): plain turns
// in table order, skipping whoever cannot take the request, and keeping its
// place when the membership changes.

#include "upstream/local_rotation.hpp"

#include <catch2/catch.hpp>
#include <vector>

namespace redge {

namespace {

std::vector<Member> members(size_t n) {
  std::vector<Member> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].index = static_cast<uint32_t>(i);
    out[i].weight = static_cast<uint32_t>(i + 1);  // ignored by the rotation
    out[i].eligible = true;
  }
  return out;
}

std::vector<uint32_t> picks(LoadBalancer& lb, int n, const PickContext& ctx = {}) {
  std::vector<uint32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(lb.pick(ctx).value_or(99));
  return out;
}

}  // namespace

TEST_CASE("local rotation: one turn each, in order, weights ignored",
          "[load_balancer][local_rotation]") {
  auto table = members(3);
  LocalRotation lb;
  lb.setMembers(table);
  CHECK(picks(lb, 7) == std::vector<uint32_t>{0, 1, 2, 0, 1, 2, 0});
}

TEST_CASE("local rotation: skips ineligible and avoided members",
          "[load_balancer][local_rotation]") {
  auto table = members(4);
  LocalRotation lb;
  lb.setMembers(table);
  table[1].eligible = false;
  CHECK(picks(lb, 4) == std::vector<uint32_t>{0, 2, 3, 0});
  std::vector<uint32_t> tried{2};
  PickContext retry;
  retry.avoid = tried;
  CHECK(picks(lb, 3, retry) == std::vector<uint32_t>{3, 0, 3});
  for (auto& m : table) m.eligible = false;
  CHECK_FALSE(lb.pick({}).has_value());
}

TEST_CASE("local rotation: a membership change keeps the turn where it was",
          "[load_balancer][local_rotation]") {
  auto table = members(3);
  LocalRotation lb;
  lb.setMembers(table);
  CHECK(picks(lb, 2) == std::vector<uint32_t>{0, 1});
  table = members(5);
  lb.setMembers(table);
  CHECK(picks(lb, 4) == std::vector<uint32_t>{2, 3, 4, 0});
  table = members(2);  // the turn (position 1) still exists
  lb.setMembers(table);
  CHECK(picks(lb, 2) == std::vector<uint32_t>{1, 0});
  table = members(3);
  lb.setMembers(table);
  CHECK(picks(lb, 1) == std::vector<uint32_t>{1});
  table = members(1);  // past the end: back to the first
  lb.setMembers(table);
  CHECK(picks(lb, 2) == std::vector<uint32_t>{0, 0});
}

}  // namespace redge
