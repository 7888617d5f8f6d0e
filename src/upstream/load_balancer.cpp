// The balancing policies' names, as a pool's `balance` key spells them, and
// the one place a policy becomes a balancer.

#include "upstream/load_balancer.hpp"

#include "upstream/consistent_hash.hpp"
#include "upstream/least_request.hpp"
#include "upstream/local_rotation.hpp"
#include "upstream/smooth_weighted_round_robin.hpp"

namespace redge {

bool parseBalancePolicy(std::string_view text, BalancePolicy& out) {
  if (text == "round_robin") {
    out = BalancePolicy::RoundRobin;
  } else if (text == "least_request") {
    out = BalancePolicy::LeastRequest;
  } else if (text == "hash") {
    out = BalancePolicy::Hash;
  } else if (text == "redis_rotation") {
    out = BalancePolicy::RedisRotation;
  } else {
    return false;
  }
  return true;
}

std::string_view balancePolicyName(BalancePolicy policy) {
  switch (policy) {
    case BalancePolicy::RoundRobin:
      return "round_robin";
    case BalancePolicy::LeastRequest:
      return "least_request";
    case BalancePolicy::Hash:
      return "hash";
    case BalancePolicy::RedisRotation:
      return "redis_rotation";
  }
  return "unknown";
}

std::unique_ptr<LoadBalancer> makeLoadBalancer(BalancePolicy policy, RandomSource& random) {
  switch (policy) {
    case BalancePolicy::RoundRobin:
      return std::make_unique<SmoothWeightedRoundRobin>();
    case BalancePolicy::LeastRequest:
      return std::make_unique<LeastRequest>(random);
    case BalancePolicy::Hash:
      return std::make_unique<ConsistentHash>();
    case BalancePolicy::RedisRotation:
      return std::make_unique<LocalRotation>();
  }
  return nullptr;
}

}  // namespace redge
