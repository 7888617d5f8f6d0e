// GatewayService's reload (SIGHUP): the next gateway.routes and
// gateway.pools applied while serving, and the retirement of the pools a
// reload replaced or removed (see gateway_service.hpp, "Reload", and
// gateway_reload_plan.hpp for what happens to each pool).
//
// Everything is swapped in one call on the loop: no request sees half a
// table. Requests already routed hold their pool side's lease and finish
// there; the sweep timer closes a retired pool once no lease is left out
// and frees it once its handles have closed.
//
// A rebuilt pool's members start as a new pool's do: unchecked, one passed
// probe brings each in. Its health options (or balance, or canary ...)
// changed, so the old verdicts were reached under other rules and carrying
// them over would let a member the new checks would refuse take traffic.
// So that the reload opens no 503 window meanwhile, the pool it replaced
// (healthy, still probing) takes the route's new requests until one of the
// new pool's members has passed, or for at most one probe timeout and two
// intervals, 2 to 30 s (the new pool's first probes go at once).

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "core/log.hpp"
#include "services/gateway/gateway_reload_plan.hpp"
#include "services/gateway/gateway_service_state.hpp"

namespace redge {
namespace {

constexpr int64_t kSweepMs = 50;
constexpr int64_t kMinHandoverMs = 2000;
constexpr int64_t kMaxHandoverMs = 30000;

int64_t handoverMs(const GatewayPoolOptions& o) {
  if (!o.health.enabled) return 0;  // members take traffic as they join
  // At least a couple of seconds, so that short checks on a busy machine
  // (a first probe that times out) do not end it before a second pass.
  return std::clamp(o.health.timeout_ms + 2 * o.health.interval_ms, kMinHandoverMs, kMaxHandoverMs);
}

}  // namespace

void GatewayService::reload(const Config& next, std::vector<std::string>& live) {
  if (closed_) return;
  const GatewayOptions& g = next.module<GatewayOptions>();
  // gateway.enabled needs a restart; until then the running tables stay,
  // and so the keys are not named as applied.
  if (!g.enabled) return;
  live.insert(live.end(), {"gateway.routes", "gateway.pools"});

  GatewayReloadPlan plan = planGatewayReload(options_.pools, g.pools);
  // The running pool groups by name: stable side, canary side.
  std::map<std::string, std::pair<std::unique_ptr<Pool>, std::unique_ptr<Pool>>> running;
  for (auto& p : pools_) {
    if (p->side == Pool::Side::Stable) {
      std::string name = p->name;
      running[name].first = std::move(p);
    }
  }
  for (auto& p : pools_) {
    if (p) {
      std::string name = p->other->name;
      running[name].second = std::move(p);
    }
  }
  pools_.clear();

  const int64_t now = context_.runtime().clock.nowMs();
  std::vector<Pool*> fresh;
  for (const auto& [name, o] : g.pools) {
    const PoolPlan& pp = *plan.find(name);
    if (pp.change == PoolChange::Kept || pp.change == PoolChange::Members) {
      auto& [stable, canary] = running[name];
      if (pp.change == PoolChange::Members) {
        // Joins first: the pool never goes through fewer members than it
        // ends with.
        for (const GatewayMemberOptions& m : pp.join) {
          stable->pool->addMember(m.address, m.resolved_host, m.port,
                                  static_cast<uint32_t>(m.weight));
        }
        for (const std::string& address : pp.leave) stable->pool->releaseMember(address);
      }
      pools_.push_back(std::move(stable));
      if (canary) pools_.push_back(std::move(canary));
      continue;
    }
    Pool& p = addPool(name, o, pools_);
    fresh.push_back(&p);
    if (pp.change == PoolChange::Rebuilt) {
      auto& [stable, canary] = running[name];
      p.handover = stable.get();
      p.handover_until_ms = now + handoverMs(o);
      retirePool(std::move(stable), std::move(canary));
    }
  }
  for (auto& [name, group] : running) {
    if (group.first) retirePool(std::move(group.first), std::move(group.second));
  }

  std::vector<std::unique_ptr<CachedRoute>> was = std::move(caches_);
  std::set<const CachedRoute*> before;
  for (auto& c : was) before.insert(c.get());
  buildRoutes(g.routes, was);
  size_t caches_kept = 0;
  for (auto& c : caches_) caches_kept += before.count(c.get());
  for (auto& c : was) {
    if (!c) continue;
    c->refresher->close();  // its refreshes in flight reach nothing
    c->cache->retire();
    c->pool = nullptr;
    retired_caches_.push_back(std::move(c));
  }
  options_.routes = g.routes;
  options_.pools = g.pools;

  if (started_) {
    for (Pool* p : fresh) {
      p->pool->start();
      if (p->other != nullptr) p->other->pool->start();
      if (p->canary) reconcileCanary(*p);
      if (p->rotation && context_.redis().ready()) p->rotation->onRedisReady();
    }
  }
  followWhatIsNeeded();

  reload_pools_[0]->inc(plan.kept);
  reload_pools_[1]->inc(plan.changed);
  reload_pools_[2]->inc(plan.added);
  reload_pools_[3]->inc(plan.removed);
  size_t retiring = 0;
  for (auto& p : retired_pools_) retiring += p->side == Pool::Side::Stable ? 1 : 0;
  retiring_->set(static_cast<double>(retiring));
  REDGE_LOG(Info, "gateway_reloaded")
      .kv("routes", static_cast<uint64_t>(routes_.size()))
      .kv("pools_kept", static_cast<uint64_t>(plan.kept))
      .kv("pools_changed", static_cast<uint64_t>(plan.changed))
      .kv("pools_rebuilt", static_cast<uint64_t>(plan.rebuilt))
      .kv("pools_added", static_cast<uint64_t>(plan.added))
      .kv("pools_removed", static_cast<uint64_t>(plan.removed))
      .kv("pools_retiring", static_cast<uint64_t>(retiring))
      .kv("caches_kept", static_cast<uint64_t>(caches_kept))
      .kv("caches_emptied", static_cast<uint64_t>(caches_.size() - caches_kept));
  armSweep();
}

void GatewayService::retirePool(std::unique_ptr<Pool> stable, std::unique_ptr<Pool> canary) {
  int64_t inflight = stable->lease.use_count() - 1;
  if (canary) inflight += canary->lease.use_count() - 1;
  REDGE_LOG(Info, "gateway_pool_retired")
      .kv("pool", stable->name)
      .kv("requests_inflight", inflight);
  retired_pools_.push_back(std::move(stable));
  if (canary) retired_pools_.push_back(std::move(canary));
}

GatewayService::Pool& GatewayService::handoverSide(Pool& current) {
  if (current.handover == nullptr) return current;
  if (current.pool->eligibleCount() > 0 ||
      context_.runtime().clock.nowMs() >= current.handover_until_ms) {
    current.handover = nullptr;
    return current;
  }
  Pool& older = handoverSide(*current.handover);
  return older.pool->eligibleCount() > 0 ? older : current;
}

void GatewayService::armSweep() {
  if (closed_ || !sweep_timer_ || sweep_timer_->enabled()) return;
  bool pending = !retired_pools_.empty() || !retired_caches_.empty();
  for (auto& p : pools_) pending = pending || p->handover != nullptr;
  if (pending) sweep_timer_->enable(kSweepMs);
}

void GatewayService::sweepRetired() {
  if (closed_) return;
  for (auto& p : pools_) {
    if (p->handover != nullptr) handoverSide(*p);
  }
  std::set<const Pool*> referenced;
  for (auto& p : pools_) {
    if (p->handover != nullptr) referenced.insert(p->handover);
  }
  for (auto& p : retired_pools_) {
    if (p->handover != nullptr) referenced.insert(p->handover);
  }
  // The current pools by name, and whether each has a canary side.
  std::map<std::string, bool> current;
  for (auto& p : pools_) {
    if (p->side == Pool::Side::Stable) current[p->name] = p->canary != nullptr;
  }
  std::set<const Pool*> freed;
  std::set<std::string> names;
  for (auto& owned : retired_pools_) {
    Pool& s = *owned;
    if (s.side != Pool::Side::Stable) continue;
    Pool* canary = s.other;
    if (!s.closing) {
      bool idle = s.lease.use_count() == 1 && (canary == nullptr || canary->lease.use_count() == 1);
      if (!idle || referenced.count(&s) != 0) continue;
      // Nothing routed here is in flight: its connections, probes and
      // rotation may go.
      s.closing = true;
      s.handover = nullptr;
      bool stays = current.count(s.name) != 0;
      if (!stays) s.pool->clearStats();
      if (canary != nullptr && (!stays || !current.at(s.name))) {
        // No canary side of its name follows.
        canary->pool->clearStats();
        s.canary->weight.set(0);
      }
      s.close();
      if (s.rotation) closed_rotations_.push_back(std::move(s.rotation));
      if (canary != nullptr) {
        canary->closing = true;
        canary->close();
      }
    }
    if (s.handlesClosed() && (canary == nullptr || canary->handlesClosed())) {
      freed.insert(&s);
      if (canary != nullptr) freed.insert(canary);
      names.insert(s.name);
      REDGE_LOG(Info, "gateway_pool_freed").kv("pool", s.name);
    }
  }
  if (!freed.empty()) {
    std::erase_if(retired_pools_,
                  [&freed](const std::unique_ptr<Pool>& p) { return freed.count(p.get()) != 0; });
    // The retired pool's checker and tries wrote the series this pool
    // shares by name; its own state is the one to show.
    for (auto& p : pools_) {
      const std::string& stable_name = p->side == Pool::Side::Stable ? p->name : p->other->name;
      if (names.count(stable_name) != 0) p->pool->republishStats();
    }
  }
  size_t retiring = 0;
  for (auto& p : retired_pools_) retiring += p->side == Pool::Side::Stable ? 1 : 0;
  retiring_->set(static_cast<double>(retiring));
  // A replaced route's cache goes once no request holds it: its refresher
  // is closed, and the fleet's late answers find it gone.
  std::erase_if(retired_caches_, [](const std::unique_ptr<CachedRoute>& c) {
    if (c->cache->inUse()) return false;
    REDGE_LOG(Info, "gateway_cache_freed").kv("route", c->cache->label());
    return true;
  });
  armSweep();
}

}  // namespace redge
