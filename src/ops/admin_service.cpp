// Admin routes. /metrics renders the one registry every module counts into.

#include "ops/admin_service.hpp"

namespace redge {

AdminService::AdminService(HttpServer& server, MetricsRegistry& metrics, RedisClient& redis)
    : metrics_(metrics), redis_(redis) {
  server.route(HttpMethod::Get, "/metrics", [this](HttpRequest&, const HttpResponder& res) {
    std::string text = metrics_.render();
    res.send(HttpResponse(200, "text/plain; version=0.0.4; charset=utf-8", text));
  });
  server.route(HttpMethod::Get, "/healthz", [](HttpRequest&, const HttpResponder& res) {
    res.send(HttpResponse(200, "application/json", "{\"status\":\"ok\"}"));
  });
  server.route(HttpMethod::Get, "/readyz", [this](HttpRequest&, const HttpResponder& res) {
    if (redis_.ready()) {
      return res.send(
          HttpResponse(200, "application/json", "{\"status\":\"ready\",\"redis\":\"up\"}"));
    }
    res.sendError(503, "redis_unavailable",
                  "Not ready: Redis is not connected; redge keeps reconnecting.",
                  redis_.retryAfterSeconds());
  });
}

}  // namespace redge
