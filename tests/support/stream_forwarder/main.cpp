// stream_forwarder: the smallest reverse proxy on redge's streamed HTTP
// exchanges, for the tests of that layer (tests/integration/
// http_stream_proxy_test.cpp) and as a worked example for a forwarder: an
// HttpServer in streaming mode joined to an HttpClientPool stream, one
// ProxyExchange per request. It copies the head (less the hop-by-hop
// fields), pipes the bodies both ways with backpressure, passes interim
// answers on, and after a 101 pipes the tunnel; an upstream failure before
// the answer's head becomes a 502/504 JSON error, after it a cut answer.
//
//   stream_forwarder --upstream-port N [--port 0] [--stats-port 0]
//       [--connect-timeout-ms 1000] [--response-timeout-ms 30000]
//       [--pool-idle-ms 30000] [--idle-timeout-ms 60000] [--upstream-host 127.0.0.1]
//       [--header-timeout-ms 10000] [--max-header-bytes 16384] [--max-connections 10000]
//
// It logs `event=listening service=stream_forwarder port=…` and
// `service=stream_forwarder_stats`; GET /stats on the second says
// {"live":N,"upstream_open":N,"upstream_idle":N,"reused":N,"new":N}.
// SIGTERM closes everything; the exit code is 1 if a handle or an exchange
// was left behind.

#include <signal.h>
#include <strings.h>
#include <uv.h>

#include <charconv>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/loop_hooks.hpp"
#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "core/uv_runtime.hpp"
#include "net/http/http_client.hpp"
#include "net/http/http_server.hpp"

namespace {

using namespace redge;

struct ForwarderOptions {
  int port = 0;
  int stats_port = 0;
  std::string upstream_host = "127.0.0.1";
  int upstream_port = 0;
  int64_t connect_timeout_ms = 1000;
  int64_t response_timeout_ms = 30000;
  int64_t pool_idle_ms = 30000;
  int64_t idle_timeout_ms = 60000;
  int64_t header_timeout_ms = 10000;
  int64_t max_header_bytes = 16384;
  int64_t max_connections = 10000;
};

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// RFC 9110 7.6.1: fields for this hop only, plus the framing (redge writes
// its own) and the fields the Connection header names.
bool hopByHop(std::string_view name, std::string_view connection) {
  static constexpr std::string_view kFixed[] = {
      "Connection",        "Keep-Alive",     "Proxy-Connection",  "TE", "Trailer", "Upgrade",
      "Transfer-Encoding", "Content-Length", "Proxy-Authenticate"};
  for (std::string_view f : kFixed) {
    if (sameName(name, f)) return true;
  }
  while (!connection.empty()) {
    size_t comma = connection.find(',');
    std::string_view token = connection.substr(0, comma);
    connection =
        comma == std::string_view::npos ? std::string_view() : connection.substr(comma + 1);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t'))
      token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (!token.empty() && sameName(name, token)) return true;
  }
  return false;
}

class Forwarder;

// One request through the proxy: the client's exchange on one side, the
// upstream stream on the other. It deletes itself once either side has
// ended it (having ended, aborted or answered the other side first).
class ProxyExchange final : public HttpStreamHandler, public HttpClientStreamHandler {
 public:
  ProxyExchange(Forwarder& forwarder, const HttpExchange& exchange);
  ~ProxyExchange() override;
  void start(HttpRequest& request);

  // The client's side.
  void onRequestData(std::string_view data) override {
    if (!upstream_.writeBody(data) && upstream_.active()) client_.pauseRequest();
  }
  void onRequestEnd() override {
    if (!tunnel_) upstream_.endRequest();
  }
  void onResponseDrained() override { upstream_.resumeResponse(); }
  void onClosed() override {
    upstream_.abort();  // the client went away: the upstream connection goes too
    delete this;
  }

  // The upstream's side.
  void onRequestDrained() override { client_.resumeRequest(); }
  void onInterim(const HttpClientResponseHead& head) override {
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    copyHeaders(head, headers);
    client_.writeInterim(head.status, headers);
  }
  void onResponseHead(const HttpClientResponseHead& head) override {
    HttpStreamHead out;
    out.status = head.status;
    out.reason = head.reason();
    copyHeaders(head, out.headers);
    if (head.status == 101) {
      out.headers.emplace_back("Upgrade", head.header("Upgrade"));
      out.headers.emplace_back("Connection", "Upgrade");
      tunnel_ = true;
    }
    out.content_length = head.content_length;
    head_written_ = true;
    if (!client_.writeHead(out)) {
      upstream_.abort();
      delete this;
    }
  }
  void onResponseData(std::string_view data) override {
    if (!client_.writeBody(data)) {
      upstream_.abort();
      delete this;
      return;
    }
    if (!client_.wantsMore()) upstream_.pauseResponse();
  }
  void onResponseEnd() override {
    client_.end();
    delete this;
  }
  void onError(const HttpClientFailure& failure) override {
    if (head_written_) {
      client_.abort();  // a cut answer, not a wrong one
    } else {
      switch (failure.error) {
        case HttpClientError::ConnectTimeout:
        case HttpClientError::Timeout:
          client_.sendError(504, "upstream_timeout", "The upstream did not answer in time.");
          break;
        case HttpClientError::Connect:
          client_.sendError(502, "upstream_connect_failed", "The upstream refused the connection.");
          break;
        case HttpClientError::BadResponse:
          client_.sendError(502, "bad_upstream_response", "The upstream's answer is not HTTP/1.1.");
          break;
        default:
          client_.sendError(502, "upstream_reset",
                            failure.response_started
                                ? "The upstream closed the connection midway through its answer."
                                : "The upstream closed the connection before answering.");
          break;
      }
    }
    delete this;
  }

 private:
  void copyHeaders(const HttpClientResponseHead& head,
                   std::vector<std::pair<std::string_view, std::string_view>>& out) {
    std::string_view connection = head.header("Connection");
    for (size_t i = 0; i < head.headerCount(); ++i) {
      if (!hopByHop(head.headerName(i), connection))
        out.emplace_back(head.headerName(i), head.headerValue(i));
    }
  }

  Forwarder& forwarder_;
  HttpExchange client_;
  HttpClientStream upstream_;
  bool head_written_ = false;
  bool tunnel_ = false;
};

class Forwarder {
 public:
  explicit Forwarder(ForwarderOptions options)
      : options_(std::move(options)),
        timers_(init(&loop_)),
        runtime_{&loop_, clock_, timers_, hooks_, metrics_},
        uv_hooks_(&loop_, hooks_) {
    HttpServerOptions so;
    so.service = "stream_forwarder";
    so.port = options_.port;
    so.idle_timeout_ms = options_.idle_timeout_ms;
    so.header_timeout_ms = options_.header_timeout_ms;
    so.max_header_bytes = options_.max_header_bytes;
    so.max_connections = options_.max_connections;
    server_ = std::make_unique<HttpServer>(runtime_, so);
    server_->streamAll("forward", [this](HttpRequest& request, const HttpExchange& exchange) {
      (new ProxyExchange(*this, exchange))->start(request);
    });
    HttpServerOptions st;
    st.service = "stream_forwarder_stats";
    st.port = options_.stats_port;
    stats_ = std::make_unique<HttpServer>(runtime_, st);
    stats_->route(HttpMethod::Get, "/stats", [this](HttpRequest&, const HttpResponder& r) {
      std::string body = "{\"live\":" + std::to_string(live) +
                         ",\"upstream_open\":" + std::to_string(pool_->openConnections()) +
                         ",\"upstream_idle\":" + std::to_string(pool_->idleConnections()) +
                         ",\"reused\":" + std::to_string(pool_->reusedRequests()) +
                         ",\"new\":" + std::to_string(pool_->newConnectionRequests()) + "}";
      r.send(HttpResponse(200, "application/json", body));
    });
    HttpClientPoolOptions po;
    po.name = "stream_forwarder";
    po.host = options_.upstream_host;
    po.port = options_.upstream_port;
    po.idle_timeout_ms = options_.pool_idle_ms;
    // Every connection that comes back is kept: the pool's default (32)
    // would close some under more concurrent exchanges than that, and a
    // forwarder wants them all for the next requests.
    po.max_idle = 1024;
    pool_ = std::make_unique<HttpClientPool>(&loop_, metrics_, po);
  }

  int run() {
    uv_signal_init(&loop_, &sigterm_);
    sigterm_.data = this;
    uv_signal_start(&sigterm_, &onSignalCb, SIGTERM);
    int exit_code = 0;
    if (server_->listen() != 0 || stats_->listen() != 0) {
      exit_code = 1;
      stop();
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    if (live != 0) {
      REDGE_LOG(Error, "exchanges_left").kv("count", static_cast<int64_t>(live));
      exit_code = 1;
    }
    pool_.reset();
    server_.reset();
    stats_.reset();
    if (uv_loop_close(&loop_) != 0) {
      REDGE_LOG(Error, "loop_not_empty");
      exit_code = 1;
    }
    return exit_code;
  }

  HttpClientPool& pool() { return *pool_; }
  const ForwarderOptions& options() const { return options_; }
  int64_t live = 0;

 private:
  static uv_loop_t* init(uv_loop_t* loop) {
    uv_loop_init(loop);
    return loop;
  }
  static void onSignalCb(uv_signal_t* handle, int) noexcept {
    static_cast<Forwarder*>(handle->data)->stop();
  }
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    // Exchanges in flight hear onClosed() and abort their upstream side;
    // then the pool closes what is left.
    server_->close();
    stats_->close();
    pool_->close();
    uv_hooks_.close();
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
  }

  ForwarderOptions options_;
  uv_loop_t loop_;
  SteadyClock clock_;
  MetricsRegistry metrics_;
  LoopHooks hooks_;
  UvTimerFactory timers_;
  Runtime runtime_;
  UvLoopHooks uv_hooks_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpServer> stats_;
  std::unique_ptr<HttpClientPool> pool_;
  uv_signal_t sigterm_;
  bool stopped_ = false;
};

ProxyExchange::ProxyExchange(Forwarder& forwarder, const HttpExchange& exchange)
    : forwarder_(forwarder), client_(exchange), upstream_(*this) {
  ++forwarder_.live;
}

ProxyExchange::~ProxyExchange() {
  --forwarder_.live;
}

void ProxyExchange::start(HttpRequest& request) {
  client_.attach(this);
  HttpClientStreamRequest r;
  r.method = request.method_text;
  r.target = request.target();
  std::string_view connection = request.header("Connection");
  for (size_t i = 0; i < request.headerCount(); ++i) {
    if (!hopByHop(request.headerName(i), connection))
      r.headers.emplace_back(request.headerName(i), request.headerValue(i));
  }
  if (client_.upgradeRequested()) {
    r.headers.emplace_back("Connection", "Upgrade");
    r.headers.emplace_back("Upgrade", request.header("Upgrade"));
  }
  r.content_length = client_.requestBodyLength();
  r.connect_timeout_ms = forwarder_.options().connect_timeout_ms;
  r.response_timeout_ms = forwarder_.options().response_timeout_ms;
  HttpClientError e = forwarder_.pool().stream(r, upstream_);
  if (e != HttpClientError::None) {
    client_.sendError(502, "upstream_connect_failed", "The upstream could not be reached.");
    delete this;
  }
}

bool parseInt(std::string_view s, int64_t& out) {
  auto res = std::from_chars(s.data(), s.data() + s.size(), out);
  return res.ec == std::errc() && res.ptr == s.data() + s.size();
}

}  // namespace

int main(int argc, char** argv) {
  ForwarderOptions o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view name = argv[i];
    std::string_view value = argv[i + 1];
    int64_t n = 0;
    if (name == "--upstream-host") {
      o.upstream_host = std::string(value);
      continue;
    }
    if (!parseInt(value, n)) {
      std::fprintf(stderr, "stream_forwarder: bad value for %s\n", argv[i]);
      return 2;
    }
    if (name == "--port") {
      o.port = static_cast<int>(n);
    } else if (name == "--stats-port") {
      o.stats_port = static_cast<int>(n);
    } else if (name == "--upstream-port") {
      o.upstream_port = static_cast<int>(n);
    } else if (name == "--connect-timeout-ms") {
      o.connect_timeout_ms = n;
    } else if (name == "--response-timeout-ms") {
      o.response_timeout_ms = n;
    } else if (name == "--pool-idle-ms") {
      o.pool_idle_ms = n;
    } else if (name == "--idle-timeout-ms") {
      o.idle_timeout_ms = n;
    } else if (name == "--header-timeout-ms") {
      o.header_timeout_ms = n;
    } else if (name == "--max-header-bytes") {
      o.max_header_bytes = n;
    } else if (name == "--max-connections") {
      o.max_connections = n;
    } else {
      std::fprintf(stderr, "stream_forwarder: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (o.upstream_port <= 0) {
    std::fprintf(stderr, "stream_forwarder: --upstream-port is required\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  Forwarder forwarder(o);
  return forwarder.run();
}
