// The `balance` policy names and the balancer each one makes: every policy
// answers picks over the same members, and redis_rotation's local balancer
// is the plain rotation it falls back to.

#include "upstream/load_balancer.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "upstream/random_source.hpp"

namespace redge {

TEST_CASE("load balancer: policy names parse and print back", "[load_balancer]") {
  for (auto policy : {BalancePolicy::RoundRobin, BalancePolicy::LeastRequest, BalancePolicy::Hash,
                      BalancePolicy::RedisRotation}) {
    BalancePolicy parsed = BalancePolicy::RoundRobin;
    REQUIRE(parseBalancePolicy(balancePolicyName(policy), parsed));
    CHECK(parsed == policy);
  }
  BalancePolicy out = BalancePolicy::Hash;
  CHECK_FALSE(parseBalancePolicy("random", out));
  CHECK_FALSE(parseBalancePolicy("Round_Robin", out));
  CHECK(out == BalancePolicy::Hash);
}

TEST_CASE("load balancer: every policy picks only eligible members", "[load_balancer]") {
  std::vector<std::string> names{"a:1", "b:1", "c:1"};
  std::vector<Member> table(3);
  for (uint32_t i = 0; i < 3; ++i) {
    table[i].index = i;
    table[i].eligible = i != 1;
    table[i].name = names[i];
  }
  SplitMixRandom random(5);
  for (auto policy : {BalancePolicy::RoundRobin, BalancePolicy::LeastRequest, BalancePolicy::Hash,
                      BalancePolicy::RedisRotation}) {
    auto lb = makeLoadBalancer(policy, random);
    REQUIRE(lb != nullptr);
    lb->setMembers(table);
    for (int i = 0; i < 50; ++i) {
      std::string k = std::to_string(i);
      PickContext ctx;
      ctx.hash_key = k;
      auto pick = lb->pick(ctx);
      REQUIRE(pick.has_value());
      CHECK(*pick != 1);
    }
  }
}

TEST_CASE("load balancer: redis_rotation's local balancer takes plain turns", "[load_balancer]") {
  std::vector<Member> table(3);
  for (uint32_t i = 0; i < 3; ++i) {
    table[i].index = i;
    table[i].weight = 10 * (i + 1);
    table[i].eligible = true;
  }
  SplitMixRandom random(5);
  auto lb = makeLoadBalancer(BalancePolicy::RedisRotation, random);
  lb->setMembers(table);
  std::vector<uint32_t> got;
  for (int i = 0; i < 6; ++i) got.push_back(*lb->pick({}));
  CHECK(got == std::vector<uint32_t>{0, 1, 2, 0, 1, 2});
}

}  // namespace redge
