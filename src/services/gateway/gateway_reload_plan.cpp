// The gateway's reload plan (see the header): which pools are kept, changed
// in place, rebuilt, added or removed, and which route caches survive.

#include "services/gateway/gateway_reload_plan.hpp"

namespace redge {
namespace {

// By address; false when an address is listed twice (a list the in-place
// change does not try to follow: the pool is rebuilt instead).
bool byAddress(const std::vector<GatewayMemberOptions>& members,
               std::map<std::string, const GatewayMemberOptions*>& out) {
  for (const GatewayMemberOptions& m : members) {
    if (!out.emplace(m.address, &m).second) return false;
  }
  return true;
}

PoolPlan planPool(const std::string& name, const GatewayPoolOptions& was,
                  const GatewayPoolOptions& next) {
  PoolPlan plan;
  plan.name = name;
  if (was == next) return plan;
  GatewayPoolOptions was_rest = was;
  GatewayPoolOptions next_rest = next;
  was_rest.members.clear();
  next_rest.members.clear();
  plan.change = PoolChange::Rebuilt;
  if (!(was_rest == next_rest)) return plan;
  std::map<std::string, const GatewayMemberOptions*> before;
  std::map<std::string, const GatewayMemberOptions*> after;
  if (!byAddress(was.members, before) || !byAddress(next.members, after)) return plan;
  std::vector<GatewayMemberOptions> join;
  std::vector<std::string> leave;
  for (const auto& [address, m] : after) {
    auto found = before.find(address);
    if (found == before.end()) {
      join.push_back(*m);
    } else if (!(*found->second == *m)) {
      // A new weight or a new resolved address: the balancer and the
      // connections are built from them, so the pool is built again.
      return plan;
    }
  }
  for (const auto& [address, m] : before) {
    if (after.count(address) == 0) leave.push_back(address);
  }
  // The same members in another order: the running pool is what the next
  // would be.
  plan.change = join.empty() && leave.empty() ? PoolChange::Kept : PoolChange::Members;
  plan.join = std::move(join);
  plan.leave = std::move(leave);
  return plan;
}

}  // namespace

const PoolPlan* GatewayReloadPlan::find(const std::string& name) const {
  for (const PoolPlan& p : pools) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

GatewayReloadPlan planGatewayReload(const std::map<std::string, GatewayPoolOptions>& running,
                                    const std::map<std::string, GatewayPoolOptions>& next) {
  GatewayReloadPlan plan;
  for (const auto& [name, o] : next) {
    auto found = running.find(name);
    if (found == running.end()) {
      PoolPlan p;
      p.name = name;
      p.change = PoolChange::Added;
      plan.pools.push_back(std::move(p));
      ++plan.added;
      continue;
    }
    PoolPlan p = planPool(name, found->second, o);
    if (p.change == PoolChange::Kept) {
      ++plan.kept;
    } else {
      ++plan.changed;
      if (p.change == PoolChange::Rebuilt) ++plan.rebuilt;
    }
    plan.pools.push_back(std::move(p));
  }
  for (const auto& [name, o] : running) {
    if (next.count(name) != 0) continue;
    PoolPlan p;
    p.name = name;
    p.change = PoolChange::Removed;
    plan.pools.push_back(std::move(p));
    ++plan.removed;
  }
  return plan;
}

bool keepsRouteCache(const GatewayRouteOptions& was, const GatewayRouteOptions& next) {
  return was.cache.enabled && next.cache.enabled && was.host == next.host &&
         was.prefix == next.prefix && was.pool == next.pool && was.cache == next.cache;
}

std::string_view poolChangeName(PoolChange change) {
  switch (change) {
    case PoolChange::Kept:
      return "kept";
    case PoolChange::Members:
      return "members";
    case PoolChange::Rebuilt:
      return "rebuilt";
    case PoolChange::Added:
      return "added";
    case PoolChange::Removed:
      return "removed";
  }
  return "kept";
}

}  // namespace redge
