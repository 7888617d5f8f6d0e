// GatewayService: the request path (route, pick, try, retry, answer), the
// member connections each pool's transport opens and retires, the registry
// following, and the close path (see the header).
//
// A request's state lives in a shared Request, held by the callbacks of its
// current step (an LMOVE, a try), so it ends with the last of them. Each
// step checks closed_ first: after close() nothing is sent and nothing is
// answered (the listeners have closed before the services).

#include "services/gateway/gateway_service.hpp"

#include <algorithm>
#include <map>

#include "core/log.hpp"
#include "services/gateway/gateway_reload_plan.hpp"
#include "services/gateway/gateway_service_state.hpp"

namespace redge {

namespace {

constexpr std::string_view kRetryHeader = "Idempotency-Key";

// The value a hash pool's ring places the request by; the client's address
// when the header or cookie is missing, so such requests still stick.
std::string gatewayHashKey(const HashBy& by, const HttpRequest& request,
                           std::string_view client_address) {
  if (by.source == HashBy::Source::Header) {
    std::string_view v = request.header(by.name);
    if (!v.empty()) return std::string(v);
  } else if (by.source == HashBy::Source::Cookie) {
    for (size_t i = 0; i < request.headerCount(); ++i) {
      if (!headerNameIs(request.headerName(i), "Cookie")) continue;
      if (auto v = cookieValue(request.headerValue(i), by.name)) return std::string(*v);
    }
  }
  return std::string(client_address);
}

}  // namespace

std::string GatewayService::rotationKey(const std::string& key_prefix, const std::string& pool) {
  return key_prefix + "gateway:rotation:" + pool;
}

GatewayService::GatewayService(ModuleContext& context, const GatewayOptions& options)
    : context_(context), options_(options) {
  forward_.connect_timeout_ms = options_.connect_timeout_ms;
  forward_.timeout_ms = options_.timeout_ms;
  forward_.member_header = options_.member_header;

  Runtime& rt = context.runtime();
  flags_ = context.find<FlagStore>();
  registry_ = context.find<ServiceRegistry>();
  for (const auto& [name, o] : options_.pools) addPool(name, o, pools_);
  std::vector<std::unique_ptr<CachedRoute>> none;
  buildRoutes(options_.routes, none);

  bool discovers = false;
  for (auto& p : pools_) discovers = discovers || !p->pool->discover().empty();
  if (registry_ != nullptr) {
    registry_->setTrafficProvider(
        [this](const InstanceRecord& instance) { return trafficOf(instance); });
  } else if (discovers) {
    REDGE_LOG(Warn, "gateway_registry_missing")
        .kv("reason", "a pool discovers members, but the discovery module is not running")
        .kv("action", "those pools have only their configured members");
  }

  HttpServerOptions o = context.httpServerOptions("gateway", options_.bind, options_.port);
  o.max_connections = options_.max_connections;
  HttpServer& server = context.addHttpServer(std::move(o));
  server.streamAll(
      "gateway",
      [this](HttpRequest& request, const HttpExchange& exchange) { onRequest(request, exchange); },
      options_.max_body_bytes > 0 ? options_.max_body_bytes : -1);

  bool canaries = false;
  for (auto& p : pools_) canaries = canaries || p->canary != nullptr;
  if (canaries && flags_ == nullptr) {
    REDGE_LOG(Warn, "gateway_canary_without_flags")
        .kv("reason", "a pool has canary members, but the flags module is off")
        .kv("action", "the canary sides take no traffic; set flags.enabled=true");
  }
  followWhatIsNeeded();

  constexpr std::string_view kReloadHelp = "Gateway pools at each configuration reload, by outcome";
  int i = 0;
  for (std::string_view outcome : {"kept", "changed", "added", "removed"}) {
    reload_pools_[i++] = &rt.metrics.counter("redge_gateway_reload_pools_total", kReloadHelp,
                                             {{"outcome", std::string(outcome)}});
  }
  retiring_ =
      &rt.metrics.gauge("redge_gateway_pools_retiring",
                        "Pools a reload replaced or removed that still finish requests in flight");
  sweep_timer_ = rt.timers.createTimer([this] { sweepRetired(); });
}

GatewayService::Pool& GatewayService::addPool(const std::string& name, const GatewayPoolOptions& o,
                                              std::vector<std::unique_ptr<Pool>>& into) {
  ModuleContext& context = context_;
  auto p = std::make_unique<Pool>(*this, name, o);
  if (p->pool->policy() == BalancePolicy::RedisRotation) {
    if (!rotation_script_) {
      rotation_script_ = std::make_unique<RedisScript>(context.redis(), "gateway_rotation",
                                                       SharedRotation::rewriteScript());
    }
    p->rotation = std::make_unique<SharedRotation>(
        context.redis(), *rotation_script_, context.runtime().timers, *p->pool,
        rotationKey(context.config().redis.key_prefix, name));
    SharedRotation* rotation = p->rotation.get();
    p->pool->setMembershipListener([rotation] { rotation->membershipChanged(); });
    // The hook stays for the client's lifetime: a rotation closed by a
    // reload is kept (closed_rotations_) so that it finds it closed.
    context.redis().onReady([this, rotation] {
      if (!closed_) rotation->onRedisReady();
    });
  }
  for (const GatewayMemberOptions& m : o.members) {
    p->pool->addMember(m.address, m.resolved_host, m.port, static_cast<uint32_t>(m.weight));
  }
  Pool& stable = *p;
  into.push_back(std::move(p));
  if (o.hasCanary()) setUpCanary(stable, o, into);
  if (registry_ != nullptr && !stable.pool->discover().empty()) {
    for (const InstanceRecord& i : registry_->instances(stable.pool->discover())) {
      placeInstance(stable, i, true);
    }
  }
  return stable;
}

void GatewayService::buildRoutes(const std::vector<GatewayRouteOptions>& routes,
                                 std::vector<std::unique_ptr<CachedRoute>>& was) {
  Runtime& rt = context_.runtime();
  std::map<std::string, uint32_t> pool_index;
  for (uint32_t i = 0; i < pools_.size(); ++i) {
    if (pools_[i]->side == Pool::Side::Stable) pool_index[pools_[i]->name] = i;
  }
  routes_ = RouteTable();
  bindings_.clear();
  caches_.clear();
  for (const GatewayRouteOptions& r : routes) {
    uint32_t index = pool_index.at(r.pool);
    uint32_t cache = GatewayRoute::kNoCache;
    if (r.cache.enabled) {
      std::unique_ptr<CachedRoute> c;
      for (auto& old : was) {
        if (old && keepsRouteCache(old->route, r)) {
          c = std::move(old);
          break;
        }
      }
      std::erase(was, nullptr);
      if (!c) {
        if (r.cache.shared && !fleet_) {
          fleet_ = std::make_unique<CacheFleet>(rt, context_.redis(), context_.redisOptions(),
                                                context_.config().redis.key_prefix);
          if (started_) fleet_->start();
        }
        c = std::make_unique<CachedRoute>();
        c->cache = std::make_unique<RouteCache>(rt.clock, rt.timers, rt.metrics, r.host + r.prefix,
                                                r.cache, r.cache.shared ? fleet_.get() : nullptr);
        CachedRoute* route = c.get();
        c->refresher = std::make_unique<CacheRefresher>(
            *c->cache, rt.metrics, r.host + r.prefix,
            [this, route](HttpClientRequest request, HttpClientCallback done) {
              sendRefresh(*route->pool, std::move(request), std::move(done));
            });
        c->cache->setRefresher(c->refresher.get());
      }
      c->route = r;
      c->pool = pools_[index].get();
      cache = static_cast<uint32_t>(caches_.size());
      caches_.push_back(std::move(c));
    }
    uint32_t flag = GatewayRoute::kNoFlag;
    if (!r.flag.empty()) {
      if (flags_ != nullptr) {
        flag = static_cast<uint32_t>(bindings_.size());
        bindings_.push_back(std::make_unique<FlagBinding>(*flags_, r.host + r.prefix, r.flag));
      } else {
        REDGE_LOG(Warn, "gateway_route_flag_ignored")
            .kv("route", r.host + r.prefix)
            .kv("flag", r.flag)
            .kv("reason", "the flags module is off")
            .kv("action", "serving the route; set flags.enabled=true to bind it");
      }
    }
    routes_.add(r.host, r.prefix, index, cache, flag);
  }
}

void GatewayService::followWhatIsNeeded() {
  bool discovers = false;
  bool canaries = false;
  for (auto& p : pools_) {
    discovers = discovers || !p->pool->discover().empty();
    canaries = canaries || p->canary != nullptr;
  }
  if (registry_ != nullptr && discovers && watch_ == 0) {
    watch_ = registry_->watch([this](const RegistryChange& c) { onRegistryChange(c); });
  }
  if (flags_ != nullptr && canaries && flag_watch_ == 0) {
    flag_watch_ = flags_->watch([this](const FlagChange& c) { onFlagChange(c.name()); });
  }
  HttpServer* admin = context_.findHttpServer("admin");
  if (admin == nullptr) return;
  if (canaries && !canary_admin_routed_) {
    canary_admin_routed_ = true;
    routeCanaryAdmin(*admin);
  }
  if (!caches_.empty() && !purge_routed_) {
    purge_routed_ = true;
    admin->route(HttpMethod::Post, "/cache/purge",
                 [this](HttpRequest& request, const HttpResponder& responder) {
                   onPurge(request, responder);
                 });
  }
}

GatewayService::~GatewayService() = default;

void GatewayService::start() {
  started_ = true;
  for (auto& p : pools_) p->pool->start();
  // The flags' snapshot (Redis's, or the file's) decides what is promoted.
  for (auto& p : pools_) {
    if (p->canary) reconcileCanary(*p);
  }
  if (fleet_) fleet_->start();
  REDGE_LOG(Info, "gateway_started")
      .kv("routes", static_cast<uint64_t>(routes_.size()))
      .kv("pools", static_cast<uint64_t>(pools_.size()))
      .kv("forwarding", "streamed");
}

void GatewayService::close(std::function<void()> done) {
  if (!closed_) {
    closed_ = true;
    if (registry_ != nullptr) {
      if (watch_ != 0) registry_->unwatch(watch_);
      registry_->setTrafficProvider(nullptr);
    }
    if (flags_ != nullptr && flag_watch_ != 0) flags_->unwatch(flag_watch_);
    // Before the connections: the refreshes they fail as they close must
    // find their refresher detached.
    for (auto& c : caches_) c->refresher->close();
    sweep_timer_.reset();  // its handle closes while the loop runs
    for (auto& p : pools_) p->close();
    for (auto& p : retired_pools_) p->close();
    for (auto& c : caches_) c->cache->wakeAll();  // waiters are dropped, not forwarded
    for (auto& c : retired_caches_) c->cache->wakeAll();
    if (fleet_) fleet_->close();
  }
  if (done) done();
}

// ---------------------------------------------------------------- requests

void GatewayService::onRequest(HttpRequest& request, const HttpExchange& exchange) {
  const GatewayRoute* route = routes_.match(request.header("Host"), request.path());
  if (route == nullptr) {
    exchange.sendError(404, "no_route",
                       "No gateway route matches this host and path; check the URL, or add a "
                       "route to gateway.routes.");
    return;
  }
  std::string_view client = exchange.peerAddress();
  if (route->flag != GatewayRoute::kNoFlag) {
    if (auto refusal = bindings_[route->flag]->refusal(request, client)) {
      exchange.sendError(404, "feature_disabled", *refusal, 0,
                         {ErrorField("flag", bindings_[route->flag]->flag())});
      return;
    }
  }
  Pool* side = pools_[route->pool].get();
  if (side->handover != nullptr) side = &handoverSide(*side);
  if (side->canary) side = &chooseSide(*side, request, client);
  Pool& p = *side;
  p.pool->stats().requests_total.inc();
  std::unique_ptr<CacheFlow> flow;
  RouteCache::Start start = RouteCache::Start::Forward;
  // A canary's answers are not for stable users: its reads skip the cache
  // (its writes still clear it).
  bool cached = route->cache != GatewayRoute::kNoCache &&
                (p.side == Pool::Side::Stable ||
                 (request.method != HttpMethod::Get && request.method != HttpMethod::Head));
  if (cached) {
    start = caches_[route->cache]->cache->begin(request, exchange, flow);
    if (start == RouteCache::Start::Answered) return;
  }
  auto r = std::make_shared<Request>();
  r->lease = p.lease;
  r->pool = &p;
  if (p.side_stats != nullptr) {
    p.side_stats->requests.inc();
    r->started_us = context_.runtime().clock.nowUs();
  }
  if (p.pool->policy() == BalancePolicy::Hash) {
    r->hash_key = gatewayHashKey(p.pool->hashBy(), request, client);
  }
  r->retry_reset = isIdempotentMethod(request.method_text) || request.hasHeader(kRetryHeader);
  ForwardedContext fc;
  fc.client_address = client;
  fc.version_major = request.version_major;
  fc.version_minor = request.version_minor;
  if (flow) {
    r->exchange = makeStreamedExchange(request, exchange, fc, forward_, flow->rewrite());
    r->exchange->setTap(flow.get());
    r->cache_flow = std::move(flow);
    r->client = exchange;
  } else {
    r->exchange = makeStreamedExchange(request, exchange, fc, forward_);
  }
  if (p.side == Pool::Side::Canary) r->exchange->addResponseField("X-Redge-Canary", "1");
  p.pool->retryBudget().onRequestStarted();
  ++inflight_;
  if (start == RouteCache::Start::Wait) {
    RouteCache& cache = *caches_[route->cache]->cache;
    cache.wait(*r->cache_flow, [this, r, &cache] {
      if (closed_ || cache.answerWaiter(*r->cache_flow, r->client)) {
        finish(*r);
        return;
      }
      choose(r);
    });
    return;
  }
  choose(r);
}

void GatewayService::choose(const std::shared_ptr<Request>& r) {
  GatewayPool& pool = *r->pool->pool;
  if (!r->pool->rotation) {
    sendTo(r, pool.pick(r->hash_key, r->tried));
    return;
  }
  r->pool->rotation->next([this, r](const RotationTurn& turn) {
    GatewayPool& pool = *r->pool->pool;
    if (closed_ || turn.source == RotationTurn::Source::Closed) {
      if (r->retrying) pool.retryBudget().onRetryFinished();
      finish(*r);
      return;
    }
    if (turn.source == RotationTurn::Source::Redis) {
      pool.stats().rotation_redis_picks.inc();
      sendTo(r, pool.pickNamed(turn.name, r->tried));
    } else {
      pool.stats().rotation_local_picks.inc();
      sendTo(r, pool.pick({}, r->tried));
    }
  });
}

void GatewayService::sendTo(const std::shared_ptr<Request>& r, std::optional<uint32_t> member) {
  Pool& p = *r->pool;
  GatewayPool& pool = *p.pool;
  bool was_retry = r->retrying;
  r->retrying = false;
  if (!member) {
    if (was_retry) {
      // No other member to retry on: the first failure is the answer.
      pool.retryBudget().onRetryFinished();
      answerFailure(*r, r->last);
    } else if (!answerStale(*r, std::nullopt)) {
      sendGatewayError(*r, 503, "no_healthy_upstream",
                       "No member of pool '" + p.name +
                           "' may take traffic now (none has passed its health checks, or all "
                           "are ejected); retry after the time Retry-After gives.",
                       pool.retryAfterSeconds());
    }
    finish(*r);
    return;
  }
  MemberClient& mc = *p.clients[*member];
  MemberTicket ticket = pool.beginTry(*member);
  if (was_retry) pool.countRetry();
  ++mc.inflight;
  r->tried.push_back(*member);
  ++r->tries;
  MemberClient* client = &mc;
  r->exchange->sendTry(*mc.client, pool.member(*member)->name,
                       [this, r, ticket, was_retry, client, &p](const TryOutcome& outcome) {
                         if (--client->inflight == 0 && client->retired) p.closeClient(*client);
                         onTryDone(r, ticket, was_retry, outcome);
                       });
}

void GatewayService::onTryDone(const std::shared_ptr<Request>& r, MemberTicket ticket,
                               bool was_retry, const TryOutcome& outcome) {
  GatewayPool& pool = *r->pool->pool;
  if (was_retry) pool.retryBudget().onRetryFinished();
  if (closed_ || outcome.error == HttpClientError::Closed) {
    pool.endTry(ticket, TryResult::Abandoned);
    finish(*r);
    return;
  }
  bool answered = outcome.error == HttpClientError::None;
  pool.endTry(ticket, answered && outcome.status < 500 ? TryResult::Success : TryResult::Failure);
  if (outcome.response_started) r->status = outcome.status;
  if (answered || outcome.client_answered_partly) {
    if (answered && r->cache_flow) r->cache_flow->onAnswered(r->client);
    finish(*r);
    return;
  }
  r->last = outcome;
  // Only what cannot have reached the member's application is tried again
  // for any request: a connection that never opened. A reset may come after
  // the member acted on the request, so only a request that may be repeated
  // is tried again then.
  bool retryable = !outcome.response_started && r->exchange->retryable() &&
                   (outcome.error == HttpClientError::Connect ||
                    outcome.error == HttpClientError::ConnectTimeout ||
                    (outcome.error == HttpClientError::Reset && r->retry_reset));
  if (retryable && r->tries <= options_.retries) {
    if (pool.retryBudget().tryStartRetry()) {
      r->retrying = true;
      choose(r);
      return;
    }
    pool.countRetryRefused();
  }
  answerFailure(*r, outcome);
  finish(*r);
}

bool GatewayService::answerStale(Request& r, std::optional<int> status) {
  return r.cache_flow && r.cache_flow->answerStaleOnError(r.client, status);
}

void GatewayService::answerFailure(Request& r, const TryOutcome& outcome) {
  // A member's 5xx absorbed by the tap went on as an answer, not here; a
  // failure after such a head (its body cut) still names its status.
  if (outcome.error != HttpClientError::Closed &&
      answerStale(r, outcome.response_started && outcome.status >= 500
                         ? std::optional<int>(outcome.status)
                         : std::nullopt)) {
    return;
  }
  const std::string& pool = r.pool->name;
  switch (outcome.error) {
    case HttpClientError::Connect:
    case HttpClientError::ConnectTimeout:
      sendGatewayError(r, 502, "upstream_connect_failed",
                       "The gateway could not connect to a member of pool '" + pool +
                           "' (refused, unreachable, or not within gateway.connect_timeout_ms "
                           "of " +
                           std::to_string(options_.connect_timeout_ms) + " ms); retry in a moment.",
                       0);
      return;
    case HttpClientError::Reset:
      sendGatewayError(r, 502, "upstream_reset",
                       "A member of pool '" + pool +
                           "' closed the connection before its answer was complete; the "
                           "request may or may not have been carried out.",
                       0);
      return;
    case HttpClientError::Timeout:
      sendGatewayError(r, 504, "upstream_timeout",
                       "A member of pool '" + pool + "' did not answer within " +
                           std::to_string(options_.timeout_ms) +
                           " ms (gateway.timeout_ms); the request may or may not have been "
                           "carried out.",
                       0);
      return;
    case HttpClientError::TooLarge:  // a limit of buffered answers only
    case HttpClientError::BadResponse:
      sendGatewayError(r, 502, "bad_upstream_response",
                       "A member of pool '" + pool +
                           "' answered with something that is not a valid HTTP/1.1 answer.",
                       0);
      return;
    case HttpClientError::None:
    case HttpClientError::Closed:
      return;
  }
}

void GatewayService::sendGatewayError(Request& r, int status, std::string_view code,
                                      const std::string& message, int retry_after_s) {
  r.exchange->sendError(status, code, message, retry_after_s, r.pool->name);
  r.status = status;
  if (r.pool->side_stats != nullptr) r.pool->side_stats->countError(code);
}

void GatewayService::finish(Request& r) {
  if (r.pool->side_stats != nullptr) {
    GatewaySideStats& stats = *r.pool->side_stats;
    stats.countStatus(r.status);
    stats.duration.observe(static_cast<double>(context_.runtime().clock.nowUs() - r.started_us) /
                           1e6);
  }
  r.pool->pool->retryBudget().onRequestFinished();
  --inflight_;
  // Last: the waiters it wakes may start tries of their own.
  if (r.cache_flow) r.cache_flow->endFill();
}

// ---------------------------------------------------------------- purge

void GatewayService::onPurge(HttpRequest& request, const HttpResponder& responder) {
  PurgeParse parsed = parsePurgeRequest(request.body());
  if (!parsed.request) {
    responder.sendError(400, parsed.error, parsed.message);
    return;
  }
  const PurgeRequest& purge = *parsed.request;
  size_t removed = 0;
  std::vector<std::string> shared;
  for (auto& c : caches_) {
    removed += c->cache->purge(purge);
    if (c->cache->shared()) shared.push_back(c->cache->label());
  }
  auto answer = [responder, removed, tags = purge.tags.size()](int64_t removed_shared) {
    REDGE_LOG(Info, "gateway_cache_purged")
        .kv("removed", static_cast<uint64_t>(removed))
        .kv("removed_shared", removed_shared)
        .kv("tags", static_cast<uint64_t>(tags));
    responder.send(HttpResponse(200, "application/json",
                                "{\"purged\":" + std::to_string(removed) +
                                    ",\"shared\":" + std::to_string(removed_shared) + "}"));
  };
  if (!fleet_) {
    answer(0);
    return;
  }
  // Removed from Redis, then told to every gateway (the others drop it from
  // memory), then answered.
  fleet_->purge(purge, shared, [this, answer](int64_t removed_shared) {
    if (!closed_) answer(removed_shared);
  });
}

// ---------------------------------------------------------------- refreshes

// A cached route's background refresh: a member of its pool, as a request's
// first try would pick, with the gateway's deadlines; counted on the member
// like a try (in flight, passive health).
void GatewayService::sendRefresh(Pool& p, HttpClientRequest request, HttpClientCallback done) {
  if (closed_) {
    done(HttpClientError::Closed, nullptr);
    return;
  }
  std::optional<uint32_t> member = p.pool->pick({}, {});
  if (!member || *member >= p.clients.size() || !p.clients[*member]) {
    done(HttpClientError::Connect, nullptr);
    return;
  }
  MemberClient* client = p.clients[*member].get();
  MemberTicket ticket = p.pool->beginTry(*member);
  ++client->inflight;
  request.connect_timeout_ms = options_.connect_timeout_ms;
  request.timeout_ms = options_.timeout_ms;
  client->client->send(std::move(request),
                       [this, &p, client, ticket, lease = p.lease, done = std::move(done)](
                           HttpClientError error, const HttpClientResponse* response) {
                         if (--client->inflight == 0 && client->retired) p.closeClient(*client);
                         TryResult result = TryResult::Failure;
                         if (closed_ || error == HttpClientError::Closed) {
                           result = TryResult::Abandoned;
                         } else if (error == HttpClientError::None && response != nullptr &&
                                    response->status < 500) {
                           result = TryResult::Success;
                         }
                         p.pool->endTry(ticket, result);
                         done(error, response);
                       });
}

// ---------------------------------------------------------------- registry

void GatewayService::onRegistryChange(const RegistryChange& change) {
  if (closed_) return;
  bool present = change.op != ChangeOp::Removed;
  for (auto& p : pools_) {
    if (p->side != Pool::Side::Stable || p->pool->discover() != change.instance.service) continue;
    placeInstance(*p, change.instance, present);
  }
}

std::optional<InstanceTraffic> GatewayService::trafficOf(const InstanceRecord& instance) const {
  std::optional<InstanceTraffic> out;
  for (const auto& p : pools_) {
    if (p->pool->discover() != instance.service) continue;
    const PoolMember* m = p->pool->findByName(instance.address);
    if (m == nullptr) continue;
    if (!out) {
      out.emplace();
      out->health = std::string(p->pool->healthWord(m->index));
    } else if (p->pool->eligible(m->index)) {
      out->health = "healthy";  // in one of its pools at least
    }
    out->inflight += m->inflight;
    out->requests += m->requests;
  }
  return out;
}

}  // namespace redge
