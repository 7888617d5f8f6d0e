// The cache proxy's HTTP front: GET (and HEAD) /{key}, the key being the
// percent-decoded rest of the path, any bytes. 200 with the raw value as
// application/octet-stream, X-Cache HIT or MISS, and Age (whole seconds the
// entry has been in the local cache); 404 when Redis has no such key.
//
// A hit is answered inside the handler, with no allocation: the value is
// copied straight from the LRU entry into the connection's output buffer.

#include "services/cacheproxy/cache_proxy_service.hpp"

#include <charconv>

#include "core/uri.hpp"
#include "services/redis_failure.hpp"

namespace redge {
namespace {

void answerHttp(const HttpResponder& res, const CacheAnswer& a, const RedisClient& redis) {
  switch (a.kind) {
    case CacheAnswer::Kind::Hit:
    case CacheAnswer::Kind::Miss: {
      char age[24];
      auto end = std::to_chars(age, age + sizeof age, a.age_ms / 1000).ptr;
      HttpResponse r(200, "application/octet-stream", a.value);
      r.header("X-Cache", a.kind == CacheAnswer::Kind::Hit ? "HIT" : "MISS");
      r.header("Age", std::string_view(age, static_cast<size_t>(end - age)));
      res.send(r);
      return;
    }
    case CacheAnswer::Kind::NotFound:
      res.sendError(404, "not_found", "Redis has no such key.");
      return;
    case CacheAnswer::Kind::Failed:
      answerRedisFailure(res, a.status, a.reply, redis);
      return;
  }
}

}  // namespace

CacheProxyService::CacheProxyService(uv_loop_t* loop, const Clock& clock, HttpServer& http,
                                     RedisClient& redis, MetricsRegistry& metrics,
                                     CacheProxyOptions options)
    : redis_(redis), cache_(clock, redis, metrics, options.cache), resp_front_(cache_, redis) {
  if (options.keyspace_invalidation) {
    invalidator_ =
        std::make_unique<KeyspaceInvalidator>(loop, metrics, redis, options.subscriber, cache_);
  }
  http.route(HttpMethod::Get, "/{*key}",
             [this](HttpRequest& req, const HttpResponder& res) { get(req, res); });
}

void CacheProxyService::start() {
  if (invalidator_) invalidator_->start();
}

void CacheProxyService::close() {
  if (invalidator_) invalidator_->close();
}

void CacheProxyService::get(HttpRequest& req, const HttpResponder& res) {
  if (!percentDecode(req.param(0), key_)) {
    return res.sendError(400, "bad_key",
                         "The key's percent-encoding is malformed; encode bytes as %XX.");
  }
  CacheAnswer a;
  if (cache_.tryHit(key_, a)) return answerHttp(res, a, redis_);
  cache_.lookup(key_, [this, res](const CacheAnswer& answer) { answerHttp(res, answer, redis_); });
}

}  // namespace redge
