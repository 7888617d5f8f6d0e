#pragma once
// least_request: the power of two random choices. Two different available
// members are drawn at random; the one with fewer requests in flight takes
// the request, the heavier weight on a tie, the first drawn on a full tie.
// Unlike "fewest in flight of all", many gateway instances picking at once
// do not all pile onto the same idle member, and the cost does not grow
// with the pool.
//
// Members are drawn uniformly among the available ones. Each draw first
// tries a few random positions (kDirectDraws); when most of the pool is
// unavailable and they all miss, it counts the available members and takes
// a random one of them, so the answer is exact however few remain.
//
// Cost per pick: O(1) expected (two or three random numbers and two reads)
// while most members are available; O(n) when few are. No allocation. The
// random source is injected so tests replay exact draws.

#include <cstdint>
#include <optional>

#include "upstream/load_balancer.hpp"
#include "upstream/random_source.hpp"

namespace redge {

class LeastRequest final : public LoadBalancer {
 public:
  // `random` must outlive the balancer.
  explicit LeastRequest(RandomSource& random) : random_(random) {}

  std::optional<uint32_t> pick(const PickContext& ctx) override;

  static constexpr int kDirectDraws = 8;

 private:
  void rebuild() override {}
  // A random available position other than `exclude`, or members_.size().
  size_t draw(const PickContext& ctx, size_t exclude);

  RandomSource& random_;
};

}  // namespace redge
