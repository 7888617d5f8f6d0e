// ReadThroughCache: LRU + single flight + the FIFO in-flight gate.
//
// A miss for a key already being fetched joins that fetch instead of sending
// a second GET; it does not take a gate slot of its own, since it adds no
// work. Waiting lookups are admitted in arrival order whenever a fetch
// finishes; admission runs iteratively (admitting_) so a run of hits in the
// queue never recurses.

#include "services/cacheproxy/read_through_cache.hpp"

#include "redis/redis_reply.hpp"

namespace redge {

ReadThroughCache::ReadThroughCache(const Clock& clock, ReplicaReads& reads,
                                   MetricsRegistry& metrics, const ReadThroughCacheOptions& options)
    : reads_(reads),
      options_(options),
      lru_(clock, options.capacity, options.ttl_ms),
      hits_(metrics.counter("redge_cache_hits_total", "Cache proxy lookups answered locally")),
      misses_(
          metrics.counter("redge_cache_misses_total", "Cache proxy lookups that went to Redis")),
      evictions_(metrics.counter("redge_cache_evictions_total",
                                 "Entries dropped to make room (least recently read)")),
      expirations_(metrics.counter("redge_cache_expirations_total",
                                   "Entries found older than cacheproxy.ttl_ms and dropped")),
      invalidations_(metrics.counter("redge_cache_invalidations_total",
                                     "Entries dropped because Redis changed them (or a flush)")),
      coalesced_(metrics.counter("redge_cache_coalesced_total",
                                 "Misses that joined a GET already in flight for the same key")),
      entries_(metrics.gauge("redge_cache_entries", "Keys in the local cache")),
      bytes_(metrics.gauge("redge_cache_bytes", "Key and value bytes in the local cache")),
      inflight_gauge_(metrics.gauge("redge_cache_inflight", "Lookups holding a gate slot")),
      waiting_gauge_(metrics.gauge("redge_cache_waiting", "Lookups waiting for a gate slot")) {
  metrics.addCollector([this] { collectMetrics(); });
}

void ReadThroughCache::collectMetrics() {
  const LruCache::Stats& s = lru_.stats();
  evictions_.inc(s.evictions - reported_.evictions);
  expirations_.inc(s.expirations - reported_.expirations);
  invalidations_.inc(s.invalidations - reported_.invalidations);
  reported_ = s;
  entries_.set(static_cast<double>(lru_.size()));
  bytes_.set(static_cast<double>(lru_.bytes()));
  inflight_gauge_.set(static_cast<double>(active_));
  waiting_gauge_.set(static_cast<double>(queue_.size()));
}

bool ReadThroughCache::tryHit(std::string_view key, CacheAnswer& out) {
  if (!gateOpen()) return false;
  LruCache::Hit hit;
  if (!lru_.get(key, hit)) return false;
  hits_.inc();
  out.kind = CacheAnswer::Kind::Hit;
  out.value = hit.value;
  out.age_ms = hit.age_ms;
  return true;
}

void ReadThroughCache::lookup(std::string_view key, CacheCallback cb) {
  if (!gateOpen()) {
    queue_.push_back({std::string(key), std::move(cb)});
    return;
  }
  start(key, std::move(cb));
}

void ReadThroughCache::start(std::string_view key, CacheCallback cb) {
  LruCache::Hit hit;
  if (lru_.get(key, hit)) {
    hits_.inc();
    CacheAnswer a;
    a.kind = CacheAnswer::Kind::Hit;
    a.value = hit.value;
    a.age_ms = hit.age_ms;
    cb(a);
    return;
  }
  misses_.inc();
  std::string k(key);
  auto it = flights_.find(k);
  if (it != flights_.end()) {
    coalesced_.inc();
    it->second->waiters.push_back(std::move(cb));
    return;
  }
  auto flight = std::make_unique<Flight>();
  flight->waiters.push_back(std::move(cb));
  flights_.emplace(k, std::move(flight));
  ++active_;
  reads_.read({"GET", k}, [this, k](RedisStatus status, const redisReply* reply) {
    onRedisReply(k, status, reply);
  });
}

void ReadThroughCache::onRedisReply(const std::string& key, RedisStatus status,
                                    const redisReply* reply) {
  auto it = flights_.find(key);
  if (it == flights_.end()) return;
  std::unique_ptr<Flight> flight = std::move(it->second);
  flights_.erase(it);
  --active_;
  CacheAnswer a;
  if (status == RedisStatus::Ok && reply->type == REDIS_REPLY_STRING) {
    a.kind = CacheAnswer::Kind::Miss;
    a.value = replyText(reply);
    if (!flight->invalidated) lru_.put(key, a.value);
  } else if (status == RedisStatus::Ok && reply->type == REDIS_REPLY_NIL) {
    // Absent keys are not remembered: a key set in Redis a moment later is
    // visible at the next request.
    a.kind = CacheAnswer::Kind::NotFound;
  } else {
    a.kind = CacheAnswer::Kind::Failed;
    a.status = status == RedisStatus::Ok ? RedisStatus::ErrorReply : status;
    a.reply = reply;
  }
  for (auto& cb : flight->waiters) cb(a);
  admitWaiting();
}

void ReadThroughCache::reconfigure(const ReadThroughCacheOptions& options) {
  options_ = options;
  lru_.setCapacity(options.capacity);
  lru_.setTtlMs(options.ttl_ms);
  admitWaiting();
}

void ReadThroughCache::admitWaiting() {
  if (admitting_) return;
  admitting_ = true;
  while (!queue_.empty() && active_ < options_.max_inflight) {
    Waiting w = std::move(queue_.front());
    queue_.pop_front();
    start(w.key, std::move(w.cb));
  }
  admitting_ = false;
}

void ReadThroughCache::invalidate(std::string_view key) {
  lru_.erase(key);
  auto it = flights_.find(std::string(key));
  if (it != flights_.end()) it->second->invalidated = true;
}

void ReadThroughCache::invalidateAll() {
  lru_.clear();
  for (auto& [k, f] : flights_) f->invalidated = true;
}

}  // namespace redge
