#pragma once
// What a reload (SIGHUP) does to each of the gateway's pools, decided from
// the running and the next gateway.pools alone:
//
//   Kept     every option and member the same: the running pool stays as it
//            is (members' health, connections, in-flight counts, canary state)
//   Members  only the static member list differs, by whole members: the
//            running pool gains and loses members in place; the kept ones
//            keep their health
//   Rebuilt  another option differs (balance, hash_by, health, passive,
//            discover, canary ...), or a kept address changed its weight or
//            what it resolves to: a new pool replaces it
//   Added    a new name: a new pool
//   Removed  a name gone: its pool is retired
//
// And whether a route keeps its response cache across the reload: only the
// same route (host and prefix) to the same pool name with the same cache
// options does; any other starts empty, so no entry outlives the meaning it
// was stored under.
//
// Pure: no I/O.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "services/gateway/gateway_config.hpp"

namespace redge {

enum class PoolChange { Kept, Members, Rebuilt, Added, Removed };

struct PoolPlan {
  std::string name;
  PoolChange change = PoolChange::Kept;
  std::vector<GatewayMemberOptions> join;  // Members: configured members to add
  std::vector<std::string> leave;          // Members: addresses to release
};

struct GatewayReloadPlan {
  std::vector<PoolPlan> pools;  // by name: the next pools, then the removed ones
  size_t kept = 0;
  size_t changed = 0;  // Members + Rebuilt
  size_t rebuilt = 0;
  size_t added = 0;
  size_t removed = 0;

  const PoolPlan* find(const std::string& name) const;
};

GatewayReloadPlan planGatewayReload(const std::map<std::string, GatewayPoolOptions>& running,
                                    const std::map<std::string, GatewayPoolOptions>& next);

// Whether route `next` keeps the response cache of the running route `was`.
bool keepsRouteCache(const GatewayRouteOptions& was, const GatewayRouteOptions& next);

std::string_view poolChangeName(PoolChange change);

}  // namespace redge
