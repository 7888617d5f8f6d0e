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

}  // namespace

Module cacheproxyModule() {
  return {"cacheproxy", &declareKeys,
          [](const Config& c) { return c.module<CacheProxyConfig>().enabled; }, nullptr,
          [](ModuleContext& context) -> std::unique_ptr<Service> {
            return std::make_unique<CacheProxyService>(context);
          }};
}

}  // namespace redge
