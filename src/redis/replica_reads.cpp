// Replica reads (see the header for what they promise).
//
// One check timer drives everything slow: with sentinels it asks SENTINEL
// replicas and moves the replica connection when the choice changes; in
// both modes it measures the lag (ROLE on the replica and on the master,
// one command each a second) and lets one read try a replica that refused
// the last ones. The read path itself is one branch when the replica is
// usable: the command goes to the replica connection with a copy of its
// arguments, kept for the one retry on the master.

#include "redis/replica_reads.hpp"

#include <algorithm>
#include <vector>

#include "core/log.hpp"
#include "redis/redis_reply.hpp"
#include "redis/sentinel_watcher.hpp"

namespace redge {
namespace {

// Until the sentinels have answered once, ask again this soon: at start-up
// the sentinel connection is still being made.
constexpr int64_t kFirstCheckRetryMs = 200;

const Labels kReplicaLabel = {{"server", "replica"}};
const Labels kMasterLabel = {{"server", "master"}};

}  // namespace

std::string_view replicaFallbackReason(RedisStatus status, const redisReply* reply) {
  if (status == RedisStatus::Ok) return {};
  if (status == RedisStatus::ErrorReply) {
    std::string_view text = replyText(reply);
    if (text.starts_with("LOADING")) return "loading";
    if (text.starts_with("MASTERDOWN")) return "masterdown";
    return {};  // the command's own error: the master would say the same
  }
  return redisStatusName(status);  // not answered: unavailable, timeout, ...
}

ReplicaReads::ReplicaReads(Runtime& runtime, RedisClient& master,
                           std::shared_ptr<SentinelWatcher> sentinel, ReplicaReadsOptions options)
    : runtime_(runtime),
      master_(master),
      sentinel_(std::move(sentinel)),
      options_(std::move(options)),
      replica_reads_(runtime.metrics.counter(
          "redge_redis_reads_total",
          "reads that tolerate replication lag, by the server first asked", kReplicaLabel)),
      master_reads_(runtime.metrics.counter(
          "redge_redis_reads_total",
          "reads that tolerate replication lag, by the server first asked", kMasterLabel)),
      fallbacks_(
          runtime.metrics.counter("redge_redis_replica_fallbacks_total",
                                  "reads the replica could not answer, retried on the master")),
      up_(runtime.metrics.gauge("redge_redis_replica_up",
                                "1 while reads go to a replica (redis.read_from=replica)")),
      lag_(runtime.metrics.gauge(
          "redge_redis_replica_lag_bytes",
          "replication offset the replica is behind the master, measured every second")) {
  options_.replica.sentinel = nullptr;
  options_.replica.rotation.clear();
  options_.replica.name = "replica";
  options_.replica.command_timeout_ms =
      std::max<int64_t>(1, options_.replica.command_timeout_ms / 2);
}

ReplicaReads::~ReplicaReads() {
  close();
}

void ReplicaReads::attach() {
  if (++holders_ > 1 || !options_.enabled || closed_) return;
  check_timer_ = runtime_.timers.createTimer([this] { onCheckTimer(); });
  if (sentinel_) {
    listener_id_ = sentinel_->addMasterListener([this](const RedisAddress&) { checkSoon(); });
    check_timer_->enable(0);
    return;
  }
  useReplica(RedisAddress{options_.replica.url.host, options_.replica.url.port});
  check_timer_->enable(options_.check_interval_ms);
}

void ReplicaReads::detach() {
  if (holders_ == 0 || --holders_ > 0) return;
  close();
}

void ReplicaReads::close() {
  if (closed_) return;
  closed_ = true;
  *alive_ = false;
  check_timer_.reset();
  if (listener_id_ != 0 && sentinel_) sentinel_->removeMasterListener(listener_id_);
  listener_id_ = 0;
  dropReplica();
}

bool ReplicaReads::onReplica() const {
  return replica_ != nullptr && replica_->ready() && (healthy_ || probe_);
}

void ReplicaReads::read(const std::string_view* args, size_t count, RedisCallback cb) {
  if (!onReplica()) {
    master_reads_.inc();
    master_.command(args, count, std::move(cb));
    return;
  }
  probe_ = false;  // one read tries a replica that refused the last ones
  replica_reads_.inc();
  std::vector<std::string> copy(args, args + count);
  replica_->command(args, count,
                    [this, copy = std::move(copy), cb = std::move(cb)](
                        RedisStatus status, const redisReply* reply) mutable {
                      std::string_view reason = replicaFallbackReason(status, reply);
                      if (reason.empty()) {
                        markBack();
                        if (cb) cb(status, reply);
                        return;
                      }
                      fallbacks_.inc();
                      if (status != RedisStatus::Closed) markLost(reason);
                      std::vector<std::string_view> views(copy.begin(), copy.end());
                      master_.command(views, std::move(cb));
                    });
}

void ReplicaReads::checkSoon() {
  if (check_timer_ && !closed_) check_timer_->enable(0);
}

void ReplicaReads::onCheckTimer() {
  if (closed_) return;
  check_timer_->enable(options_.check_interval_ms);
  if (replica_ && replica_->ready() && !healthy_) probe_ = true;
  measureLag();
  if (!sentinel_ || check_in_flight_) return;
  check_in_flight_ = true;
  std::weak_ptr<bool> alive = alive_;
  sentinel_->replicas([this, alive](const std::optional<std::vector<SentinelReplica>>& list) {
    if (alive.expired() || !*alive.lock()) return;
    check_in_flight_ = false;
    onReplicas(list);
  });
}

void ReplicaReads::onReplicas(const std::optional<std::vector<SentinelReplica>>& list) {
  if (closed_) return;
  if (!list) {
    // No sentinel answered: keep what we have; before the first answer,
    // ask again soon.
    if (!chosen_) check_timer_->enable(kFirstCheckRetryMs);
    return;
  }
  std::optional<RedisAddress> choice = chooseReplica(*list, chosen_);
  if (!choice) {
    if (!none_logged_) {
      none_logged_ = true;
      REDGE_LOG(Warn, "redis_replica_none")
          .kv("master", sentinel_->masterName())
          .kv("listed", static_cast<uint64_t>(list->size()))
          .kv("reads", "master");
    }
    markLost("no usable replica");
    dropReplica();
    return;
  }
  none_logged_ = false;
  if (chosen_ == choice) return;
  if (chosen_) {
    REDGE_LOG(Info, "redis_replica_moved").kv("old", chosen_->text()).kv("new", choice->text());
  }
  markLost("moving to another replica");
  useReplica(*choice);
}

void ReplicaReads::useReplica(const RedisAddress& address) {
  dropReplica();
  RedisClientOptions o = options_.replica;
  if (sentinel_) {
    o.url.host = address.host;
    o.url.port = address.port;
    o.url.unix_socket = false;
    chosen_ = address;
  }
  replica_ = std::make_unique<RedisClient>(runtime_, std::move(o));
  // The hooks run from the client's own callbacks: they only change state
  // and arm the timer, never replace the client under its own feet.
  replica_->onReady([this] { markBack(); });
  replica_->onDown([this] {
    markLost(replica_->downReason());
    checkSoon();
  });
  replica_->start();
}

void ReplicaReads::dropReplica() {
  chosen_.reset();
  probe_ = false;
  if (!replica_) return;
  replica_->close();
  replica_.reset();
  healthy_ = false;
  up_.set(0);
}

void ReplicaReads::markLost(std::string_view reason) {
  probe_ = false;
  if (!healthy_) return;
  healthy_ = false;
  up_.set(0);
  REDGE_LOG(Warn, "redis_replica_lost")
      .kv("target", replica_ ? replica_->targetText() : std::string())
      .kv("reason", reason)
      .kv("reads", "master");
}

void ReplicaReads::markBack() {
  probe_ = false;
  if (healthy_ || !replica_ || !replica_->ready()) return;
  healthy_ = true;
  up_.set(1);
  REDGE_LOG(Info, ever_up_ ? "redis_replica_back" : "redis_replica_ready")
      .kv("target", replica_->targetText())
      .kv("reads", "replica");
  ever_up_ = true;
}

void ReplicaReads::measureLag() {
  if (!replica_ || !replica_->ready() || !master_.ready()) return;
  struct Offsets {
    std::optional<int64_t> master, replica;
    int left = 2;
  };
  auto offsets = std::make_shared<Offsets>();
  std::weak_ptr<bool> alive = alive_;
  auto done = [this, alive, offsets] {
    if (--offsets->left != 0 || alive.expired() || !*alive.lock()) return;
    if (offsets->master && offsets->replica) {
      lag_.set(static_cast<double>(std::max<int64_t>(0, *offsets->master - *offsets->replica)));
    }
  };
  // The replica first: its offset can then only look older, never newer,
  // than the master's read a moment later.
  replica_->command({"ROLE"}, [offsets, done](RedisStatus s, const redisReply* r) {
    if (s == RedisStatus::Ok) offsets->replica = parseRoleOffset(r);
    done();
  });
  master_.command({"ROLE"}, [offsets, done](RedisStatus s, const redisReply* r) {
    if (s == RedisStatus::Ok) offsets->master = parseRoleOffset(r);
    done();
  });
}

}  // namespace redge
