#pragma once
// round_robin: nginx's smooth weighted round robin. Each pick adds every
// available member's weight to its running score, takes the member with the
// highest score (the first one on a tie) and takes the sum of the weights
// added from the winner's score. Over any stretch of picks each member gets
// its weight's share, and the picks of a heavy member are spread out rather
// than bunched: weights {a:5, b:1, c:1} give a a b a c a a, repeating.
//
// An unavailable member (not eligible, weight 0, or avoided by this request)
// neither scores nor is counted in the sum, so the others share its turns
// and it resumes from its old score when it comes back.
//
// Cost per pick: O(n), one pass over the members with an add and a compare
// each; no allocation. setMembers() resets every score to 0.

#include <cstdint>
#include <optional>
#include <vector>

#include "upstream/load_balancer.hpp"

namespace redge {

class SmoothWeightedRoundRobin final : public LoadBalancer {
 public:
  std::optional<uint32_t> pick(const PickContext& ctx) override;

 private:
  void rebuild() override;

  std::vector<int64_t> score_;  // by position in members_
};

}  // namespace redge
