// The gateway's reload plan: which pools a new gateway.pools keeps, changes
// in place (static members only), rebuilds, adds and removes, and which
// route caches survive a reload.

#include "services/gateway/gateway_reload_plan.hpp"

#include <catch2/catch.hpp>

namespace redge {
namespace {

GatewayMemberOptions member(const std::string& address, int64_t weight = 1) {
  GatewayMemberOptions m;
  m.address = address;
  m.weight = weight;
  auto colon = address.rfind(':');
  m.resolved_host = address.substr(0, colon);
  m.port = std::stoi(address.substr(colon + 1));
  return m;
}

GatewayPoolOptions pool(std::vector<GatewayMemberOptions> members) {
  GatewayPoolOptions p;
  p.members = std::move(members);
  return p;
}

const PoolPlan& planOf(const GatewayReloadPlan& plan, const std::string& name) {
  const PoolPlan* p = plan.find(name);
  REQUIRE(p != nullptr);
  return *p;
}

}  // namespace

TEST_CASE("gateway reload plan: kept, added and removed pools", "[gateway][reload]") {
  std::map<std::string, GatewayPoolOptions> running = {
      {"web", pool({member("10.0.0.1:80"), member("10.0.0.2:80")})},
      {"old", pool({member("10.0.0.9:80")})},
  };
  std::map<std::string, GatewayPoolOptions> next = {
      {"web", pool({member("10.0.0.1:80"), member("10.0.0.2:80")})},
      {"api", pool({member("10.0.1.1:80")})},
  };
  GatewayReloadPlan plan = planGatewayReload(running, next);
  CHECK(planOf(plan, "web").change == PoolChange::Kept);
  CHECK(planOf(plan, "api").change == PoolChange::Added);
  CHECK(planOf(plan, "old").change == PoolChange::Removed);
  CHECK(plan.kept == 1);
  CHECK(plan.changed == 0);
  CHECK(plan.added == 1);
  CHECK(plan.removed == 1);
  CHECK(plan.pools.size() == 3);
  CHECK(plan.find("nothing") == nullptr);
}

TEST_CASE("gateway reload plan: a member list change is made in place", "[gateway][reload]") {
  std::map<std::string, GatewayPoolOptions> running = {
      {"web", pool({member("10.0.0.1:80"), member("10.0.0.2:80")})}};
  // Order does not matter; one leaves, one joins.
  std::map<std::string, GatewayPoolOptions> next = {
      {"web", pool({member("10.0.0.3:80", 2), member("10.0.0.1:80")})}};
  GatewayReloadPlan plan = planGatewayReload(running, next);
  const PoolPlan& web = planOf(plan, "web");
  REQUIRE(web.change == PoolChange::Members);
  REQUIRE(web.join.size() == 1);
  CHECK(web.join[0].address == "10.0.0.3:80");
  CHECK(web.join[0].weight == 2);
  CHECK(web.leave == std::vector<std::string>{"10.0.0.2:80"});
  CHECK(plan.changed == 1);
  CHECK(plan.rebuilt == 0);

  // The same members in another order: kept as it is.
  std::map<std::string, GatewayPoolOptions> reordered = {
      {"web", pool({member("10.0.0.2:80"), member("10.0.0.1:80")})}};
  GatewayReloadPlan same = planGatewayReload(running, reordered);
  CHECK(planOf(same, "web").change == PoolChange::Kept);
  CHECK(same.kept == 1);
}

TEST_CASE("gateway reload plan: other changes rebuild the pool", "[gateway][reload]") {
  std::map<std::string, GatewayPoolOptions> running = {
      {"web", pool({member("10.0.0.1:80"), member("10.0.0.2:80")})}};
  auto rebuilt = [&](const GatewayPoolOptions& next) {
    GatewayReloadPlan plan = planGatewayReload(running, {{"web", next}});
    return planOf(plan, "web").change == PoolChange::Rebuilt && plan.rebuilt == 1 &&
           plan.changed == 1;
  };
  GatewayPoolOptions o = running["web"];
  o.balance = "least_request";
  CHECK(rebuilt(o));
  o = running["web"];
  o.health.interval_ms = 500;
  CHECK(rebuilt(o));
  o = running["web"];
  o.passive.consecutive_failures = 0;
  CHECK(rebuilt(o));
  o = running["web"];
  o.hash_by = "header:X-User";
  CHECK(rebuilt(o));
  o = running["web"];
  o.discover = "web";
  CHECK(rebuilt(o));
  o = running["web"];
  o.canary.members.push_back(member("10.0.0.7:80"));
  CHECK(rebuilt(o));
  // A kept address with another weight, or resolving elsewhere.
  o = running["web"];
  o.members[1].weight = 5;
  CHECK(rebuilt(o));
  o = running["web"];
  o.members[0].resolved_host = "10.9.9.9";
  CHECK(rebuilt(o));
  // Members and an option at once: rebuilt too.
  o = running["web"];
  o.members.pop_back();
  o.health.rise = 3;
  CHECK(rebuilt(o));
  // A duplicated address is not followed in place.
  o = running["web"];
  o.members.push_back(member("10.0.0.1:80"));
  CHECK(rebuilt(o));
}

TEST_CASE("gateway reload plan: a route keeps its cache only when nothing of it changed",
          "[gateway][reload]") {
  GatewayRouteOptions was;
  was.prefix = "/api/";
  was.pool = "web";
  was.cache.enabled = true;
  GatewayRouteOptions next = was;
  CHECK(keepsRouteCache(was, next));
  next.cache.default_ttl_ms = 1000;
  CHECK_FALSE(keepsRouteCache(was, next));
  next = was;
  next.pool = "api";
  CHECK_FALSE(keepsRouteCache(was, next));
  next = was;
  next.prefix = "/api/v2/";
  CHECK_FALSE(keepsRouteCache(was, next));
  next = was;
  next.host = "example.com";
  CHECK_FALSE(keepsRouteCache(was, next));
  next = was;
  next.flag = "beta";  // not the cache's meaning: kept
  CHECK(keepsRouteCache(was, next));
  next = was;
  next.cache.enabled = false;
  CHECK_FALSE(keepsRouteCache(was, next));
}

}  // namespace redge
