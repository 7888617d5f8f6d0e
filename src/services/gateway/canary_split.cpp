// Canary routing's pure decisions: the weight a flag gives, the side a
// request goes to, and the promoted list (see the header).

#include "services/gateway/canary_split.hpp"

#include <algorithm>

#include "flags/flag_evaluation.hpp"

namespace redge {

std::string defaultCanaryFlag(std::string_view pool) {
  return "canary." + std::string(pool);
}

std::string promotedFlagName(std::string_view weight_flag) {
  return std::string(weight_flag) + ".promoted";
}

double canaryWeight(const Flag* flag) {
  if (flag == nullptr || !flag->enabled) return 0;
  return std::clamp(flag->rollout, 0.0, 100.0);
}

bool routeToCanary(const Flag* flag, std::optional<std::string_view> key, uint32_t draw) {
  if (flag == nullptr || !flag->enabled) return false;
  // With a value the flag's own evaluation decides, so an OFREP client
  // asking about this flag with the same targeting key learns the side.
  if (key) return evaluateFlag(flag, key).on;
  return inRollout(draw % kFlagBuckets, flag->rollout);
}

bool isPromoted(const Flag* promoted, std::string_view member) {
  if (promoted == nullptr || !promoted->enabled) return false;
  return std::find(promoted->targets.begin(), promoted->targets.end(), member) !=
         promoted->targets.end();
}

Flag promotedFlag(std::string_view weight_flag, std::string_view pool, const Flag* before,
                  const std::set<std::string>& members_now,
                  const std::vector<std::string>& canary_now) {
  Flag f;
  f.name = promotedFlagName(weight_flag);
  f.enabled = true;
  f.rollout = 0;  // nobody by bucket: only the members listed
  f.description = "Members of gateway pool '" + std::string(pool) +
                  "' promoted from canary to stable (written by POST /canary/" + std::string(pool) +
                  "/promote; delete it to send them back to canary).";
  std::set<std::string> names(canary_now.begin(), canary_now.end());
  if (before != nullptr) {
    // Names still in the pool stay promoted; those gone are dropped, so an
    // address a later canary reuses is not taken for a promoted one.
    for (const std::string& t : before->targets) {
      if (members_now.count(t) != 0) names.insert(t);
    }
  }
  f.targets.assign(names.begin(), names.end());
  if (f.targets.size() > kMaxFlagTargets) f.targets.resize(kMaxFlagTargets);
  return f;
}

}  // namespace redge
