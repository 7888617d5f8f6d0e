// The cache proxy module: its section (cacheproxy.*), its HTTP and RESP
// listeners, and the one ReadThroughCache both fronts share.

#include "services/cacheproxy/cache_proxy_config.hpp"
#include "services/cacheproxy/cache_proxy_service.hpp"
#include "services/service.hpp"

namespace redge {
namespace {

using namespace config_limits;

void declareKeys(ConfigSchema& schema) {
  schema.moduleSection<CacheProxyConfig>("cacheproxy")
      .boolKey(REDGE_FIELD(CacheProxyConfig, enabled), "serve the caching Redis proxy")
      .stringKey(REDGE_FIELD(CacheProxyConfig, bind), "address the cache proxy listens on",
                 checkBindAddress)
      .intKey(REDGE_FIELD(CacheProxyConfig, http_port), 0, kMaxPort,
              "cache proxy HTTP port (0: any free port)")
      .port()
      .intKey(REDGE_FIELD(CacheProxyConfig, resp_port), 0, kMaxPort,
              "cache proxy RESP port (0: any free port)")
      .port()
      .intKey(REDGE_FIELD(CacheProxyConfig, capacity), 1, kMaxCount, "entries the LRU cache holds")
      .intKey(REDGE_FIELD(CacheProxyConfig, ttl_ms), 0, kMaxDurationMs,
              "how long a cached entry is served")
      .intKey(REDGE_FIELD(CacheProxyConfig, max_connections), 1, kMaxCount,
              "client connections to the proxy; more are refused")
      .intKey(REDGE_FIELD(CacheProxyConfig, max_inflight), 1, kMaxCount,
              "commands in flight to Redis before clients wait")
      .enumKey(REDGE_FIELD(CacheProxyConfig, invalidate), {"none", "keyspace"},
               "cache invalidation: none (TTL only) or keyspace notifications");
}

class CacheProxyModule final : public Service {
 public:
  explicit CacheProxyModule(ModuleContext& context) {
    const Config& config = context.config();
    const CacheProxyConfig& c = config.module<CacheProxyConfig>();
    HttpServerOptions ho = context.httpServerOptions("cacheproxy", c.bind, c.http_port);
    ho.max_connections = c.max_connections;
    HttpServer& http = context.addHttpServer(ho);
    CacheProxyOptions co;
    co.cache.capacity = static_cast<size_t>(c.capacity);
    co.cache.ttl_ms = c.ttl_ms;
    co.cache.max_inflight = static_cast<size_t>(c.max_inflight);
    co.keyspace_invalidation = c.invalidate == "keyspace";
    co.subscriber = context.redisOptions();
    co.subscriber.name = "keyspace";
    Runtime& rt = context.runtime();
    service_ = std::make_unique<CacheProxyService>(rt.loop, rt.clock, http, context.redis(),
                                                   rt.metrics, co);
    RespServerOptions ro;
    ro.service = "cacheproxy";
    ro.bind = c.bind;
    ro.port = static_cast<int>(c.resp_port);
    ro.max_connections = c.max_connections;
    ro.max_output_bytes = config.http.max_output_bytes;
    ro.write_stall_ms = config.http.idle_timeout_ms;
    ro.idle_timeout_ms = config.resp.idle_timeout_ms;
    ro.command_read_timeout_ms = config.resp.command_read_timeout_ms;
    ro.limits.max_bulk_bytes = static_cast<size_t>(config.http.max_body_bytes);
    CacheProxyService* service = service_.get();
    context.addRespServer(
        ro, [service](const std::vector<std::string_view>& args, const RespResponder& responder) {
          service->handleResp(args, responder);
        });
  }
  void start() override { service_->start(); }
  void close(std::function<void()> done) override {
    service_->close();
    if (done) done();
  }

 private:
  std::unique_ptr<CacheProxyService> service_;
};

}  // namespace

Module cacheproxyModule() {
  return {"cacheproxy", &declareKeys,
          [](const Config& c) { return c.module<CacheProxyConfig>().enabled; }, nullptr,
          [](ModuleContext& context) -> std::unique_ptr<Service> {
            return std::make_unique<CacheProxyModule>(context);
          }};
}

}  // namespace redge
