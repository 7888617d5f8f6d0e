// HttpServer: the listener, the table of live connections by id, the routes
// with their per-status counters and latency histograms, and the flush check
// that batches asynchronous answers into one write per connection per loop
// iteration.

#include "net/http/http_server.hpp"

#include <charconv>
#include <ctime>

#include "core/log.hpp"
#include "net/http/http_connection.hpp"
#include "net/tcp_listen.hpp"

namespace redge {

// ---------------------------------------------------------------- responder

void HttpResponder::send(const HttpResponse& response) const {
  if (server_ == nullptr) return;
  HttpConnection* c = server_->findConnection(connection_id_);
  if (c != nullptr) c->deliver(seq_, response);
}

void HttpResponder::sendError(int status, std::string_view code, std::string_view message,
                              int retry_after_s, std::string_view extra_json) const {
  if (server_ == nullptr) return;
  server_->recordError(status, code, message);
  std::string body = errorBody(code, message, extra_json);
  HttpResponse r(status, "application/json", body);
  char num[16];
  if (retry_after_s > 0) {
    auto res = std::to_chars(num, num + sizeof num, retry_after_s);
    r.header("Retry-After", std::string_view(num, static_cast<size_t>(res.ptr - num)));
  }
  send(r);
}

bool HttpResponder::alive() const {
  if (server_ == nullptr) return false;
  HttpConnection* c = server_->findConnection(connection_id_);
  return c != nullptr && c->awaits(seq_);
}

// ---------------------------------------------------------------- server

HttpServerStats HttpServer::bindStats(MetricsRegistry& metrics, const std::string& service) {
  StatsBinder stats_binder(metrics, "redge_http_", {{"service", service}});
  return REDGE_STATS_BIND(REDGE_HTTP_SERVER_STATS);
}

HttpServer::HttpServer(Runtime& runtime, HttpServerOptions options)
    : loop_(runtime.loop),
      clock_(runtime.clock),
      hooks_(runtime.hooks),
      metrics_(runtime.metrics),
      options_(std::move(options)),
      read_buffer_(new char[kReadBufferSize]),
      stats_(bindStats(runtime.metrics, options_.service)) {
  not_routed_.name = "unrouted";
  not_routed_.max_body_bytes = options_.max_body_bytes;
  not_routed_.latency = &metrics_.histogram(
      "redge_http_request_duration_seconds", "Time from first byte to answer, by route",
      {{"service", options_.service}, {"route", not_routed_.name}});
  flush_hook_ = hooks_.addAfterPoll([this] { flushScheduled(); });
}

HttpServer::~HttpServer() = default;  // close() and a loop run come first; see the header

void HttpServer::route(HttpMethod method, std::string_view pattern, HttpHandler handler,
                       int64_t max_body_bytes) {
  int id = router_.add(method, pattern);
  RouteEntry e;
  e.name = std::string(pattern);
  e.handler = std::move(handler);
  e.max_body_bytes = max_body_bytes < 0 ? options_.max_body_bytes : max_body_bytes;
  e.latency = &metrics_.histogram("redge_http_request_duration_seconds",
                                  "Time from first byte to answer, by route",
                                  {{"service", options_.service}, {"route", e.name}});
  if (static_cast<size_t>(id) != routes_.size()) return;  // router and table stay in step
  routes_.push_back(std::move(e));
}

int HttpServer::listen() {
  uv_tcp_init(loop_, &listener_);
  listener_.data = this;
  listener_closed_ = false;
  listener_handle_open_ = true;
  int rc = tcpBindAndListen(&listener_, options_.bind, options_.port, &onConnectionCb, bound_port_);
  if (rc != 0) {
    listener_closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), &onListenerClosedCb);
    return rc;
  }
  listening_ = true;
  REDGE_LOG(Info, "listening")
      .kv("service", options_.service)
      .kv("bind", options_.bind)
      .kv("port", bound_port_);
  return 0;
}

void HttpServer::onConnectionCb(uv_stream_t* listener, int status) noexcept {
  auto* s = static_cast<HttpServer*>(listener->data);
  if (s == nullptr) return;
  s->onConnection(status);
}

void HttpServer::onConnection(int status) {
  if (status < 0 || closing_) return;
  uint64_t id = next_connection_id_++;
  auto* c = new HttpConnection(*this, id);
  ++connections_alive_;
  // Refused connections linger briefly after their 503 / -ERR; they do not
  // count against the limit, or a client that keeps its refused socket open
  // would hold a slot.
  bool over_limit =
      static_cast<int64_t>(connections_.size() - refused_open_) >= options_.max_connections;
  connections_.emplace(id, c);
  if (c->accept(reinterpret_cast<uv_stream_t*>(&listener_)) != 0) return;
  if (over_limit) {
    ++refused_open_;
    c->markRefused();
    stats_.connections_rejected_total.inc();
    recordError(503, "too_many_connections", "connection limit reached");
    c->rejectOverloaded();
    return;
  }
  stats_.connections_accepted_total.inc();
  stats_.connections_open.set(static_cast<double>(connections_.size()));
  if (draining_) c->closeWhenIdle();
}

HttpConnection* HttpServer::findConnectionSlow(uint64_t id) const {
  auto it = connections_.find(id);
  return it == connections_.end() ? nullptr : it->second;
}

RouteMatch HttpServer::matchRoute(HttpRequest& request) const {
  return router_.match(request.method, request.path(), request.params());
}

int64_t HttpServer::routeBodyLimit(int route_id) const {
  if (route_id < 0 || static_cast<size_t>(route_id) >= routes_.size())
    return options_.max_body_bytes;
  return routes_[static_cast<size_t>(route_id)].max_body_bytes;
}

void HttpServer::dispatch(int route_id, HttpRequest& request, const HttpResponder& responder) {
  RouteEntry& e = routes_[static_cast<size_t>(route_id)];
  e.handler(request, responder);
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
  // One line per error would let a misbehaving client flood the journal: at
  // most kErrorLinesPerSecond a second, and the next line says how many were
  // left out.
  int64_t second = static_cast<int64_t>(uv_now(loop_) / 1000);
  if (second != error_log_second_) {
    error_log_second_ = second;
    error_lines_this_second_ = 0;
  }
  if (error_lines_this_second_ >= kErrorLinesPerSecond) {
    ++error_lines_suppressed_;
    return;
  }
  ++error_lines_this_second_;
  LogLine line(status >= 500 ? LogLevel::Warn : LogLevel::Info, "http_error");
  line.kv("service", options_.service)
      .kv("status", status)
      .kv("error", code)
      .kv("message", message);
  if (error_lines_suppressed_ > 0) {
    line.kv("suppressed", error_lines_suppressed_);
    error_lines_suppressed_ = 0;
  }
}

void HttpServer::refreshClock() {
  uint64_t loop_ms = uv_now(loop_);
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

void HttpServer::scheduleFlush(uint64_t connection_id) {
  flush_pending_.push_back(connection_id);
}

void HttpServer::flushScheduled() {
  if (flush_pending_.empty()) return;
  std::vector<uint64_t> ids;
  ids.swap(flush_pending_);
  for (uint64_t id : ids) {
    if (HttpConnection* c = findConnection(id)) c->flush();
  }
  if (flush_pending_.empty()) {
    ids.clear();
    flush_pending_.swap(ids);  // keep the capacity
  }
}

void HttpServer::beginDrain() {
  if (draining_) return;
  draining_ = true;
  if (listening_ && !listener_closed_) {
    listener_closed_ = true;
    listening_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), &onListenerClosedCb);
  }
  std::vector<HttpConnection*> all;
  for (auto& [id, c] : connections_) all.push_back(c);
  for (HttpConnection* c : all) c->closeWhenIdle();
}

void HttpServer::close(std::function<void()> on_closed) {
  if (closing_) return;
  closing_ = true;
  draining_ = true;
  on_closed_ = std::move(on_closed);
  if (!listener_closed_) {
    listener_closed_ = true;
    listening_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), &onListenerClosedCb);
  }
  std::vector<HttpConnection*> all;
  for (auto& [id, c] : connections_) all.push_back(c);
  for (HttpConnection* c : all) c->close();
  if (flush_hook_ != 0) {
    hooks_.remove(flush_hook_);
    flush_hook_ = 0;
  }
  maybeFinishClose();
}

void HttpServer::onListenerClosedCb(uv_handle_t* handle) noexcept {
  auto* s = static_cast<HttpServer*>(handle->data);
  s->listener_handle_open_ = false;
  s->maybeFinishClose();
}

void HttpServer::onConnectionClosed(HttpConnection* connection) {
  if (current_ == connection) current_ = nullptr;
  if (connection->refused()) --refused_open_;
  connections_.erase(connection->id());
  stats_.connections_open.set(static_cast<double>(connections_.size()));
}

void HttpServer::releaseConnection(HttpConnection* connection) {
  delete connection;
  --connections_alive_;
  maybeFinishClose();
}

void HttpServer::maybeFinishClose() {
  if (!closing_ || listener_handle_open_ || connections_alive_ != 0) return;
  if (on_closed_) {
    auto cb = std::move(on_closed_);
    on_closed_ = nullptr;
    cb();
  }
}

}  // namespace redge
