// ModuleContext: the listeners modules create, held until the daemon takes
// them, and the HTTP options every listener shares.

#include "services/service.hpp"

namespace redge {

HttpServerOptions ModuleContext::httpServerOptions(std::string service, const std::string& bind,
                                                   int64_t port) const {
  const HttpConfig& http = config_.http;
  HttpServerOptions o;
  o.service = std::move(service);
  o.bind = bind;
  o.port = static_cast<int>(port);
  o.max_connections = http.max_connections;
  o.max_header_bytes = http.max_header_bytes;
  o.max_body_bytes = http.max_body_bytes;
  o.header_timeout_ms = http.header_timeout_ms;
  o.idle_timeout_ms = http.idle_timeout_ms;
  o.max_output_bytes = http.max_output_bytes;
  o.body_min_rate = http.body_min_rate;
  o.access_log = config_.log.access;
  return o;
}

HttpServer& ModuleContext::addHttpServer(HttpServerOptions options) {
  auto server = std::make_unique<HttpServer>(runtime_, std::move(options));
  HttpServer& ref = *server;
  http_servers_.push_back(&ref);
  listeners_.push_back(std::move(server));
  return ref;
}

RespServer& ModuleContext::addRespServer(RespServerOptions options, RespHandler handler) {
  auto server = std::make_unique<RespServer>(runtime_, std::move(options), std::move(handler));
  RespServer& ref = *server;
  listeners_.push_back(std::move(server));
  return ref;
}

HttpServer* ModuleContext::findHttpServer(std::string_view service) const {
  for (HttpServer* s : http_servers_) {
    if (s->options().service == service) return s;
  }
  return nullptr;
}

}  // namespace redge
