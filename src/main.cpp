// redge: start-up, the signal-driven drain, and shutdown.
//
// Start-up reads the configuration (defaults <- file <- environment <-
// command line), connects the shared Redis client, and opens each enabled
// listener. SIGTERM or SIGINT begins a drain: listeners close, idle
// connections close, in-flight requests finish (bounded by
// server.drain_timeout_ms), then Redis closes and the loop runs out of
// handles. A second signal skips the wait.

#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "net/http/http_server.hpp"
#include "net/http/http_url.hpp"
#include "net/resp/resp_server.hpp"
#include "ops/admin_service.hpp"
#include "ops/process_metrics.hpp"
#include "redis/redis_client.hpp"
#include "redis/redis_url.hpp"
#include "services/app/app_service.hpp"
#include "services/cacheproxy/cache_proxy_service.hpp"
#include "services/relay/relay_service.hpp"

namespace redge {
namespace {

int configError(const ConfigError& e) {
  std::fprintf(stderr, "config error: %s: %s\n", e.path.c_str(), e.reason.c_str());
  return 2;
}

// hiredis resolves names with a blocking getaddrinfo on every connect; doing
// it once here, before the loop runs, keeps the loop free of blocking DNS.
bool resolveHost(std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    return true;
  }
  struct addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return false;
  char text[INET6_ADDRSTRLEN] = {};
  if (res->ai_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr, text,
              sizeof text);
  }
  freeaddrinfo(res);
  host = text;
  return true;
}

HttpServerOptions serverOptions(const Config& cfg, std::string service, const std::string& bind,
                                int64_t port) {
  HttpServerOptions o;
  o.service = std::move(service);
  o.bind = bind;
  o.port = static_cast<int>(port);
  o.max_connections = cfg.http.max_connections;
  o.max_header_bytes = cfg.http.max_header_bytes;
  o.max_body_bytes = cfg.http.max_body_bytes;
  o.header_timeout_ms = cfg.http.header_timeout_ms;
  o.idle_timeout_ms = cfg.http.idle_timeout_ms;
  o.max_output_bytes = cfg.http.max_output_bytes;
  o.body_min_rate = cfg.http.body_min_rate;
  o.access_log = cfg.log.access;
  return o;
}

class Daemon {
 public:
  Daemon(const Config& cfg, RedisUrl url, HttpUrl relay_upstream)
      : cfg_(cfg), relay_upstream_(std::move(relay_upstream)) {
    uv_loop_init(&loop_);
    registerProcessMetrics(metrics_);
    redis_options_.url = std::move(url);
    redis_options_.connect_timeout_ms = cfg.redis.connect_timeout_ms;
    redis_options_.command_timeout_ms = cfg.redis.command_timeout_ms;
    redis_options_.reconnect_min_ms = cfg.redis.reconnect_min_ms;
    redis_options_.reconnect_max_ms = cfg.redis.reconnect_max_ms;
    redis_ = std::make_unique<RedisClient>(&loop_, metrics_, redis_options_);
  }

  int run() {
    if (cfg_.app.enabled) {
      auto server = std::make_unique<HttpServer>(
          &loop_, metrics_, serverOptions(cfg_, "app", cfg_.app.bind, cfg_.app.port));
      AppOptions ao;
      ao.key_prefix = cfg_.redis.key_prefix;
      ao.message_ttl_s = cfg_.app.message_ttl_s;
      ao.recent_size = cfg_.app.recent_size;
      ao.max_images = cfg_.app.max_images;
      ao.max_upload_bytes = cfg_.app.max_upload_bytes;
      app_ = std::make_unique<AppService>(&loop_, *server, *redis_, metrics_, ao);
      if (cfg_.relay.enabled) relay_ = makeRelay(*server);
      servers_.push_back(std::move(server));
    }
    if (cfg_.cacheproxy.enabled) {
      HttpServerOptions ho =
          serverOptions(cfg_, "cacheproxy", cfg_.cacheproxy.bind, cfg_.cacheproxy.http_port);
      ho.max_connections = cfg_.cacheproxy.max_connections;
      auto server = std::make_unique<HttpServer>(&loop_, metrics_, ho);
      CacheProxyOptions co;
      co.cache.capacity = static_cast<size_t>(cfg_.cacheproxy.capacity);
      co.cache.ttl_ms = cfg_.cacheproxy.ttl_ms;
      co.cache.max_inflight = static_cast<size_t>(cfg_.cacheproxy.max_inflight);
      co.keyspace_invalidation = cfg_.cacheproxy.invalidate == "keyspace";
      co.subscriber = redis_options_;
      co.subscriber.name = "keyspace";
      cacheproxy_ =
          std::make_unique<CacheProxyService>(&loop_, clock_, *server, *redis_, metrics_, co);
      servers_.push_back(std::move(server));
      RespServerOptions ro;
      ro.service = "cacheproxy";
      ro.bind = cfg_.cacheproxy.bind;
      ro.port = static_cast<int>(cfg_.cacheproxy.resp_port);
      ro.max_connections = cfg_.cacheproxy.max_connections;
      ro.max_output_bytes = cfg_.http.max_output_bytes;
      ro.write_stall_ms = cfg_.http.idle_timeout_ms;
      ro.limits.max_bulk_bytes = static_cast<size_t>(cfg_.http.max_body_bytes);
      resp_servers_.push_back(std::make_unique<RespServer>(
          &loop_, metrics_, ro,
          [this](const std::vector<std::string_view>& args, const RespResponder& responder) {
            cacheproxy_->handleResp(args, responder);
          }));
    }
    if (cfg_.admin.enabled) {
      auto server = std::make_unique<HttpServer>(
          &loop_, metrics_, serverOptions(cfg_, "admin", cfg_.admin.bind, cfg_.admin.port));
      admin_ = std::make_unique<AdminService>(*server, metrics_, *redis_);
      servers_.push_back(std::move(server));
    }
    int exit_code = 0;
    for (auto& s : resp_servers_) {
      int rc = s->listen();
      if (rc != 0) {
        REDGE_LOG(Error, "listen_failed")
            .kv("service", s->options().service)
            .kv("protocol", "resp")
            .kv("bind", s->options().bind)
            .kv("port", s->options().port)
            .kv("error", uv_strerror(rc));
        exit_code = 1;
      }
    }
    for (auto& s : servers_) {
      int rc = s->listen();
      if (rc != 0) {
        REDGE_LOG(Error, "listen_failed")
            .kv("service", s->options().service)
            .kv("bind", s->options().bind)
            .kv("port", s->options().port)
            .kv("error", uv_strerror(rc));
        exit_code = 1;
      }
    }
    redis_->start();
    if (cacheproxy_) cacheproxy_->start();
    if (relay_) relay_->start();
    uv_signal_init(&loop_, &sigterm_);
    uv_signal_init(&loop_, &sigint_);
    uv_timer_init(&loop_, &drain_timer_);
    sigterm_.data = sigint_.data = drain_timer_.data = this;
    uv_signal_start(&sigterm_, &onSignalCb, SIGTERM);
    uv_signal_start(&sigint_, &onSignalCb, SIGINT);
    if (exit_code != 0) {
      shutdown();
    } else {
      if (cfg_.relay.enabled && !relay_) {
        REDGE_LOG(Warn, "relay_not_served")
            .kv("reason", "the relay is mounted on the app listener, and app.enabled is false");
      }
      REDGE_LOG(Info, "started")
          .kv("version", REDGE_VERSION)
          .kv("pid", static_cast<int64_t>(getpid()));
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    servers_.clear();
    resp_servers_.clear();
    int rc = uv_loop_close(&loop_);
    if (rc != 0) REDGE_LOG(Warn, "loop_not_empty").kv("error", uv_strerror(rc));
    REDGE_LOG(Info, "stopped");
    return exit_code;
  }

 private:
  std::unique_ptr<RelayService> makeRelay(HttpServer& server) {
    RelayOptions o;
    o.key_prefix = cfg_.redis.key_prefix;
    o.instance = instanceName();
    o.limits.max_destination_bytes = static_cast<size_t>(cfg_.relay.max_destination_bytes);
    o.limits.max_body_bytes = static_cast<size_t>(cfg_.relay.max_body_bytes);
    RelayWorkerOptions& w = o.worker;
    w.upstream = relay_upstream_;
    w.timeout_ms = cfg_.relay.timeout_ms;
    w.concurrency = cfg_.relay.concurrency;
    w.max_attempts = cfg_.relay.max_attempts;
    w.queue_max = cfg_.relay.queue_max;
    w.queue_recovery = cfg_.relay.queue_recovery;
    const BreakerConfig& b = cfg_.relay.breaker;
    w.breaker = {b.window_ms, b.min_calls,   b.failure_ratio,   b.consecutive_failures,
                 b.open_ms,   b.max_open_ms, b.half_open_probes};
    return std::make_unique<RelayService>(&loop_, clock_, server, *redis_, metrics_, std::move(o));
  }

  // Names this instance's processing list: stable across restarts of the
  // same host, so a restart recovers what the last run was delivering.
  static std::string instanceName() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "local";
    return host;
  }

  static void onSignalCb(uv_signal_t* h, int signum) noexcept {
    static_cast<Daemon*>(h->data)->onSignal(signum);
  }
  static void onDrainTimerCb(uv_timer_t* t) noexcept {
    static_cast<Daemon*>(t->data)->onDrainTick();
  }

  void onSignal(int signum) {
    if (draining_) {
      REDGE_LOG(Info, "shutdown_forced").kv("signal", signum);
      shutdown();
      return;
    }
    draining_ = true;
    drain_deadline_ = uv_now(&loop_) + static_cast<uint64_t>(cfg_.server.drain_timeout_ms);
    REDGE_LOG(Info, "draining").kv("signal", signum).kv("timeout_ms", cfg_.server.drain_timeout_ms);
    for (auto& s : servers_) s->beginDrain();
    for (auto& s : resp_servers_) s->beginDrain();
    if (relay_) relay_->beginDrain();
    uv_timer_start(&drain_timer_, &onDrainTimerCb, 0, 20);
  }

  void onDrainTick() {
    size_t open = 0;
    for (auto& s : servers_) open += s->openConnections();
    for (auto& s : resp_servers_) open += s->openConnections();
    // Deliveries in flight finish too, so their outcome is recorded (a
    // message cut off here is not lost: the next start recovers it).
    if (relay_) open += static_cast<size_t>(relay_->inflight());
    if (open == 0 || uv_now(&loop_) >= drain_deadline_) {
      if (open)
        REDGE_LOG(Warn, "drain_timeout").kv("connections_dropped", static_cast<uint64_t>(open));
      shutdown();
    }
  }

  // Order matters: connections first (so no new Redis work), then the app's
  // handles, then Redis, which fails whatever is still pending into
  // responders that find no connection.
  void shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& s : servers_) s->close();
    for (auto& s : resp_servers_) s->close();
    if (app_) app_->close();
    if (cacheproxy_) cacheproxy_->close();
    if (relay_) relay_->close();
    redis_->close();
    uv_timer_stop(&drain_timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigterm_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&sigint_), nullptr);
  }

  const Config& cfg_;
  HttpUrl relay_upstream_;
  uv_loop_t loop_;
  MetricsRegistry metrics_;
  SteadyClock clock_;
  RedisClientOptions redis_options_;
  std::unique_ptr<RedisClient> redis_;
  std::vector<std::unique_ptr<HttpServer>> servers_;
  std::vector<std::unique_ptr<RespServer>> resp_servers_;
  std::unique_ptr<AppService> app_;
  std::unique_ptr<CacheProxyService> cacheproxy_;
  std::unique_ptr<RelayService> relay_;
  std::unique_ptr<AdminService> admin_;
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  uv_timer_t drain_timer_;
  bool draining_ = false;
  bool shut_down_ = false;
  uint64_t drain_deadline_ = 0;
};

}  // namespace
}  // namespace redge

int main(int argc, char** argv) {
  using namespace redge;
  CommandLine cmd;
  if (auto err = parseCommandLine(argc, argv, cmd)) return configError(*err);
  if (cmd.help) {
    std::fputs(usageText().c_str(), stdout);
    return 0;
  }
  if (cmd.version) {
    std::printf("redge %s\n", REDGE_VERSION);
    return 0;
  }
  Config cfg;
  if (auto err = loadConfig(cmd, processEnvironment(), cfg)) return configError(*err);
  RedisUrl url;
  std::string url_error = parseRedisUrl(cfg.redis.url, url);
  if (!url_error.empty()) return configError({"redis.url", url_error});
  if (cmd.check_config) {
    std::fputs(configToJson(cfg).c_str(), stdout);
    std::fputs("\n", stdout);
    return 0;
  }
  LogLevel level = LogLevel::Info;
  parseLogLevel(cfg.log.level, level);
  Log::setLevel(level);
  if (!url.unix_socket && !resolveHost(url.host)) {
    return configError({"redis.url", "cannot resolve host '" + url.host + "'"});
  }
  HttpUrl relay_upstream;
  std::string upstream_error = parseHttpUrl(cfg.relay.upstream_url, relay_upstream);
  if (!upstream_error.empty()) return configError({"relay.upstream_url", upstream_error});
  if (cfg.relay.enabled && !resolveHost(relay_upstream.host)) {
    return configError({"relay.upstream_url", "cannot resolve host '" + relay_upstream.host + "'"});
  }
  signal(SIGPIPE, SIG_IGN);
  Daemon daemon(cfg, std::move(url), std::move(relay_upstream));
  return daemon.run();
}
