#pragma once
// The read-through cache proxy: GET /{key} over HTTP on its own listener,
// and (cache_proxy_resp) the same lookups over RESP. Both fronts share one
// ReadThroughCache, so a key read over either is cached for both.

#include <uv.h>

#include <memory>
#include <string>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "net/http/http_server.hpp"
#include "net/resp/resp_server.hpp"
#include "redis/redis_client.hpp"
#include "services/cacheproxy/cache_proxy_resp.hpp"
#include "services/cacheproxy/keyspace_invalidator.hpp"
#include "services/cacheproxy/read_through_cache.hpp"

namespace redge {

struct CacheProxyOptions {
  ReadThroughCacheOptions cache;
  bool keyspace_invalidation = false;
  RedisClientOptions subscriber;  // used when keyspace_invalidation
};

class CacheProxyService {
 public:
  // Declares GET /{key} on `http`.
  CacheProxyService(uv_loop_t* loop, const Clock& clock, HttpServer& http, RedisClient& redis,
                    MetricsRegistry& metrics, CacheProxyOptions options);
  void start();
  void close();
  bool closed() const { return !invalidator_ || invalidator_->closed(); }

  ReadThroughCache& cache() { return cache_; }
  // The RESP front's handler (the listener itself is the caller's).
  void handleResp(const std::vector<std::string_view>& args, const RespResponder& responder) {
    resp_front_.handle(args, responder);
  }

 private:
  void get(HttpRequest& req, const HttpResponder& res);

  RedisClient& redis_;
  ReadThroughCache cache_;
  CacheProxyRespFront resp_front_;
  std::unique_ptr<KeyspaceInvalidator> invalidator_;
  std::string key_;  // decoding buffer, reused
};

}  // namespace redge
