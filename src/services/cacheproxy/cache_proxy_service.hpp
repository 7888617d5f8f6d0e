#pragma once
// The read-through cache proxy: GET /{key} over HTTP on its own listener,
// and (cache_proxy_resp) the same lookups over RESP. Both fronts share one
// ReadThroughCache, so a key read over either is cached for both.

#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "net/http/http_server.hpp"
#include "net/resp/resp_server.hpp"
#include "redis/redis_client.hpp"
#include "services/cacheproxy/cache_proxy_config.hpp"
#include "services/cacheproxy/cache_proxy_resp.hpp"
#include "services/cacheproxy/keyspace_invalidator.hpp"
#include "services/cacheproxy/read_through_cache.hpp"
#include "services/service.hpp"

namespace redge {

class CacheProxyService final : public Service {
 public:
  // Opens its HTTP and RESP listeners through `context` and declares
  // GET /{key} on the first.
  explicit CacheProxyService(ModuleContext& context);
  void start() override;
  // cacheproxy.capacity, ttl_ms and max_inflight change live.
  void reload(const Config& next, std::vector<std::string>& live) override;
  void close(std::function<void()> done) override;

 private:
  void get(HttpRequest& req, const HttpResponder& res);

  RedisClient& redis_;
  // Declared before cache_, which reads through it.
  std::shared_ptr<ReplicaReads> reads_;
  ReadThroughCache cache_;
  CacheProxyRespFront resp_front_;
  std::unique_ptr<KeyspaceInvalidator> invalidator_;
  std::string key_;  // decoding buffer, reused
  bool closed_ = false;
};

}  // namespace redge
