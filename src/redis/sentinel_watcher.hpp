#pragma once
// Following a Redis master through Redis Sentinel, for every RedisClient of
// the process at once.
//
// One SentinelWatcher per process (shared through RedisClientOptions::
// sentinel) owns two connections to the sentinels, each a RedisClient that
// tries the configured sentinels in turn and moves to the next one whenever
// its current one fails:
// - `lookups`: SENTINEL get-master-addr-by-name, asked for every connect of
//   a following client; the clients that ask while a lookup is under way
//   share its answer;
// - `watch`: PSUBSCRIBE +switch-master; an announced failover of our master
//   is logged once (event=redis_failover old=... new=...), counted in
//   redge_redis_failovers_total, and every attached client is told to move
//   to the new master at once instead of finding out by a timeout.
// When the watch (re)subscribes, a lookup checks whether a failover was
// missed while it was away; a lookup that finds a new master is a failover
// too (same line, same metric), unless it names a master redge left less
// than kFormerMasterMemoryMs ago: that sentinel has not heard of the
// failover yet (event=sentinel_behind), and the next lookup asks another.
//
// Lifetime: clients attach in start() and detach in close(); the first
// attach starts the watcher's connections, the last detach closes them.
// The watcher holds plain pointers to attached clients only, and a client
// always detaches before it goes away.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "core/timer.hpp"
#include "redis/redis_client.hpp"
#include "redis/sentinel_protocol.hpp"

namespace redge {

struct RedisConfig;

struct SentinelOptions {
  std::vector<RedisAddress> sentinels;
  std::string master_name;
  std::string user;  // ACL user and password for the sentinels (not the master's)
  std::string password;
  int64_t connect_timeout_ms = 1000;
  int64_t command_timeout_ms = 1000;
  int64_t reconnect_min_ms = 100;
  int64_t reconnect_max_ms = 500;
};

class SentinelWatcher {
 public:
  SentinelWatcher(Runtime& runtime, SentinelOptions options);
  ~SentinelWatcher();
  SentinelWatcher(const SentinelWatcher&) = delete;
  SentinelWatcher& operator=(const SentinelWatcher&) = delete;

  const std::string& masterName() const { return options_.master_name; }
  // The master the sentinels named last; nothing before the first answer.
  const std::optional<RedisAddress>& master() const { return master_; }

  // SENTINEL replicas <master_name> on the lookups connection. The callback
  // runs exactly once: with the list, or with nothing when no sentinel is
  // connected or the answer is not a list (at once, when not running).
  using ReplicasCallback =
      std::function<void(const std::optional<std::vector<SentinelReplica>>& replicas)>;
  void replicas(ReplicasCallback cb);

  // Called with the new master each time the master the sentinels name
  // changes (the first answer included). Returns an id for
  // removeMasterListener(), which the listener must call before it goes.
  using MasterListener = std::function<void(const RedisAddress& master)>;
  uint64_t addMasterListener(MasterListener fn);
  void removeMasterListener(uint64_t id);

 private:
  friend class RedisClient;
  enum class State { Idle, Running, Closed };

  void attach(RedisClient& client);
  void detach(RedisClient& client);
  // Answers through client.onMasterResolved(), at once when closed, else
  // after a lookup (or with nothing when none succeeds within the deadline).
  void lookup(RedisClient& client);
  void cancelLookup(RedisClient& client);
  // A client found `address` is not a master, or cannot reach it: the
  // sentinel that named it may be behind (a sentinel that did not lead a
  // failover learns of it up to seconds later), so the next lookup asks
  // another one.
  void reportUnusable(const RedisAddress& address);

  void start();
  void close();
  void query();
  void onLookupReply(RedisStatus status, const redisReply* reply);
  void onLookupDeadline();
  void finishLookups(const std::optional<RedisAddress>& master);
  void onSwitchMessage(std::string_view payload);
  // Records the master the sentinels name; a change is a failover.
  void noteMaster(const RedisAddress& address, std::string_view source);
  void followAll(const RedisAddress& address);

  // How long a lookup naming a master redge left is taken for a lagging
  // sentinel's (see FormerMasters): sentinels trade hello messages every
  // 2 s, so a few rounds of them.
  static constexpr int64_t kFormerMasterMemoryMs = 15000;

  SentinelOptions options_;
  Clock& clock_;
  FormerMasters former_masters_{kFormerMasterMemoryMs};
  State state_ = State::Idle;
  std::unique_ptr<RedisClient> lookups_;
  std::unique_ptr<RedisClient> watch_;
  TimerPtr lookup_deadline_;
  std::vector<RedisClient*> clients_;
  std::vector<RedisClient*> waiters_;
  bool query_in_flight_ = false;
  bool check_wanted_ = false;  // look up even with no waiter (after a resubscribe)
  bool query_is_check_ = false;
  bool moved_since_answer_ = false;
  std::optional<RedisAddress> master_;
  std::vector<std::pair<uint64_t, MasterListener>> master_listeners_;
  uint64_t next_listener_id_ = 1;
  Counter& failovers_;
  Counter& lookup_failures_;
};

// The watcher for redis.sentinels, or nothing when none are configured.
// The configuration has been checked (addresses parse, master_name is set).
std::shared_ptr<SentinelWatcher> makeSentinelWatcher(Runtime& runtime, const RedisConfig& config);

}  // namespace redge
