#pragma once
// Reads that tolerate replication lag, sent to a Redis replica when
// redis.read_from = replica, to the master otherwise.
//
// The replica is redis.replica_url, or (with sentinels) one that SENTINEL
// replicas lists as usable (replicaUsable, chooseReplica), asked again every
// second, at once after a failover the sentinels announce, and after the
// replica connection is lost. Its connection is a RedisClient of its own
// (client="replica") with half the command timeout, so a read the replica
// does not answer in time still has the other half on the master.
//
// Promises:
// - read() calls its callback exactly once, like RedisClient::command().
// - A read the replica cannot answer (not connected, timed out, connection
//   lost, LOADING, MASTERDOWN) is sent to the master once; the client sees
//   the master's answer. Each such retry counts in
//   redge_redis_replica_fallbacks_total; the replica going away and coming
//   back are one log line each (redis_replica_lost / redis_replica_back),
//   never one per request.
// - While the replica is not usable, reads go straight to the master.
// - Another error reply (WRONGTYPE...) is the answer: the master would say
//   the same.
//
// Lifetime: shared by the services that read through it (shared_ptr). Each
// service calls attach() when it is created and detach() in its close();
// the first attach starts the replica connection, the last detach closes
// it. The master client must outlive this object.

#include <hiredis/hiredis.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "core/timer.hpp"
#include "redis/redis_client.hpp"
#include "redis/sentinel_protocol.hpp"

namespace redge {

class SentinelWatcher;

struct ReplicaReadsOptions {
  bool enabled = false;  // redis.read_from = replica
  // How replica connections are made: user, password, db and timeouts (the
  // command timeout is halved). With a sentinel watcher, url's host and port
  // are replaced by the replica chosen; without, url is the replica.
  RedisClientOptions replica;
  int64_t check_interval_ms = 1000;
};

// Why a replica's answer is not the answer: "" when it is (a reply, or an
// error reply the master would give too), else the reason the read goes to
// the master: timeout, connection_lost, unavailable, closed, loading,
// masterdown.
std::string_view replicaFallbackReason(RedisStatus status, const redisReply* reply);

class ReplicaReads : public std::enable_shared_from_this<ReplicaReads> {
 public:
  ReplicaReads(Runtime& runtime, RedisClient& master, std::shared_ptr<SentinelWatcher> sentinel,
               ReplicaReadsOptions options);
  ~ReplicaReads();
  ReplicaReads(const ReplicaReads&) = delete;
  ReplicaReads& operator=(const ReplicaReads&) = delete;

  void attach();
  void detach();

  void read(std::initializer_list<std::string_view> args, RedisCallback cb) {
    read(args.begin(), args.size(), std::move(cb));
  }
  void read(const std::string_view* args, size_t count, RedisCallback cb);

  RedisClient& master() { return master_; }
  bool enabled() const { return options_.enabled; }
  // Reads go to the replica now (connected, and not refusing them).
  bool onReplica() const;

 private:
  void close();
  void onCheckTimer();
  void checkSoon();
  void onReplicas(const std::optional<std::vector<SentinelReplica>>& list);
  void useReplica(const RedisAddress& address);
  void dropReplica();
  void markLost(std::string_view reason);
  void markBack();
  void measureLag();

  Runtime runtime_;
  RedisClient& master_;
  std::shared_ptr<SentinelWatcher> sentinel_;
  ReplicaReadsOptions options_;
  size_t holders_ = 0;
  bool closed_ = false;
  std::unique_ptr<RedisClient> replica_;
  std::optional<RedisAddress> chosen_;  // with sentinels: the replica replica_ connects to
  // Usable as far as we know: connected and answering. While false and
  // connected, one read every check interval tries the replica again.
  bool healthy_ = false;
  bool probe_ = false;
  bool ever_up_ = false;
  bool none_logged_ = false;
  bool check_in_flight_ = false;
  uint64_t listener_id_ = 0;
  TimerPtr check_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Counter& replica_reads_;
  Counter& master_reads_;
  Counter& fallbacks_;
  Gauge& up_;
  Gauge& lag_;
};

}  // namespace redge
