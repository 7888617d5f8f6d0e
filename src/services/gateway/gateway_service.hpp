#pragma once
// The gateway: a reverse proxy and load balancer on its own listener
// (gateway.port). Every request, whatever its method and path, is routed
// (RouteTable) to a pool (GatewayPool), whose balancer picks a member; the
// request is forwarded there (ForwardExchange, streamed both ways) and the
// member's answer, of any status, goes back untouched but for hop-by-hop
// headers. A connect failure, or a reset of an idempotent request (or one
// with an Idempotency-Key), is tried once more on a different member
// (gateway.retries) while the pool's retry budget allows. Failures are the
// project's error answers:
//
//   404 no_route                 no route matches the host and path
//   502 upstream_connect_failed  no connection to the member (refused, unreachable, too slow)
//   502 upstream_reset           the connection died before the answer was complete
//   502 bad_upstream_response    not a valid HTTP/1.1 answer
//   503 no_healthy_upstream      no member may take traffic now (Retry-After)
//   504 upstream_timeout         no answer within gateway.timeout_ms
//
// A route with `cache.enabled` answers GET and HEAD from its RouteCache
// when it can, and lets its CacheFlow tee, absorb or invalidate on the
// forwarded answer otherwise (gateway_cache.hpp); other routes never touch
// the cache. A cached route's CacheRefresher sends its background refreshes
// (stale-while-revalidate) to a member of the route's pool (sendRefresh),
// and a request whose try failed is answered from a stale entry where
// stale-if-error allows it rather than with the errors above.
//
// Routes with `cache.shared` share their entries through Redis (one
// CacheFleet for the gateway). With the admin listener on, `POST
// /cache/purge` there removes entries by URL, path prefix or tag from every
// cached route, and through Redis from every gateway's.
//
// Pools with `discover` follow the service registry (ServiceRegistry, from
// the discovery module) live; the gateway installs the registry's traffic
// provider, so GET /listservers shows each instance's health, in-flight and
// request counts as this gateway sees them. Pools with balance
// redis_rotation share their turn order through Redis (SharedRotation).
//
// Canary pools (canary_split.hpp): a pool with canary members (configured,
// or registry instances tagged `canary`) has two sides, each a GatewayPool
// of its own (the canary one named "<pool>/canary", with its own health
// checks and member stats). Each request is sent to one side, as the pool's
// canary flag decides for it; canary answers carry X-Redge-Canary: 1. A
// canary request skips the route's response cache for reads (its answers
// must not be served to stable users); its writes still invalidate. The
// admin listener's GET /canary shows every canary pool, POST
// /canary/{pool}/abort switches the weight flag off (every gateway follows
// within the flag store's propagation), POST /canary/{pool}/promote moves
// the canary members to the stable side on every gateway.
//
// Routes with a `flag` answer 404 feature_disabled while it is off for the
// request (flag_route_guard.hpp), before the cache or any member.
//
// Reload (SIGHUP, gateway_reload.cpp): gateway.routes and gateway.pools
// change while serving. The new route table takes the requests that arrive
// after it; a request already routed finishes on the pool side it started
// on. Each pool is kept, changed in place (static members joining and
// leaving), rebuilt, added or removed as gateway_reload_plan.hpp decides; a
// rebuilt or removed pool is retired: it leaves every table (routes,
// registry, flags, status, /canary) and stays open until the last request
// and refresh holding its lease (Pool::lease) has ended, then closes its
// connections and probes and is freed once their handles have closed (a
// sweep timer looks). Route caches are kept when the route is the same
// (gateway_reload_plan.hpp) and start empty otherwise; a retired cache drops
// its entries at once and is kept, empty, until the service goes, as the
// closed rotations are (late Redis callbacks may reach either).
//
// Lifetimes. The service owns its pools, their health probes, the member
// connections (one HttpClientPool per member) and the rotations. close()
// stops every timer and closes every connection while the loop runs;
// callbacks that come later (Redis failing an LMOVE at shutdown) find the
// service closed and drop their request, whose client has gone anyway. The
// cache refreshers are closed before the connections, so the refreshes
// the connections fail as they close reach no cache.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flags/flag_route_guard.hpp"
#include "flags/flag_store.hpp"
#include "redis/redis_script.hpp"
#include "services/discovery/service_registry.hpp"
#include "services/gateway/gateway_cache.hpp"
#include "services/gateway/gateway_config.hpp"
#include "services/gateway/gateway_forward.hpp"
#include "services/gateway/gateway_pool.hpp"
#include "services/gateway/route_table.hpp"
#include "services/gateway/shared_rotation.hpp"
#include "services/service.hpp"
#include "upstream/http_health_probe.hpp"

namespace redge {

class GatewayService final : public Service {
 public:
  // Options as the configuration checked and prepared them.
  GatewayService(ModuleContext& context, const GatewayOptions& options);
  ~GatewayService() override;

  void start() override;
  size_t inflight() const override { return static_cast<size_t>(inflight_); }
  void close(std::function<void()> done) override;
  // gateway.routes and gateway.pools; the listener, the deadlines and the
  // connection limits need a restart.
  void reload(const Config& next, std::vector<std::string>& live) override;

  // The dashboard's gateway panel: every pool side with its members' health,
  // in flight and requests (at most 100 members a side), and canary weights.
  void writeStatus(JsonWriter& w) const;

  // The key of a pool's shared rotation: <prefix>gateway:rotation:<pool>.
  static std::string rotationKey(const std::string& key_prefix, const std::string& pool);

 private:
  struct Pool;
  struct Request;
  struct Canary;
  struct CachedRoute;

  // ---- building (construction and reload) ----
  // A pool (with its canary side, after it) appended to `into`; members
  // from the configuration and the registry. The stable side.
  Pool& addPool(const std::string& name, const GatewayPoolOptions& o,
                std::vector<std::unique_ptr<Pool>>& into);
  // routes_, caches_ and bindings_ from `routes` over pools_, reusing the
  // caches of `was` that the same route keeps (gateway_reload_plan.hpp);
  // the caches left in `was` are the caller's to retire.
  void buildRoutes(const std::vector<GatewayRouteOptions>& routes,
                   std::vector<std::unique_ptr<CachedRoute>>& was);
  // The registry watch, the flag watch and the admin routes, once each
  // becomes needed.
  void followWhatIsNeeded();
  // ---- reload (gateway_reload.cpp) ----
  // Moves a pool group (a stable side and its canary side) out of service.
  void retirePool(std::unique_ptr<Pool> stable, std::unique_ptr<Pool> canary);
  // Frees the retired pools whose last request has ended, and ends
  // hand-overs; rearms itself while anything is left.
  void sweepRetired();
  void armSweep();
  // A rebuilt pool's new requests go to the pool it replaced until it has a
  // member that passed its checks (bounded): the side to use now.
  Pool& handoverSide(Pool& current);

  void onRequest(HttpRequest& request, const HttpExchange& exchange);
  void choose(const std::shared_ptr<Request>& r);
  void sendTo(const std::shared_ptr<Request>& r, std::optional<uint32_t> member);
  void onTryDone(const std::shared_ptr<Request>& r, MemberTicket ticket, bool was_retry,
                 const TryOutcome& outcome);
  void answerFailure(Request& r, const TryOutcome& outcome);
  // stale-if-error: true when a stale entry answered instead of the error.
  bool answerStale(Request& r, std::optional<int> status);
  void sendRefresh(Pool& pool, HttpClientRequest request, HttpClientCallback done);
  void finish(Request& r);
  void onRegistryChange(const RegistryChange& change);
  // ---- canary pools (gateway_canary.cpp) ----
  void setUpCanary(Pool& stable, const GatewayPoolOptions& options,
                   std::vector<std::unique_ptr<Pool>>& into);
  // The side a request of a canary pool goes to.
  Pool& chooseSide(Pool& stable, const HttpRequest& request, std::string_view peer);
  // Puts a registry instance of a discovered pool on its side.
  void placeInstance(Pool& stable, const InstanceRecord& instance, bool present);
  // Every member on the side the flags say now (after a flag change).
  void reconcileCanary(Pool& stable);
  void onFlagChange(std::string_view flag);
  void routeCanaryAdmin(HttpServer& admin);
  void onCanaryList(const HttpResponder& responder);
  void onCanaryAbort(HttpRequest& request, const HttpResponder& responder);
  void onCanaryPromote(HttpRequest& request, const HttpResponder& responder);
  Pool* findCanaryPool(std::string_view name, const HttpResponder& responder);
  void sendGatewayError(Request& r, int status, std::string_view code, const std::string& message,
                        int retry_after_s);
  void onPurge(HttpRequest& request, const HttpResponder& responder);
  std::optional<InstanceTraffic> trafficOf(const InstanceRecord& instance) const;

  ModuleContext& context_;
  GatewayOptions options_;
  ForwardSettings forward_;
  RouteTable routes_;
  SplitMixRandom random_;
  std::unique_ptr<RedisScript> rotation_script_;
  std::vector<std::unique_ptr<Pool>> pools_;
  std::unique_ptr<CacheFleet> fleet_;                 // when a route's cache is shared
  std::vector<std::unique_ptr<CachedRoute>> caches_;  // the cached routes'
  // Retired by reloads, each freed by sweepRetired once nothing in flight
  // holds it: pool groups, and replaced routes' caches.
  std::vector<std::unique_ptr<Pool>> retired_pools_;
  std::vector<std::unique_ptr<CachedRoute>> retired_caches_;
  std::vector<std::unique_ptr<SharedRotation>> closed_rotations_;
  TimerPtr sweep_timer_;
  Counter* reload_pools_[4] = {};  // by outcome: kept, changed, added, removed
  Gauge* retiring_ = nullptr;
  bool canary_admin_routed_ = false;
  bool purge_routed_ = false;
  ServiceRegistry* registry_ = nullptr;
  ServiceRegistry::WatchId watch_ = 0;
  FlagStore* flags_ =
      nullptr;  // null: the flags module is off (no canary weights, no bound routes)
  FlagStore::WatchId flag_watch_ = 0;
  std::vector<std::unique_ptr<FlagBinding>> bindings_;  // routes bound to flags, by index
  int64_t inflight_ = 0;
  bool started_ = false;
  bool closed_ = false;
};

}  // namespace redge
