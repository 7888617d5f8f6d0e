#pragma once
// Canary routing's decisions, apart from the gateway's I/O. Pure: the flags
// come in as snapshot pointers, the random draw as a number.
//
// A pool's canary weight is a feature flag (default `canary.<pool>`): the
// weight is its rollout while it is enabled, 0 while it is off or missing.
// A request goes to the canary side when the flag is on for it, as a flag
// evaluation with the request's stickiness value decides: its bucket (a
// stable hash of flag name and value, flag_evaluation.hpp) is below the
// weight, or the value is one of the flag's targets. Raising the weight only
// adds buckets, so a user on the canary stays there through a ramp, and
// every gateway puts a user on the same side. A pool without stickiness
// draws at random per request (no user stays anywhere).
//
// Promotion. `POST /canary/{pool}/promote` moves the canary members into the
// stable set on every gateway: their names are written to a second flag,
// `<flag>.promoted`, as its targets; a canary member whose name is there
// counts as stable. The list is what the gateways share already (the flag
// store's snapshot, pushed on change, kept on disk), so a promotion reaches
// every gateway as a flag change does and survives restarts.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "flags/flag.hpp"

namespace redge {

// The flag holding a pool's weight when the configuration names none.
std::string defaultCanaryFlag(std::string_view pool);
// The flag listing a pool's promoted members.
std::string promotedFlagName(std::string_view weight_flag);

// The weight in percent (0..100) the flag gives: its rollout while enabled.
double canaryWeight(const Flag* flag);

// Whether a request goes to the canary side. `key`: the request's
// stickiness value (nullopt: the pool has none, so `draw` decides, a
// uniform number 0..99999).
bool routeToCanary(const Flag* flag, std::optional<std::string_view> key, uint32_t draw);

// A canary member (by its name, host:port) that a promotion moved to stable.
bool isPromoted(const Flag* promoted, std::string_view member);

// The promoted flag a promotion writes: the members promoted before that are
// still in the pool, and the canary members now. Sorted, no repeats, at most
// kMaxFlagTargets names.
Flag promotedFlag(std::string_view weight_flag, std::string_view pool, const Flag* before,
                  const std::set<std::string>& members_now,
                  const std::vector<std::string>& canary_now);

}  // namespace redge
