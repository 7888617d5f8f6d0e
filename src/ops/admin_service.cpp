// Admin routes. /metrics renders the one registry every module counts into
// (in a worker of a group, the registry's hook renders the group's). /healthz
// and /readyz answer for the group when there is one (ops/workers/).

#include "ops/admin_service.hpp"

namespace redge {

AdminService::AdminService(HttpServer& server, MetricsRegistry& metrics, RedisClient& redis,
                           const WorkerGroup* group)
    : metrics_(metrics), redis_(redis), group_(group) {
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
