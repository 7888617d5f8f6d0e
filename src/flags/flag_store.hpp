#pragma once
// FlagStore: the feature flags as this process follows them, and the way to
// change them. The flags module owns it and offers it through
// ModuleContext::provide, so a module created after it (app, gateway) finds
// it with context.find<FlagStore>().
//
// It keeps a snapshot of every flag: loaded whole (one script) at start,
// after every reconnect of either of its Redis connections and whenever a
// change message was missed; kept current between loads by the change
// messages on a dedicated subscriber connection. Evaluation reads the
// snapshot only: no request waits for Redis. While Redis is down it serves
// the last snapshot (stale() is true); a process that starts while Redis is
// down serves the snapshot file (flags.snapshot_path) until Redis answers.
//
// Lifetime: valid until the services are destroyed. Watchers run on the loop
// thread, in order, once per change; none runs after close(). Unwatch in
// your Service::close(), never in a destructor.

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime.hpp"
#include "flags/flag.hpp"
#include "flags/flag_evaluation.hpp"
#include "flags/flag_scripts.hpp"
#include "flags/flag_snapshot.hpp"
#include "flags/snapshot_file.hpp"
#include "redis/redis_client.hpp"
#include "redis/redis_script.hpp"

namespace redge {

struct FlagStoreOptions {
  std::string key_prefix = "redge:";
  std::string snapshot_path;  // empty: no file
};

// clang-format off
#define REDGE_FLAG_STATS(COUNTER, GAUGE, HISTOGRAM)                                                 \
  GAUGE(flags, "Flags in this process's snapshot")                                                 \
  GAUGE(snapshot_version, "The flag store version this process's snapshot is at")                  \
  GAUGE(snapshot_age_seconds, "Seconds since the snapshot was last known current (0 while following Redis)") \
  GAUGE(stale, "1 while the flags served are not followed live (Redis down, or the file's)")      \
  COUNTER(loads_total, "Full loads of the flag store (start, reconnect, a missed change)")         \
  COUNTER(changes_total, "Flag changes this process applied")                                      \
  COUNTER(resynced_total, "Flag differences found by a full load, not by a message")               \
  COUNTER(messages_ignored_total, "Change messages this redge could not read (a reload follows)")  \
  COUNTER(snapshot_writes_total, "Snapshot files written")                                         \
  COUNTER(snapshot_write_failures_total, "Snapshot file writes that failed")                        \
  HISTOGRAM(propagation_lag_seconds, "From a change in Redis to this process applying it")
// clang-format on

struct FlagStats {
  REDGE_STATS_MEMBERS(REDGE_FLAG_STATS)
};

class FlagStore;

// One flag as a request path reads it: looked up again only after the
// snapshot changed, not on every request (a map lookup costs more than the
// evaluation itself).
class FlagRef {
 public:
  explicit FlagRef(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  // The flag in `store`'s snapshot, or null; valid until the next change.
  inline const Flag* get(const FlagStore& store);

 private:
  std::string name_;
  uint64_t generation_ = UINT64_MAX;
  const Flag* flag_ = nullptr;
};

class FlagStore {
 public:
  using ChangeCallback = std::function<void(const FlagChange& change)>;
  using WatchId = uint64_t;
  // status Ok: `result` says what the script did; otherwise `reply` is what
  // Redis said (an error reply) or null.
  using WriteCallback = std::function<void(RedisStatus status, const redisReply* reply,
                                           const FlagWriteResult& result)>;

  FlagStore(Runtime& runtime, RedisClient& commands, RedisClientOptions subscriber_options,
            FlagStoreOptions options);
  FlagStore(const FlagStore&) = delete;
  FlagStore& operator=(const FlagStore&) = delete;

  // ---- evaluating (the request path: the snapshot only) ----

  // Valid until the next change is applied.
  const Flag* find(std::string_view name) const { return snapshot_.find(name); }
  const FlagSnapshot& snapshot() const { return snapshot_; }
  // Evaluates `name` for the user whose stickiness value is `key`, and
  // counts it (redge_flags_evaluations_total{flag,result}).
  FlagEvaluation evaluate(std::string_view name, std::optional<std::string_view> key);
  // The request path's form, without a lookup: `flag` is held by the
  // snapshot, `counters` what evaluationCounters(flag.name) gave (valid for
  // the store's lifetime, so a caller keeps them).
  using EvaluationCounters = std::array<Counter*, 4>;
  const EvaluationCounters& evaluationCounters(std::string_view held_name) {
    return countersFor(held_name).by_result;
  }
  static FlagEvaluation evaluateCounted(const Flag& flag, std::optional<std::string_view> key,
                                        const EvaluationCounters& counters);
  // The user's bucket for a flag, 0..99999 (see flag_evaluation.hpp): what a
  // canary split can share with flags.
  static uint32_t bucket(std::string_view flag, std::string_view key) {
    return flagBucket(flag, key);
  }
  int64_t version() const { return snapshot_.version(); }
  bool stale() const { return stale_; }
  // Calls `cb` for every flag added, changed or removed from now on.
  WatchId watch(ChangeCallback cb);
  void unwatch(WatchId id);

  // ---- changing (the admin API) ----

  // Writes `flag` (its name, enabled ... description and updated_by);
  // `expected` as in flagPutScript(). A written flag is in this process's
  // snapshot before `cb` runs.
  void put(const Flag& flag, const std::string& expected, WriteCallback cb);
  void setEnabled(std::string_view name, bool enabled, std::string_view actor, WriteCallback cb);
  void remove(std::string_view name, const std::string& expected, WriteCallback cb);

  // ---- for the flags service ----

  void start();
  void close();
  // Loads the whole store again.
  void refresh();
  bool following() const { return commands_.ready() && subscriber_->ready(); }
  const FlagKeys& keys() const { return keys_; }

 private:
  struct EvalCounters {
    std::array<Counter*, 4> by_result{};  // on, off, not_found, error
  };
  void restoreFile();
  void startLoad();
  void onLoaded(RedisStatus status, std::optional<FlagLoad> load);
  void onMessage(std::string_view channel, std::string_view payload);
  void applyLocal(const FlagMessage& message);
  void deliver(const std::vector<FlagChange>& changes);
  void writeFile();
  void markStale(std::string_view reason);
  void markFresh();
  void checkConnections();
  void collect();
  EvalCounters& countersFor(std::string_view name);
  void finishWrite(RedisStatus status, const redisReply* reply, FlagOp op, std::string_view name,
                   const WriteCallback& cb);

  Runtime& runtime_;
  RedisClient& commands_;
  FlagStoreOptions options_;
  FlagKeys keys_;
  FlagStats stats_;
  std::unique_ptr<RedisClient> subscriber_;
  RedisScript put_script_;
  RedisScript switch_script_;
  RedisScript delete_script_;
  RedisScript load_script_;
  TimerPtr check_timer_;
  std::unique_ptr<SnapshotFileWriter> file_;
  FlagSnapshot snapshot_;
  bool load_in_flight_ = false;
  bool load_again_ = false;
  std::map<WatchId, ChangeCallback> watchers_;
  WatchId next_watch_ = 1;
  std::map<std::string, EvalCounters, std::less<>> eval_counters_;
  bool stale_ = true;  // until the first load
  bool stale_logged_ = false;
  int64_t last_current_ms_ = 0;  // wall clock: when last known current (0: never)
  // Notices an outage (and its end) for stale() and the snapshot's age.
  static constexpr int64_t kCheckIntervalMs = 500;
  bool bad_message_logged_ = false;
  bool closed_ = false;
};

inline const Flag* FlagRef::get(const FlagStore& store) {
  uint64_t g = store.snapshot().generation();
  if (g != generation_) {
    flag_ = store.find(name_);
    generation_ = g;
  }
  return flag_;
}

}  // namespace redge
