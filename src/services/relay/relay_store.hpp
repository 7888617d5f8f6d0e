#pragma once
// The relay's durable state in Redis and the atomic steps on it, each one
// Lua script (loaded once, run with EVALSHA). Keys, under <prefix>relay::
//
//   queue                 list of message ids waiting; new ids LPUSHed on the
//                         left, taken from the right (oldest first)
//   processing:<instance> ids being delivered by one redge instance; a crash
//                         leaves them there and the instance's next start
//                         puts them back at the head of the queue
//   delayed               zset of ids waiting for a retry, scored by due time
//   held                  zset of ids the circuit breaker refused (nothing
//                         was sent), scored by when it half-opens
//   failed                dead letters, newest first
//   msg:<id>              hash: id destination body status attempts
//                         last_error_kind last_error_detail created_at updated_at
//   status:<status>       zset per status (queued delivering sent failed)
//                         and status:all, scored by created_at, for listing
//                         newest first
//   idem:<key>            the id a client's Idempotency-Key got (24 h)
//   gate                  exists while enqueueing is disabled (shared by
//                         every instance on this Redis)
//   kinds                 hash: failures counted by kind
//
// The gate's hysteresis in the enqueue and take scripts is the rule of
// BackpressureGate (resilience/backpressure_gate.hpp), applied to the depth
// Redis sees, so several instances share one gate. The depth is every
// message accepted and waiting for its next attempt: queue + held + delayed.
// Only the messages being delivered right now (at most relay.concurrency per
// instance, in processing lists) are outside it; so a message that failed
// and waits for its retry, or that the breaker holds back, still takes its
// place under relay.queue_max.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_client.hpp"
#include "redis/redis_script.hpp"

namespace redge {

struct StoredMessage {
  std::string id;
  std::string destination;
  std::string body;
  int64_t attempts = 0;
};

// Gate transitions reported by the scripts.
enum class GateChange { None = 0, Disabled = 1, Enabled = 2 };

struct EnqueueResult {
  enum class Kind { Queued, Duplicate, Refused } kind = Kind::Refused;
  std::string id;     // the new id, or the first id for a repeated Idempotency-Key
  int64_t depth = 0;  // queue depth after the call
  GateChange change = GateChange::None;
};

struct HoldResult {
  bool held = false;  // false: the queue was empty
  std::string id;
  int64_t attempts = 0;  // attempts made so far (the hold counts none)
};

struct TakeResult {
  bool taken = false;
  StoredMessage message;
  int64_t depth = 0;
  GateChange change = GateChange::None;
};

class RelayStore {
 public:
  // Enqueues go through `enqueue_client` when given (the relay's own
  // connection for relay.durability=replicated, where each enqueue is
  // followed by a WAIT that must not hold up everything else), through
  // `redis` otherwise.
  RelayStore(RedisClient& redis, const std::string& key_prefix, const std::string& instance,
             RedisClient* enqueue_client = nullptr);

  void enqueue(const std::string& id, std::string_view destination, std::string_view body,
               std::string_view idempotency_key, int64_t max, int64_t recovery, int64_t now_ms,
               std::function<void(RedisStatus, const EnqueueResult&)> cb);
  void take(int64_t recovery, int64_t now_ms,
            std::function<void(RedisStatus, const TakeResult&)> cb);
  void markSent(const std::string& id, int64_t now_ms, RedisCallback cb);
  void scheduleRetry(const std::string& id, int64_t now_ms, int64_t due_ms, std::string_view kind,
                     std::string_view detail, RedisCallback cb);
  void deadLetter(const std::string& id, int64_t now_ms, std::string_view kind,
                  std::string_view detail, RedisCallback cb);
  // The breaker refused a message this instance had taken (nothing was
  // sent): from processing to held until due_ms, the take's attempt undone.
  void hold(const std::string& id, int64_t now_ms, int64_t due_ms, std::string_view kind,
            std::string_view detail, RedisCallback cb);
  // The breaker is open: the oldest queued message goes straight to held
  // until due_ms, in one step (it never sits in processing), its attempts
  // untouched and its last error set.
  void holdNext(int64_t now_ms, int64_t due_ms, std::string_view kind, std::string_view detail,
                std::function<void(RedisStatus, const HoldResult&)> cb);
  // Moves retries whose time has come, and (when release_held) held
  // messages whose time has come, to the head of the queue, earliest first.
  void promoteDue(int64_t now_ms, bool release_held, RedisCallback cb);
  void recoverProcessing(int64_t now_ms, RedisCallback cb);
  // Requeues these ids if they are still in this instance's processing list.
  void recoverIds(const std::vector<std::string>& ids, int64_t now_ms, RedisCallback cb);

  std::string messageKey(std::string_view id) const { return prefix_ + "msg:" + std::string(id); }
  std::string statusKey(std::string_view status) const {
    return prefix_ + "status:" + std::string(status);
  }
  const std::string& queueKey() const { return queue_; }
  const std::string& processingKey() const { return processing_; }
  const std::string& delayedKey() const { return delayed_; }
  const std::string& heldKey() const { return held_; }
  const std::string& kindsKey() const { return kinds_; }

 private:
  std::string prefix_;
  std::string queue_, processing_, delayed_, held_, failed_, gate_, kinds_, msg_prefix_;
  RedisScript enqueue_script_;
  RedisScript take_script_;
  RedisScript sent_script_;
  RedisScript retry_script_;
  RedisScript dead_script_;
  RedisScript hold_script_;
  RedisScript hold_next_script_;
  RedisScript promote_script_;
  RedisScript recover_script_;
  RedisScript recover_ids_script_;
};

}  // namespace redge
