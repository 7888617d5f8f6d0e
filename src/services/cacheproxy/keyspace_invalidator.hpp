#pragma once
// Keeps the cache proxy coherent with writes made directly to Redis: a
// dedicated subscriber connection receives keyspace notifications and drops
// the local entry of every key that is set, deleted, expired or evicted.
// After the subscriber (re)connects the whole local cache is dropped,
// because events were missed while it was away.
//
// At start-up it asks Redis (over the shared connection) to publish the
// events it needs (CONFIG SET notify-keyspace-events, merged with what is
// already set); when Redis refuses, it logs how to enable them by hand.

#include <memory>
#include <string>

#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "redis/redis_client.hpp"
#include "services/cacheproxy/read_through_cache.hpp"

namespace redge {

class KeyspaceInvalidator {
 public:
  KeyspaceInvalidator(Runtime& runtime, RedisClient& commands,
                      const RedisClientOptions& subscriber_options, ReadThroughCache& cache);
  void start();
  void close();

  // The flags redge needs: K (keyspace channel), g (DEL, EXPIRE, RENAME...),
  // $ (string writes), x (expired), e (evicted).
  static constexpr std::string_view kRequiredFlags = "Kg$xe";
  // Flags to set so that `current` also covers kRequiredFlags; empty when it does.
  static std::string missingFlags(std::string_view current);

 private:
  void ensureNotifications();
  void onMessage(std::string_view channel, std::string_view event);

  RedisClient& commands_;
  ReadThroughCache& cache_;
  std::unique_ptr<RedisClient> subscriber_;
  std::string channel_prefix_;
  Counter& events_;
  Counter& flushes_;
};

}  // namespace redge
