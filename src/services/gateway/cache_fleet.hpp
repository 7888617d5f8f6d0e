#pragma once
// The gateways' shared cache in Redis: one CacheFleet per gateway process,
// used by its routes with `cache.shared`. It keeps entries in Redis with a
// TTL (a second gateway serves what the first fetched), the fill lock that
// lets one gateway of the fleet fetch a missing URI while the others wait,
// and the events channel every gateway subscribes to, so that a fill wakes
// the waiters elsewhere and every invalidation (a write's, a purge's)
// reaches every gateway's memory within a round trip. A gateway whose
// subscriber was away drops the local entries of its shared routes when it
// comes back, as it may have missed invalidations.
//
// Redis keys, <p> being redis.key_prefix, <route> a route's label and <uri>
// a cache key ("http://host/path?query"):
//   <p>gateway:cache:<route>:e:<uri>          the entry (the encoded block), PX its TTL
//   <p>gateway:cache:<route>:l:<uri>          the fill lock (holder's id), PX fill_lock_ms
//   <p>gateway:cache:<route>:i:<uri path>     set of the entry keys under one path (any
//                                             query, every Vary variant): what a write
//                                             to the path or its collection removes
//   <p>gateway:cache:<route>:t:<tag>          set of the entry keys carrying a tag
//   <p>gateway:cache:events                   the channel (fleet_event.hpp)
//
// Lifetimes: owned by the GatewayService; close() detaches it, and every
// Redis reply that comes later finds the detached flag and returns.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "redis/redis_client.hpp"
#include "redis/redis_script.hpp"
#include "services/gateway/cache/fleet_event.hpp"
#include "services/gateway/cache/purge_request.hpp"

namespace redge {

class CacheFleet {
 public:
  // What the fleet tells a route's cache.
  class Member {
   public:
    virtual ~Member() = default;
    virtual const std::string& label() const = 0;
    // Another gateway's message about this route (or every route).
    virtual void onFleetEvent(const FleetEvent& event) = 0;
    // The subscriber is back after an absence: drop what may have been missed.
    virtual void onFleetResubscribed() = 0;
  };

  CacheFleet(Runtime& runtime, RedisClient& commands, const RedisClientOptions& subscriber_options,
             const std::string& key_prefix);
  ~CacheFleet();

  void join(Member& member);
  // The member goes away (a route's cache freed after a reload).
  void leave(Member& member);
  void start();
  void close();
  const std::string& id() const { return id_; }
  // Commands can be sent (the shared connection is up).
  bool ready() const { return commands_.ready(); }

  // The stored entry of `uri`; `value` is set when Redis has one (valid only
  // during the callback). `ok` is false when Redis could not answer.
  using GetCallback = std::function<void(bool ok, std::optional<std::string_view> value)>;
  void get(const std::string& route, std::string_view uri, GetCallback cb);
  // SET NX PX on the fill lock: `acquired` (false too when Redis failed:
  // then `ok` is false).
  void lock(const std::string& route, std::string_view uri, int64_t ms,
            std::function<void(bool ok, bool acquired)> cb);
  // Stores `value` for `ttl_ms`, files it under its path and `tags`,
  // releases the fill lock if this gateway holds it and announces the fill.
  void put(const std::string& route, std::string_view uri, std::string_view value, int64_t ttl_ms,
           std::span<const std::string> tags);
  // Releases the fill lock (if held) and announces that the fill ended with
  // nothing stored, so the waiters elsewhere go on by themselves.
  void giveUp(const std::string& route, std::string_view uri);
  // A write's invalidation: removes the URI (every variant) or the whole
  // path with any query, in Redis and, through the event, elsewhere.
  void removeUri(const std::string& route, std::string_view uri);
  void removeCollection(const std::string& route, std::string_view uri);
  // An operator's purge over `routes` (the shared ones; empty: none in
  // Redis), told to every gateway (every route there). `done` gets how many
  // entries were removed from Redis.
  void purge(const PurgeRequest& request, const std::vector<std::string>& routes,
             std::function<void(int64_t removed)> done);

 private:
  struct Purge;

  std::string routeKey(const std::string& route, char kind, std::string_view rest) const;
  std::string pathIndexKey(const std::string& route, std::string_view uri) const;
  void publish(const FleetEvent& event);
  void onMessage(std::string_view channel, std::string_view message);
  void scanPurge(const std::shared_ptr<Purge>& p, const std::string& cursor);
  void endPurgeStep(const std::shared_ptr<Purge>& p);

  RedisClient& commands_;
  std::unique_ptr<RedisClient> subscriber_;
  std::string prefix_;   // <p>gateway:cache:
  std::string channel_;  // <p>gateway:cache:events
  std::string id_;
  RedisScript store_script_;
  RedisScript remove_script_;
  RedisScript tag_script_;
  std::vector<Member*> members_;
  std::shared_ptr<bool> attached_ = std::make_shared<bool>(true);
  bool subscribed_once_ = false;
  Counter& events_in_;
  Counter& events_out_;
  Counter& resubscribes_;
  Counter& redis_errors_;
};

}  // namespace redge
