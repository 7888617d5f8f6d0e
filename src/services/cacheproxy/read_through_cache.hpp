#pragma once
// The cache proxy's one lookup path, shared by its HTTP and RESP fronts:
// local LRU first; on a miss one Redis GET (on a replica with
// redis.read_from=replica: a miss tolerates replication lag), whose answer is stored and given
// to every request that asked for the key meanwhile (single flight).
//
// The in-flight gate: at most `max_inflight` lookups are in progress at once;
// the rest wait in arrival order. A hit finishes at once, so it holds the gate
// only for the instant it runs; a miss holds it until Redis answers. With
// max_inflight = 1 requests are therefore processed strictly one at a time in
// arrival order.
//
// Callbacks run exactly once, possibly synchronously inside lookup() (a hit,
// or Redis known to be down). The value view is valid only during the call.

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "redis/redis_client.hpp"
#include "redis/replica_reads.hpp"
#include "services/cacheproxy/lru_cache.hpp"

namespace redge {

struct CacheAnswer {
  enum class Kind { Hit, Miss, NotFound, Failed };
  Kind kind = Kind::NotFound;
  std::string_view value;
  int64_t age_ms = 0;
  RedisStatus status = RedisStatus::Ok;  // for Failed
  const redisReply* reply = nullptr;     // for Failed with a Redis error reply
};

using CacheCallback = std::function<void(const CacheAnswer&)>;

struct ReadThroughCacheOptions {
  size_t capacity = 10000;
  int64_t ttl_ms = 60000;
  size_t max_inflight = 64;
};

class ReadThroughCache {
 public:
  ReadThroughCache(const Clock& clock, ReplicaReads& reads, MetricsRegistry& metrics,
                   const ReadThroughCacheOptions& options);

  // The fast path: answers a hit at once when the gate is open (nothing
  // waiting, a slot free). Returns false when the caller must use lookup().
  bool tryHit(std::string_view key, CacheAnswer& out);
  void lookup(std::string_view key, CacheCallback cb);

  // Keyspace invalidation: forget one key / everything.
  void invalidate(std::string_view key);
  void invalidateAll();

  // A reload's new bounds: capacity and ttl apply to the LRU at once (a
  // smaller capacity evicts); a larger max_inflight admits waiting lookups
  // now, a smaller one lets the lookups in flight finish.
  void reconfigure(const ReadThroughCacheOptions& options);

  const LruCache& lru() const { return lru_; }
  size_t inflight() const { return active_; }
  // Lookups answered locally / sent to Redis, as redge_cache_hits_total and
  // _misses_total count them (RESP INFO reports them as keyspace_hits/misses).
  uint64_t hits() const { return hits_.value(); }
  uint64_t misses() const { return misses_.value(); }
  size_t waiting() const { return queue_.size(); }

 private:
  struct Flight {
    std::vector<CacheCallback> waiters;
    bool invalidated = false;  // a write raced the GET: answer, but do not store
  };
  struct Waiting {
    std::string key;
    CacheCallback cb;
  };
  bool gateOpen() const { return active_ < options_.max_inflight && queue_.empty(); }
  void start(std::string_view key, CacheCallback cb);
  void onRedisReply(const std::string& key, RedisStatus status, const redisReply* reply);
  void admitWaiting();
  void collectMetrics();

  ReplicaReads& reads_;
  ReadThroughCacheOptions options_;
  LruCache lru_;
  size_t active_ = 0;
  std::deque<Waiting> queue_;
  std::unordered_map<std::string, std::unique_ptr<Flight>> flights_;
  bool admitting_ = false;
  // Metrics
  Counter& hits_;
  Counter& misses_;
  Counter& evictions_;
  Counter& expirations_;
  Counter& invalidations_;
  Counter& coalesced_;
  Gauge& entries_;
  Gauge& bytes_;
  Gauge& inflight_gauge_;
  Gauge& waiting_gauge_;
  LruCache::Stats reported_;
};

}  // namespace redge
