// Admin routes. /metrics renders the one registry every module counts into
// (in a worker of a group, the registry's hook renders the group's); /healthz
// and /readyz answer for the group when there is one (ops/workers/); the
// dashboard is three files compiled in and an event stream of the panels'
// snapshot.

#include "ops/admin_service.hpp"

#include "core/log.hpp"
#include "flags/flag_store.hpp"
#include "ops/dashboard/dashboard_assets.hpp"
#include "ops/dashboard/panels.hpp"
#include "services/discovery/service_registry.hpp"

namespace redge {
namespace {

// Nothing from elsewhere: the page, its script and its style come from this
// listener, and the script talks to /events only. No inline script is
// allowed, so markup that reached the page as data could not run.
constexpr std::string_view kDashboardPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

std::string_view assetType(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const DashboardAsset* findAsset(std::string_view name) {
  for (const DashboardAsset& a : dashboardAssets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

void sendAsset(const DashboardAsset& asset, const HttpResponder& res) {
  HttpResponse r(200, assetType(asset.name), asset.text);
  r.header("Content-Security-Policy", kDashboardPolicy);
  r.header("X-Content-Type-Options", "nosniff");
  r.header("Referrer-Policy", "no-referrer");
  r.header("Cache-Control", "no-cache");
  res.send(r);
}

}  // namespace

AdminService::AdminService(ModuleContext& context, HttpServer& server, const AdminOptions& options)
    : context_(context),
      metrics_(context.runtime().metrics),
      redis_(context.redis()),
      token_(options.effective_token),
      group_(context.find<WorkerGroup>()),
      events_(context.runtime(), dashboard_, options.events_interval_ms) {
  if (token_.active()) {
    server.screenRequests([this](const HttpRequest& request) -> std::optional<HttpRefusal> {
      return token_.check(request.method, request.path(), request.header("Authorization"));
    });
  } else if (options.bind != "127.0.0.1" && options.bind != "::1" && options.bind != "localhost") {
    REDGE_LOG(Warn, "admin_open")
        .kv("bind", options.bind)
        .kv("reason",
            "the admin listener is reachable from the network and admin.token is not set: "
            "anyone who reaches it can change flags and spawn or destroy instances");
  }
  context.provide<StatusPanels>(dashboard_);

  server.route(HttpMethod::Get, "/metrics", [this](HttpRequest&, const HttpResponder& res) {
    std::string text = metrics_.render();
    res.send(HttpResponse(200, "text/plain; version=0.0.4; charset=utf-8", text));
  });
  server.route(HttpMethod::Get, "/healthz", [this](HttpRequest&, const HttpResponder& res) {
    if (group_) return sendGroupHealth(*group_, res);
    res.send(HttpResponse(200, "application/json", "{\"status\":\"ok\"}"));
  });
  server.route(HttpMethod::Get, "/readyz", [this](HttpRequest&, const HttpResponder& res) {
    if (group_ && !groupReady(*group_, res)) return;
    if (redis_.ready()) {
      return res.send(
          HttpResponse(200, "application/json", "{\"status\":\"ready\",\"redis\":\"up\"}"));
    }
    res.sendError(503, "redis_unavailable",
                  "Not ready: Redis is not connected; redge keeps reconnecting.",
                  redis_.retryAfterSeconds());
  });
  server.route(HttpMethod::Get, "/dashboard", [](HttpRequest&, const HttpResponder& res) {
    sendAsset(*findAsset("dashboard.html"), res);
  });
  server.route(HttpMethod::Get, "/dashboard/{name}",
               [](HttpRequest& req, const HttpResponder& res) {
                 const DashboardAsset* a = findAsset(req.param(0));
                 if (a == nullptr) {
                   return res.sendError(404, "not_found",
                                        "The dashboard has no such file; open /dashboard.");
                 }
                 sendAsset(*a, res);
               });
  server.streamRoute(HttpMethod::Get, "/events",
                     [this](HttpRequest& req, const HttpExchange& ex) { events_.accept(req, ex); });

  // The panels of what was created before this module (flags) and of what
  // only the metrics show; discovery's comes in start(), alerts add theirs.
  const Clock& clock = context.runtime().clock;
  addProcessPanel(dashboard_, metrics_, clock, redis_);
  addTrafficPanel(dashboard_, metrics_, clock);
  addCachePanel(dashboard_, metrics_, clock);
  addRelayPanel(dashboard_, metrics_);
  if (FlagStore* flags = context.find<FlagStore>()) addFlagPanels(dashboard_, *flags);
}

void AdminService::start() {
  // Every module has been created by now: the registry, if discovery runs.
  if (ServiceRegistry* registry = context_.find<ServiceRegistry>()) {
    addInstancesPanel(dashboard_, *registry);
  }
}

void AdminService::beginDrain() {
  events_.close();
}

void AdminService::close(std::function<void()> done) {
  events_.close();
  if (done) done();
}

void AdminService::sendGroupHealth(const WorkerGroup& group, const HttpResponder& res) {
  WorkerGroupHealth h = group.health();
  if (h.stalled > 0) {
    return res.sendError(503, "worker_stalled",
                         "Not healthy: " + std::to_string(h.stalled) + " of " +
                             std::to_string(h.workers) +
                             " worker processes have not turned their loop for 5 s.");
  }
  res.send(HttpResponse(200, "application/json",
                        "{\"status\":\"ok\",\"workers\":" + std::to_string(h.workers) +
                            ",\"running\":" + std::to_string(h.running) + "}"));
}

bool AdminService::groupReady(const WorkerGroup& group, const HttpResponder& res) {
  WorkerGroupHealth h = group.health();
  if (h.ready >= h.workers) return true;
  res.sendError(503, "workers_not_ready",
                "Not ready: " + std::to_string(h.ready) + " of " + std::to_string(h.workers) +
                    " worker processes are ready (loop turning, Redis connected); the master "
                    "restarts those that exit.",
                1);
  return false;
}

}  // namespace redge
