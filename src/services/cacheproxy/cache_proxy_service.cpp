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
#include "services/replica_reads_access.hpp"

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

namespace {

ReadThroughCacheOptions cacheOptions(const CacheProxyConfig& c) {
  ReadThroughCacheOptions o;
  o.capacity = static_cast<size_t>(c.capacity);
  o.ttl_ms = c.ttl_ms;
  o.max_inflight = static_cast<size_t>(c.max_inflight);
  return o;
}

}  // namespace

CacheProxyService::CacheProxyService(ModuleContext& context)
    : redis_(context.redis()),
      reads_(attachReplicaReads(context)),
      cache_(context.runtime().clock, *reads_, context.runtime().metrics,
             cacheOptions(context.config().module<CacheProxyConfig>())),
      resp_front_(cache_, context.redis()) {
  const Config& config = context.config();
  const CacheProxyConfig& c = config.module<CacheProxyConfig>();
  if (c.invalidate == "keyspace") {
    RedisClientOptions subscriber = context.redisOptions();
    subscriber.name = "keyspace";
    invalidator_ =
        std::make_unique<KeyspaceInvalidator>(context.runtime(), redis_, subscriber, cache_);
  }
  HttpServerOptions ho = context.httpServerOptions("cacheproxy", c.bind, c.http_port);
  ho.max_connections = c.max_connections;
  HttpServer& http = context.addHttpServer(ho);
  http.route(HttpMethod::Get, "/{*key}",
             [this](HttpRequest& req, const HttpResponder& res) { get(req, res); });

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
  context.addRespServer(
      ro, [this](const std::vector<std::string_view>& args, const RespResponder& responder) {
        resp_front_.handle(args, responder);
      });
}

void CacheProxyService::reload(const Config& next, std::vector<std::string>& live) {
  cache_.reconfigure(cacheOptions(next.module<CacheProxyConfig>()));
  live.insert(live.end(), {"cacheproxy.capacity", "cacheproxy.ttl_ms", "cacheproxy.max_inflight"});
}

void CacheProxyService::start() {
  if (invalidator_) invalidator_->start();
}

void CacheProxyService::close(std::function<void()> done) {
  if (invalidator_) invalidator_->close();
  if (!closed_) reads_->detach();
  closed_ = true;
  if (done) done();  // the subscriber's timers close with it, at destruction
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
