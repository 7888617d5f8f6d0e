// Keyspace invalidation for the cache proxy (see the header). The events
// arrive on another connection than the GETs, so their relative order is
// not known: ReadThroughCache marks a GET in flight for an invalidated key so
// its answer is served but not stored.

#include "services/cacheproxy/keyspace_invalidator.hpp"

#include "core/log.hpp"
#include "redis/redis_reply.hpp"

namespace redge {

KeyspaceInvalidator::KeyspaceInvalidator(Runtime& runtime, RedisClient& commands,
                                         const RedisClientOptions& subscriber_options,
                                         ReadThroughCache& cache)
    : commands_(commands),
      cache_(cache),
      channel_prefix_("__keyspace@" + std::to_string(subscriber_options.url.db) + "__:"),
      events_(runtime.metrics.counter("redge_cache_keyspace_events_total",
                                      "Keyspace notifications received by the cache proxy")),
      flushes_(runtime.metrics.counter(
          "redge_cache_flushes_total",
          "Whole-cache flushes after the keyspace subscriber reconnected")) {
  subscriber_ = std::make_unique<RedisClient>(runtime, subscriber_options);
  subscriber_->psubscribe(
      channel_prefix_ + "*",
      [this](std::string_view channel, std::string_view event) { onMessage(channel, event); });
  subscriber_->onReady([this] {
    flushes_.inc();
    cache_.invalidateAll();
    REDGE_LOG(Info, "cache_flushed").kv("reason", "keyspace subscriber (re)connected");
  });
  commands_.onReady([this] { ensureNotifications(); });
}

void KeyspaceInvalidator::start() {
  subscriber_->start();
}

void KeyspaceInvalidator::close() {
  subscriber_->close();
}

std::string KeyspaceInvalidator::missingFlags(std::string_view current) {
  // 'A' is an alias for "g$lshzxet" (Redis 7), which covers g $ x; not e.
  bool all = current.find('A') != std::string_view::npos;
  std::string missing;
  for (char f : kRequiredFlags) {
    bool covered =
        current.find(f) != std::string_view::npos || (all && (f == 'g' || f == '$' || f == 'x'));
    if (!covered) missing.push_back(f);
  }
  return missing;
}

void KeyspaceInvalidator::ensureNotifications() {
  commands_.command({"CONFIG", "GET", "notify-keyspace-events"}, [this](RedisStatus status,
                                                                        const redisReply* reply) {
    if (status != RedisStatus::Ok || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
      REDGE_LOG(Warn, "keyspace_config_failed")
          .kv("step", "CONFIG GET")
          .kv("error", replyText(reply, redisStatusName(status)))
          .kv("hint",
              "set notify-keyspace-events Kg$xe in redis.conf, or entries stay stale "
              "up to cacheproxy.ttl_ms");
      return;
    }
    std::string current(replyText(reply->element[1]));
    std::string missing = missingFlags(current);
    if (missing.empty()) {
      REDGE_LOG(Info, "keyspace_notifications").kv("flags", current).kv("changed", false);
      return;
    }
    std::string wanted = current + missing;
    commands_.command(
        {"CONFIG", "SET", "notify-keyspace-events", wanted},
        [wanted](RedisStatus status, const redisReply* reply) {
          if (status != RedisStatus::Ok) {
            REDGE_LOG(Warn, "keyspace_config_failed")
                .kv("step", "CONFIG SET")
                .kv("error", replyText(reply, redisStatusName(status)))
                .kv("hint",
                    "set notify-keyspace-events Kg$xe in redis.conf, or entries stay stale "
                    "up to cacheproxy.ttl_ms");
            return;
          }
          REDGE_LOG(Info, "keyspace_notifications").kv("flags", wanted).kv("changed", true);
        });
  });
}

void KeyspaceInvalidator::onMessage(std::string_view channel, std::string_view event) {
  if (channel.substr(0, channel_prefix_.size()) != channel_prefix_) return;
  events_.inc();
  (void)event;  // every event on a key (set, del, expired, evicted, rename...) changes it
  cache_.invalidate(channel.substr(channel_prefix_.size()));
}

}  // namespace redge
