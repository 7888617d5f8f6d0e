// HttpServer: the routes with their per-status counters and latency
// histograms, error accounting, and the per-iteration clock; the listener,
// connection table and flushing are the StreamServer's.

#include "net/http/http_server.hpp"

#include <cassert>
#include <ctime>

#include "core/log.hpp"
#include "net/http/http_connection.hpp"

namespace redge {

// ---------------------------------------------------------------- responder

void HttpResponder::send(const HttpResponse& response) const {
  if (server_ == nullptr) return;
  HttpConnection* c = server_->findHttpConnection(connection_id_);
  if (c != nullptr) c->deliver(seq_, response);
}

void HttpResponder::sendError(int status, std::string_view code, std::string_view message,
                              int retry_after_s, std::initializer_list<ErrorField> extra) const {
  if (server_ == nullptr) return;
  server_->recordError(status, code, message);
  deliverErrorResponse(status, code, message, retry_after_s, extra,
                       [this](const HttpResponse& r) { send(r); });
}

bool HttpResponder::alive() const {
  if (server_ == nullptr) return false;
  HttpConnection* c = server_->findHttpConnection(connection_id_);
  return c != nullptr && c->awaits(seq_);
}

std::string_view HttpResponder::peerAddress() const {
  if (server_ == nullptr) return {};
  HttpConnection* c = server_->findHttpConnection(connection_id_);
  return c != nullptr ? c->peerAddress() : std::string_view();
}

// ---------------------------------------------------------------- server

namespace {

StreamServerOptions toStreamOptions(const HttpServerOptions& o) {
  StreamServerOptions s;
  s.service = o.service;
  s.protocol = "http";
  s.bind = o.bind;
  s.port = o.port;
  s.max_connections = o.max_connections;
  s.max_output_bytes = o.max_output_bytes;
  s.idle_timeout_ms = o.idle_timeout_ms;
  s.write_stall_ms = o.idle_timeout_ms;
  return s;
}

}  // namespace

HttpServer::HttpServer(Runtime& runtime, HttpServerOptions options)
    : StreamServer(runtime, toStreamOptions(options)),
      clock_(runtime.clock),
      metrics_(runtime.metrics),
      options_(std::move(options)) {
  not_routed_.name = "unrouted";
  not_routed_.max_body_bytes = options_.max_body_bytes;
  not_routed_.latency = &metrics_.histogram(
      "redge_http_request_duration_seconds", "Time from first byte to answer, by route",
      {{"service", options_.service}, {"route", not_routed_.name}});
}

HttpServer::~HttpServer() = default;  // close() and a loop run come first; see the header

void HttpServer::route(HttpMethod method, std::string_view pattern, HttpHandler handler,
                       int64_t max_body_bytes) {
  addRoute(router_.add(method, pattern), std::string(pattern), std::move(handler), max_body_bytes);
}

void HttpServer::streamRoute(HttpMethod method, std::string_view pattern, HttpStreamEntry entry,
                             int64_t max_body_bytes) {
  int id = router_.add(method, pattern);
  addRoute(id, std::string(pattern), nullptr, max_body_bytes);
  routes_.back().stream = std::move(entry);
}

void HttpServer::routeAll(HttpHandler handler, int64_t max_body_bytes) {
  // It takes a router id like any route, so the router's numbering and this
  // table's stay one; matchRoute() then sends it whatever no other route
  // takes. Its own pattern (a method redge does not name, on the root) only
  // matches requests it would take anyway.
  catch_all_ = static_cast<int>(routes_.size());
  addRoute(router_.add(HttpMethod::Other, "/"), "*", std::move(handler), max_body_bytes);
}

void HttpServer::addRoute(int id, std::string name, HttpHandler handler, int64_t max_body_bytes) {
  // The router numbers routes in the order they are added, as this table does.
  assert(static_cast<size_t>(id) == routes_.size());
  (void)id;
  RouteEntry e;
  e.name = std::move(name);
  e.handler = std::move(handler);
  e.max_body_bytes = max_body_bytes < 0 ? options_.max_body_bytes : max_body_bytes;
  for (const auto& [pattern, guard] : guards_) {
    if (pattern == e.name) e.guard = guard;
  }
  e.latency = &metrics_.histogram("redge_http_request_duration_seconds",
                                  "Time from first byte to answer, by route",
                                  {{"service", options_.service}, {"route", e.name}});
  routes_.push_back(std::move(e));
}

void HttpServer::streamAll(std::string_view name, HttpStreamEntry entry, int64_t max_body_bytes) {
  stream_entry_ = std::move(entry);
  stream_max_body_bytes_ = max_body_bytes;
  // A route entry of its own (not in the router), for the per-status
  // counters and the latency histogram.
  RouteEntry e;
  e.name = std::string(name);
  e.max_body_bytes = max_body_bytes;
  e.latency = &metrics_.histogram("redge_http_request_duration_seconds",
                                  "Time from first byte to answer, by route",
                                  {{"service", options_.service}, {"route", e.name}});
  stream_route_id_ = static_cast<int>(routes_.size());
  routes_.push_back(std::move(e));
}

StreamConnection* HttpServer::newConnection(uint64_t id) {
  return new HttpConnection(*this, id);
}

void HttpServer::onRefused() {
  recordError(503, "too_many_connections", "connection limit reached");
}

HttpConnection* HttpServer::findHttpConnection(uint64_t id) const {
  return static_cast<HttpConnection*>(findConnection(id));
}

RouteMatch HttpServer::matchRoute(HttpRequest& request) const {
  RouteMatch m = router_.match(request.method, request.path(), request.params());
  if (m.kind != RouteMatch::Kind::Found && catch_all_ >= 0) {
    m.kind = RouteMatch::Kind::Found;
    m.route_id = catch_all_;
    m.allow.clear();
  }
  return m;
}

int64_t HttpServer::routeBodyLimit(int route_id) const {
  if (route_id < 0 || static_cast<size_t>(route_id) >= routes_.size())
    return options_.max_body_bytes;
  return routes_[static_cast<size_t>(route_id)].max_body_bytes;
}

void HttpServer::dispatch(int route_id, HttpRequest& request, const HttpResponder& responder) {
  RouteEntry& e = routes_[static_cast<size_t>(route_id)];
  if (e.guard && !e.guard(request, responder)) return;
  e.handler(request, responder);
}

void HttpServer::guardRoute(std::string_view pattern, RouteGuard guard) {
  for (RouteEntry& e : routes_) {
    if (e.name == pattern) e.guard = guard;
  }
  guards_.emplace_back(std::string(pattern), std::move(guard));
}

bool HttpServer::hasRoute(std::string_view pattern) const {
  for (const RouteEntry& e : routes_) {
    if (e.name == pattern) return true;
  }
  return false;
}

Counter& HttpServer::statusCounter(int route_id, int status) {
  RouteEntry& e = route_id >= 0 ? routes_[static_cast<size_t>(route_id)] : not_routed_;
  for (auto& [s, c] : e.by_status) {
    if (s == status) return *c;
  }
  Counter& c = metrics_.counter(
      "redge_http_requests_total", "HTTP requests answered, by service, route and status",
      {{"service", options_.service}, {"route", e.name}, {"status", std::to_string(status)}});
  e.by_status.emplace_back(status, &c);
  return c;
}

void HttpServer::recordResponse(int route_id, int status, int64_t started_us) {
  statusCounter(route_id, status).inc();
  RouteEntry& e = route_id >= 0 ? routes_[static_cast<size_t>(route_id)] : not_routed_;
  int64_t now_us = nowUs();
  double seconds = started_us > 0 ? static_cast<double>(now_us - started_us) / 1e6 : 0.0;
  e.latency->observe(seconds);
  if (options_.access_log) {
    REDGE_LOG(Info, "access")
        .kv("service", options_.service)
        .kv("route", e.name)
        .kv("status", status)
        .kv("duration_us", now_us - started_us);
  }
}

Counter& HttpServer::errorCounter(std::string_view code) {
  // Error codes are a handful of constants: bound once each, then found by a
  // short scan, with no label text built per error.
  for (auto& [c, counter] : error_counters_) {
    if (c == code) return *counter;
  }
  Counter& counter =
      metrics_.counter("redge_http_errors_total", "Error answers by service and error code",
                       {{"service", options_.service}, {"code", std::string(code)}});
  error_counters_.emplace_back(std::string(code), &counter);
  return counter;
}

void HttpServer::recordError(int status, std::string_view code, std::string_view message) {
  errorCounter(code).inc();
  logError(status >= 500 ? LogLevel::Warn : LogLevel::Info, code, message, status);
}

void HttpServer::refuse(const HttpRefusal& refusal,
                        const std::function<void(const HttpResponse&)>& deliver) {
  recordError(refusal.status, refusal.code, refusal.message);
  std::string body = errorBody(refusal.code, refusal.message);
  HttpResponse r(refusal.status, "application/json", body);
  if (!refusal.header_name.empty()) r.header(refusal.header_name, refusal.header_value);
  deliver(r);
}

void HttpServer::refreshClock() {
  uint64_t loop_ms = uv_now(loop());
  if (loop_ms == clock_loop_ms_) return;
  clock_loop_ms_ = loop_ms;
  now_us_ = clock_.nowUs();
  now_s_ = static_cast<time_t>(wallClockMs() / 1000);
}

int64_t HttpServer::nowUs() {
  refreshClock();
  return now_us_;
}

std::string_view HttpServer::date() {
  refreshClock();
  return date_.get(now_s_);
}

}  // namespace redge
