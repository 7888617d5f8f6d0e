#pragma once
// An HTTP/1.1 listener: accepts connections, parses with llhttp, routes
// requests to handlers and writes their answers in request order.
//
// Lifetimes. The server owns its listener handle and every HttpConnection.
// A handler answers through an HttpResponder, a small value (server, connection
// id, sequence number) that may be copied into a Redis or upstream callback and
// used later: if the connection has gone meanwhile, send() finds no connection
// by that id and does nothing. So no callback ever holds a pointer to a
// connection. The server itself must outlive every callback that holds a
// responder: main closes Redis and upstream clients (which fail their pending
// callbacks) before it destroys any server.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "core/stats.hpp"
#include "net/http/http_date.hpp"
#include "net/http/http_exchange.hpp"
#include "net/http/http_request.hpp"
#include "net/http/http_response.hpp"
#include "net/http/router.hpp"
#include "net/stream/stream_server.hpp"

namespace redge {

class HttpServer;
class HttpConnection;

struct HttpServerOptions {
  std::string service;  // metric label and log field: "app", "admin", ...
  std::string bind = "127.0.0.1";
  int port = 0;  // 0: any free port (see HttpServer::port())
  int64_t max_connections = 10000;
  int64_t max_header_bytes = 16384;
  int64_t max_body_bytes = 1048576;
  int64_t header_timeout_ms = 10000;
  int64_t idle_timeout_ms = 60000;
  int64_t max_output_bytes = 8388608;
  // A body's deadline: header_timeout_ms from its start, extended by one
  // second for every body_min_rate bytes received (0: not extended).
  int64_t body_min_rate = 1024;
  bool access_log = false;
};

// Why a request screen (HttpServer::screenRequests) turned a request away.
struct HttpRefusal {
  int status = 403;
  std::string_view code;     // a constant: "unauthorized", "forbidden"
  std::string_view message;  // a constant sentence
  // An extra header of the answer (WWW-Authenticate on a 401); empty: none.
  std::string_view header_name;
  std::string_view header_value;
};

class HttpResponder {
 public:
  HttpResponder() = default;
  HttpResponder(HttpServer* server, uint64_t connection_id, uint64_t seq)
      : server_(server), connection_id_(connection_id), seq_(seq) {}

  // Answers the request. Safe to call after the connection has closed (it
  // then does nothing). Call exactly once.
  void send(const HttpResponse& response) const;

  // Answers with the JSON error body {"error":code,"message":message,...extra},
  // counts the code in redge_http_errors_total and logs it (rate-limited). A
  // positive retry_after_s adds Retry-After.
  void sendError(int status, std::string_view code, std::string_view message, int retry_after_s = 0,
                 std::initializer_list<ErrorField> extra = {}) const;

  // True while the connection still waits for this answer.
  bool alive() const;

  // The client's address ("192.0.2.7", "::1"); empty once the connection
  // has gone. Valid while the handler runs (copy it to keep it).
  std::string_view peerAddress() const;

 private:
  HttpServer* server_ = nullptr;
  uint64_t connection_id_ = 0;
  uint64_t seq_ = 0;
};

// Handlers run on the loop; the request is valid only during the call
// (copy what an asynchronous answer needs).
using HttpHandler = std::function<void(HttpRequest& request, const HttpResponder& responder)>;

// A listener that forwards: called when a request's head is complete; the
// body and the answer then go through the exchange (http_exchange.hpp).
using HttpStreamEntry = std::function<void(HttpRequest& request, const HttpExchange& exchange)>;

class HttpServer final : public StreamServer {
 public:
  HttpServer(Runtime& runtime, HttpServerOptions options);
  ~HttpServer() override;
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Declares a route; `name` is the metric label (the pattern, usually).
  // max_body_bytes < 0 means http.max_body_bytes.
  void route(HttpMethod method, std::string_view pattern, HttpHandler handler,
             int64_t max_body_bytes = -1);

  // Runs before the handler of every route declared with exactly `pattern`
  // (any method; routes declared before or after this call alike). A guard
  // that answers the request itself (a feature switched off) returns false
  // and the handler does not run.
  using RouteGuard = std::function<bool(HttpRequest& request, const HttpResponder& responder)>;
  void guardRoute(std::string_view pattern, RouteGuard guard);
  // Whether some route was declared with exactly `pattern`.
  bool hasRoute(std::string_view pattern) const;

  // A route whose answer is streamed (Server-Sent Events, a long download):
  // `entry` gets the request when its head is complete and answers through
  // the exchange, as a streamAll() listener's entry does (http_exchange.hpp),
  // while the listener's other routes stay buffered.
  void streamRoute(HttpMethod method, std::string_view pattern, HttpStreamEntry entry,
                   int64_t max_body_bytes = -1);
  bool isStreamRoute(int route_id) const {
    return route_id >= 0 && static_cast<size_t>(route_id) < routes_.size() &&
           static_cast<bool>(routes_[static_cast<size_t>(route_id)].stream);
  }

  // Runs for every request of this listener before its handler (any
  // route, any method, found or not, declared before or after this call):
  // a buffered request once it is complete, a streamed one at its head. A
  // refusal is answered with redge's error body (counted and logged as
  // every error is) and nothing else runs for the request. One per
  // listener: the admin listener's token check (ops/admin_auth.hpp),
  // installed once so that routes mounted later are covered by
  // construction.
  using RequestScreen = std::function<std::optional<HttpRefusal>(const HttpRequest& request)>;
  void screenRequests(RequestScreen screen) { screen_ = std::move(screen); }
  // The refusal for `request`, if the screen has one.
  std::optional<HttpRefusal> screen(const HttpRequest& request) const {
    return screen_ ? screen_(request) : std::nullopt;
  }
  // Counts and logs the refusal, then hands `deliver` its answer (valid
  // during the call).
  void refuse(const HttpRefusal& refusal, const std::function<void(const HttpResponse&)>& deliver);

  // Every request no route takes, whatever its method and path, goes to
  // `handler` (a forwarder: the gateway); metric label "*". Once.
  void routeAll(HttpHandler handler, int64_t max_body_bytes = -1);
  // Every request of this listener goes to `entry` as a streamed exchange
  // (a forwarder: the gateway); routes are not used. `name` labels its
  // metrics. max_body_bytes < 0: no limit on a streamed body.
  void streamAll(std::string_view name, HttpStreamEntry entry, int64_t max_body_bytes = -1);
  bool streaming() const { return static_cast<bool>(stream_entry_); }
  int streamRouteId() const { return stream_route_id_; }
  int64_t streamMaxBodyBytes() const { return stream_max_body_bytes_; }
  void dispatchStream(int route_id, HttpRequest& request, const HttpExchange& exchange) {
    if (stream_entry_) return stream_entry_(request, exchange);
    routes_[static_cast<size_t>(route_id)].stream(request, exchange);
  }

  // Runs for every complete request, routed or not, before its handler.
  void observeRequests(std::function<void(HttpRequest&)> observer) {
    request_observer_ = std::move(observer);
  }
  void observe(HttpRequest& request) {
    if (request_observer_) request_observer_(request);
  }

  const HttpServerOptions& options() const { return options_; }
  // log.access, switched on a reload.
  void setAccessLog(bool on) override { options_.access_log = on; }

  // --- used by HttpConnection and HttpResponder ---
  HttpConnection* findHttpConnection(uint64_t id) const;
  void dispatch(int route_id, HttpRequest& request, const HttpResponder& responder);
  RouteMatch matchRoute(HttpRequest& request) const;
  int64_t routeBodyLimit(int route_id) const;
  void recordResponse(int route_id, int status, int64_t started_us);
  void recordError(int status, std::string_view code, std::string_view message);
  std::string_view date();
  // Microseconds on the monotonic clock, read at most once per loop
  // iteration: requests parsed and answered in one iteration share it, which
  // is as precise as their latency can be observed anyway.
  int64_t nowUs();

 protected:
  StreamConnection* newConnection(uint64_t id) override;
  void onRefused() override;

 private:
  struct RouteEntry {
    std::string name;
    HttpHandler handler;
    RouteGuard guard;
    HttpStreamEntry stream;  // a streamRoute(): the handler is unused
    int64_t max_body_bytes;
    Histogram* latency;
    std::vector<std::pair<int, Counter*>> by_status;  // small, scanned linearly
  };
  void addRoute(int id, std::string name, HttpHandler handler, int64_t max_body_bytes);
  Counter& statusCounter(int route_id, int status);
  Counter& errorCounter(std::string_view code);
  void refreshClock();

  const Clock& clock_;
  MetricsRegistry& metrics_;
  HttpServerOptions options_;
  Router router_;
  std::vector<RouteEntry> routes_;
  int catch_all_ = -1;                                      // routeAll's route id
  std::vector<std::pair<std::string, RouteGuard>> guards_;  // by pattern, for later routes
  RouteEntry not_routed_;
  std::function<void(HttpRequest&)> request_observer_;  // 404/405/limits before routing
  RequestScreen screen_;
  HttpStreamEntry stream_entry_;
  int stream_route_id_ = -1;
  int64_t stream_max_body_bytes_ = -1;
  std::vector<std::pair<std::string, Counter*>> error_counters_;  // by error code
  HttpDate date_;
  uint64_t clock_loop_ms_ = UINT64_MAX;  // uv_now() when now_us_/now_s_ were read
  int64_t now_us_ = 0;
  time_t now_s_ = 0;
};

}  // namespace redge
