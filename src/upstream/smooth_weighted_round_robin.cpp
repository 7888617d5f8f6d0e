// SmoothWeightedRoundRobin: the running scores of nginx's smooth weighted
// round robin, one per member position, reset when membership changes.

#include "upstream/smooth_weighted_round_robin.hpp"

namespace redge {

void SmoothWeightedRoundRobin::rebuild() {
  score_.assign(members_.size(), 0);
}

std::optional<uint32_t> SmoothWeightedRoundRobin::pick(const PickContext& ctx) {
  int64_t total = 0;
  size_t best = members_.size();
  for (size_t i = 0; i < members_.size(); ++i) {
    const Member& m = members_[i];
    if (!available(m, ctx)) continue;
    score_[i] += m.weight;
    total += m.weight;
    if (best == members_.size() || score_[i] > score_[best]) best = i;
  }
  if (best == members_.size()) return std::nullopt;
  score_[best] -= total;
  return members_[best].index;
}

}  // namespace redge
