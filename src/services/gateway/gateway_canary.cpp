// GatewayService's canary pools: the two sides of a pool, which side a
// request goes to, which side each member is on (configured canary members,
// registry instances by tag, both moved by a promotion), and the admin
// routes that abort and promote (see gateway_service.hpp and
// canary_split.hpp). The weight and the promoted list live in flags, so
// every gateway on the same Redis follows one change within the flag
// store's propagation, and a restarted gateway finds them in its snapshot.

#include <algorithm>

#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "flags/flag_evaluation.hpp"
#include "services/gateway/gateway_service_state.hpp"
#include "services/redis_failure.hpp"

namespace redge {
namespace {

constexpr std::string_view kCanaryJson = "application/json";

bool hasTag(const InstanceRecord& instance, const std::string& tag) {
  return !tag.empty() &&
         std::find(instance.tags.begin(), instance.tags.end(), tag) != instance.tags.end();
}

std::string canaryActor(HttpRequest& request, const HttpResponder& responder) {
  std::string_view given = request.header("X-Redge-Actor");
  if (!given.empty()) return std::string(given.substr(0, kMaxFlagActorLength));
  return "admin-api@" + std::string(responder.peerAddress());
}

}  // namespace

void GatewayService::setUpCanary(Pool& stable, const GatewayPoolOptions& options,
                                 std::vector<std::unique_ptr<Pool>>& into) {
  Runtime& rt = context_.runtime();
  // The same health, passive and balancing settings; members of its own.
  GatewayPoolOptions side_options = options;
  side_options.members.clear();
  auto side =
      std::make_unique<Pool>(*this, stable.name + "/canary", side_options, Pool::Side::Canary);
  stable.canary = std::make_unique<Canary>(rt.metrics, stable.name, options.canary);
  stable.side_stats = &stable.canary->stable_stats;
  side->side_stats = &stable.canary->canary_stats;
  side->other = &stable;
  stable.other = side.get();
  for (const GatewayMemberOptions& m : options.canary.members) {
    side->pool->addMember(m.address, m.resolved_host, m.port, static_cast<uint32_t>(m.weight));
  }
  into.push_back(std::move(side));
}

GatewayService::Pool& GatewayService::chooseSide(Pool& stable, const HttpRequest& request,
                                                 std::string_view peer) {
  Pool& canary = *stable.other;
  // Nothing to send there: the flag is not even read.
  if (flags_ == nullptr || canary.pool->eligibleCount() == 0) return stable;
  Canary& c = *stable.canary;
  const Flag* flag = c.weight_ref.get(*flags_);
  if (flag == nullptr || !flag->enabled) return stable;
  std::optional<std::string_view> key;
  uint32_t draw = 0;
  if (c.stickiness) {
    key = requestStickiness(*c.stickiness, request, peer);
  } else {
    draw = static_cast<uint32_t>(random_.next() % kFlagBuckets);
  }
  return routeToCanary(flag, key, draw) ? canary : stable;
}

void GatewayService::placeInstance(Pool& stable, const InstanceRecord& instance, bool present) {
  if (!stable.canary) {
    stable.pool->onInstance(instance.id, instance.address, present);
    return;
  }
  const Canary& c = *stable.canary;
  const Flag* promoted = flags_ != nullptr ? flags_->find(c.promoted_flag) : nullptr;
  bool canary = hasTag(instance, c.tag) && !isPromoted(promoted, instance.address);
  // Joins its side before it leaves the other: a member moving sides is
  // never out of the fleet.
  Pool& to = canary ? *stable.other : stable;
  Pool& from = canary ? stable : *stable.other;
  to.pool->onInstance(instance.id, instance.address, present);
  from.pool->onInstance(instance.id, instance.address, false);
}

void GatewayService::reconcileCanary(Pool& stable) {
  Canary& c = *stable.canary;
  Pool& canary = *stable.other;
  const Flag* promoted = flags_ != nullptr ? flags_->find(c.promoted_flag) : nullptr;
  for (const GatewayMemberOptions& m : c.members) {
    bool now = isPromoted(promoted, m.address);
    bool was = c.promoted_here.count(m.address) != 0;
    if (now == was) continue;
    Pool& to = now ? stable : canary;
    Pool& from = now ? canary : stable;
    to.pool->addMember(m.address, m.resolved_host, m.port, static_cast<uint32_t>(m.weight));
    from.pool->releaseMember(m.address);
    if (now) {
      c.promoted_here.insert(m.address);
    } else {
      c.promoted_here.erase(m.address);
    }
    REDGE_LOG(Info, "gateway_canary_member_moved")
        .kv("pool", stable.name)
        .kv("member", m.address)
        .kv("side", now ? "stable" : "canary")
        .kv("flag", c.promoted_flag);
  }
  if (registry_ != nullptr && !stable.pool->discover().empty()) {
    for (const InstanceRecord& i : registry_->instances(stable.pool->discover())) {
      placeInstance(stable, i, true);
    }
  }
  c.weight.set(canaryWeight(flags_ != nullptr ? flags_->find(c.flag) : nullptr));
}

void GatewayService::onFlagChange(std::string_view flag) {
  if (closed_) return;
  for (auto& p : pools_) {
    if (!p->canary) continue;
    Canary& c = *p->canary;
    if (flag == c.promoted_flag) {
      reconcileCanary(*p);
    } else if (flag == c.flag) {
      double before = c.weight.value();
      double now = canaryWeight(flags_->find(c.flag));
      c.weight.set(now);
      if (before != now) {
        REDGE_LOG(Info, "gateway_canary_weight")
            .kv("pool", p->name)
            .kv("flag", c.flag)
            .kv("weight", now)
            .kv("was", before);
      }
    }
  }
}

// ---------------------------------------------------------------- admin

void GatewayService::routeCanaryAdmin(HttpServer& admin) {
  admin.route(HttpMethod::Get, "/canary",
              [this](HttpRequest&, const HttpResponder& res) { onCanaryList(res); });
  admin.route(HttpMethod::Post, "/canary/{pool}/abort",
              [this](HttpRequest& req, const HttpResponder& res) { onCanaryAbort(req, res); });
  admin.route(HttpMethod::Post, "/canary/{pool}/promote",
              [this](HttpRequest& req, const HttpResponder& res) { onCanaryPromote(req, res); });
}

GatewayService::Pool* GatewayService::findCanaryPool(std::string_view name,
                                                     const HttpResponder& responder) {
  for (auto& p : pools_) {
    if (p->canary && p->name == name) return p.get();
  }
  responder.sendError(404, "unknown_canary_pool",
                      "No gateway pool named '" + std::string(name) +
                          "' has a canary side; GET /canary lists those that do.",
                      0, {{"pool", name}});
  return nullptr;
}

void GatewayService::onCanaryList(const HttpResponder& responder) {
  std::string body;
  JsonWriter w(body);
  w.startObject();
  w.key("pools").startArray();
  for (auto& p : pools_) {
    if (!p->canary) continue;
    const Canary& c = *p->canary;
    const Flag* flag = flags_ != nullptr ? flags_->find(c.flag) : nullptr;
    w.startObject();
    w.key("pool").string(p->name);
    w.key("flag").string(c.flag);
    w.key("weight").rawValue(formatNumber(canaryWeight(flag)));
    w.key("flag_exists").boolean(flag != nullptr);
    w.key("stickiness").string(c.stickiness ? c.stickiness->text() : "random");
    w.key("tag").string(c.tag);
    for (const Pool* side : {p.get(), p->other}) {
      w.key(side->side == Pool::Side::Stable ? "stable" : "canary").startObject();
      w.key("requests").integer(static_cast<int64_t>(side->side_stats->requests.value()));
      w.key("members").startArray();
      for (uint32_t i = 0; i < side->clients.size(); ++i) {  // by member index
        const PoolMember* m = side->pool->member(i);
        if (m == nullptr) continue;
        w.startObject();
        w.key("name").string(m->name);
        w.key("health").string(side->pool->healthWord(m->index));
        w.key("inflight").integer(m->inflight);
        w.key("requests").integer(static_cast<int64_t>(m->requests));
        w.endObject();
      }
      w.endArray();
      w.endObject();
    }
    w.endObject();
  }
  w.endArray();
  w.endObject();
  body.push_back('\n');
  responder.send(HttpResponse(200, std::string(kCanaryJson), body));
}

void GatewayService::writeStatus(JsonWriter& w) const {
  constexpr uint32_t kMaxMembersShown = 100;
  w.startArray();
  for (const auto& p : pools_) {
    w.startObject();
    w.key("pool").string(p->name);
    w.key("side").string(p->other == nullptr             ? ""
                         : p->side == Pool::Side::Canary ? "canary"
                                                         : "stable");
    if (p->canary) {
      const Flag* flag = flags_ != nullptr ? flags_->find(p->canary->flag) : nullptr;
      w.key("canary_weight").rawValue(formatNumber(canaryWeight(flag)));
    }
    w.key("requests").integer(static_cast<int64_t>(p->pool->stats().requests_total.value()));
    w.key("members").startArray();
    uint32_t shown = 0;
    for (uint32_t i = 0; i < p->clients.size() && shown < kMaxMembersShown; ++i) {
      const PoolMember* m = p->pool->member(i);
      if (m == nullptr) continue;
      ++shown;
      w.startObject();
      w.key("name").string(m->name);
      w.key("health").string(p->pool->healthWord(m->index));
      w.key("inflight").integer(m->inflight);
      w.key("requests").integer(static_cast<int64_t>(m->requests));
      w.endObject();
    }
    w.endArray();
    w.endObject();
  }
  w.endArray();
}

void GatewayService::onCanaryAbort(HttpRequest& request, const HttpResponder& responder) {
  Pool* p = findCanaryPool(request.param(0), responder);
  if (p == nullptr) return;
  if (flags_ == nullptr) {
    responder.sendError(409, "flags_disabled",
                        "The canary's weight is a feature flag, and the flags module is off; set "
                        "flags.enabled=true.");
    return;
  }
  Canary& c = *p->canary;
  c.aborts.inc();
  std::string pool = p->name;
  double before = canaryWeight(flags_->find(c.flag));
  flags_->setEnabled(
      c.flag, false, canaryActor(request, responder),
      [this, responder, pool, flag = c.flag, before](RedisStatus s, const redisReply* reply,
                                                     const FlagWriteResult& result) {
        if (closed_) return;
        if (s != RedisStatus::Ok) {
          REDGE_LOG(Warn, "gateway_canary_abort_failed").kv("pool", pool).kv("flag", flag);
          answerRedisFailure(responder, s, reply, context_.redis());
          return;
        }
        // No such flag: the weight was 0 already.
        REDGE_LOG(Warn, "gateway_canary_aborted")
            .kv("pool", pool)
            .kv("flag", flag)
            .kv("weight_before", before)
            .kv("flag_found", result.status != FlagWriteStatus::NotFound);
        std::string body;
        JsonWriter w(body);
        w.startObject();
        w.key("pool").string(pool);
        w.key("flag").string(flag);
        w.key("weight").integer(0);
        w.key("weight_before").rawValue(formatNumber(before));
        w.endObject();
        body.push_back('\n');
        responder.send(HttpResponse(200, std::string(kCanaryJson), body));
      });
}

void GatewayService::onCanaryPromote(HttpRequest& request, const HttpResponder& responder) {
  Pool* p = findCanaryPool(request.param(0), responder);
  if (p == nullptr) return;
  if (flags_ == nullptr) {
    responder.sendError(409, "flags_disabled",
                        "Promotion is kept in a feature flag, and the flags module is off; set "
                        "flags.enabled=true.");
    return;
  }
  Canary& c = *p->canary;
  std::set<std::string> members_now;
  std::vector<std::string> canary_now;
  for (const Pool* side : {p, p->other}) {
    for (uint32_t i = 0; i < side->clients.size(); ++i) {
      const PoolMember* m = side->pool->member(i);
      if (m == nullptr) continue;
      members_now.insert(m->name);
      if (side->side == Pool::Side::Canary) canary_now.push_back(m->name);
    }
  }
  if (canary_now.empty()) {
    responder.sendError(409, "no_canary_members",
                        "Pool '" + p->name +
                            "' has no canary member to promote; register instances with tag '" +
                            c.tag + "' or list them in its canary.members.",
                        0, {{"pool", p->name}});
    return;
  }
  c.promotions.inc();
  Flag promoted =
      promotedFlag(c.flag, p->name, flags_->find(c.promoted_flag), members_now, canary_now);
  std::string actor = canaryActor(request, responder);
  promoted.updated_by = actor;
  std::string pool = p->name;
  std::string weight_flag = c.flag;
  flags_->put(promoted, "",
              [this, responder, pool, weight_flag, actor, canary_now](
                  RedisStatus s, const redisReply* reply, const FlagWriteResult&) {
                if (closed_) return;
                if (s != RedisStatus::Ok) {
                  REDGE_LOG(Warn, "gateway_canary_promote_failed").kv("pool", pool);
                  answerRedisFailure(responder, s, reply, context_.redis());
                  return;
                }
                std::string names;
                for (const std::string& n : canary_now) names += (names.empty() ? "" : ",") + n;
                REDGE_LOG(Info, "gateway_canary_promoted")
                    .kv("pool", pool)
                    .kv("members", names)
                    .kv("actor", actor);
                // The next canary starts from nothing, not from the last weight.
                flags_->setEnabled(weight_flag, false, actor,
                                   [](RedisStatus, const redisReply*, const FlagWriteResult&) {});
                std::string body;
                JsonWriter w(body);
                w.startObject();
                w.key("pool").string(pool);
                w.key("promoted").startArray();
                for (const std::string& n : canary_now) w.string(n);
                w.endArray();
                w.endObject();
                body.push_back('\n');
                responder.send(HttpResponse(200, std::string(kCanaryJson), body));
              });
}

}  // namespace redge
