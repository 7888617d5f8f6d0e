#pragma once
// The shared asynchronous Redis connection: hiredis's async API on the loop
// through its libuv adapter. Every command from every request rides this one
// connection, so commands issued in the same loop iteration leave in one
// write and Redis answers them in one read.
//
// Promises:
// - A command never waits for a connection: while Redis is not connected and
//   ready, command() calls its callback at once (synchronously) with
//   RedisStatus::Unavailable.
// - Every command has a deadline (redis.command_timeout_ms). Redis answers in
//   order, so when the oldest command is overdue the connection is stuck:
//   it is dropped, every command in flight fails with Timeout at once, and a
//   reconnect is scheduled.
// - When the connection dies, every command in flight fails at once
//   (ConnectionLost), and reconnects follow with exponential backoff and jitter.
// - Each callback runs exactly once. The reply pointer is valid only during
//   the callback.
// - close() fails every pending command with Closed and releases the
//   handles; the client may be destroyed right after it (what is still
//   closing no longer refers to it).
// - With options.sentinel set, the target is the master the sentinels name:
//   it is looked up (asynchronously) before every connect, ROLE must say
//   "master" before the connection is ready, and a failover the sentinels
//   announce moves the connection to the new master at once. Meanwhile the
//   client is simply not ready, as during any other outage.

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "core/stats.hpp"
#include "redis/redis_url.hpp"
#include "redis/sentinel_protocol.hpp"
#include "resilience/backoff.hpp"

namespace redge {

struct SocketWatch;
class SentinelWatcher;

enum class RedisStatus {
  Ok,              // reply is set (may be a nil or an array)
  ErrorReply,      // Redis answered -ERR ...; reply is set
  Unavailable,     // not connected: the command was not sent
  Timeout,         // no answer within command_timeout_ms
  ConnectionLost,  // the connection died with the command in flight
  Closed,          // the client is shutting down
};

std::string_view redisStatusName(RedisStatus s);

using RedisCallback = std::function<void(RedisStatus status, const redisReply* reply)>;

struct RedisClientOptions {
  RedisUrl url;
  std::string name = "redis";  // log field and metric label
  int64_t connect_timeout_ms = 1000;
  int64_t command_timeout_ms = 1000;
  int64_t reconnect_min_ms = 100;
  int64_t reconnect_max_ms = 500;
  // Follow the master these sentinels name (url's host and port are then
  // ignored; its user, password and db are used). Shared by every client of
  // the process, so one lookup and one subscription serve them all.
  std::shared_ptr<SentinelWatcher> sentinel;
  // Instead of url's host and port: these servers in turn, moving to the
  // next whenever a connect fails or the connection is lost (how the
  // SentinelWatcher reaches its sentinels).
  std::vector<RedisAddress> rotation;
};

// clang-format off
#define REDGE_REDIS_CLIENT_STATS(COUNTER, GAUGE, HISTOGRAM)               \
  COUNTER(commands_total, "Redis commands sent")                         \
  COUNTER(reconnects_total, "Redis reconnect attempts")                  \
  GAUGE(inflight, "Redis commands awaiting a reply")                     \
  GAUGE(connected, "1 while the Redis connection is ready")
// clang-format on

struct RedisClientStats {
  REDGE_STATS_MEMBERS(REDGE_REDIS_CLIENT_STATS)
};

class RedisClient {
 public:
  RedisClient(Runtime& runtime, RedisClientOptions options);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Starts connecting; reconnects by itself from then on.
  void start();
  // Fails every command in flight (RedisStatus::Closed) and stops; nothing
  // of it runs afterwards, and every handle it owned is closing.
  void close();

  bool ready() const { return state_ == State::Ready; }
  // Seconds a client should wait before retrying while Redis is down: the
  // time to the next reconnect attempt, at least 1.
  int retryAfterSeconds() const;

  void command(std::initializer_list<std::string_view> args, RedisCallback cb);
  void command(const std::vector<std::string_view>& args, RedisCallback cb);
  void command(const std::string_view* args, size_t count, RedisCallback cb);

  // Called each time the connection becomes ready (after AUTH/SELECT), e.g.
  // to load scripts; in subscriber mode, each time Redis confirms the
  // subscription.
  void onReady(std::function<void()> fn) { ready_hooks_.push_back(std::move(fn)); }
  // Called each time a connection is lost or an attempt to connect fails
  // (every retry, not only the first), e.g. to tell an operator Redis is down.
  void onDown(std::function<void()> fn) { down_hooks_.push_back(std::move(fn)); }
  // Why the connection was last lost or refused ("command timeout",
  // "closed by peer", ...), as the redis_down line says it.
  const std::string& downReason() const { return down_reason_; }

  size_t inflight() const { return inflight_; }
  // Counts the connections that became ready: a command answered under one
  // id ran on that connection, so a WAIT sent while the id is unchanged
  // covers its writes (a WAIT on a new connection would cover nothing).
  uint64_t connectionId() const { return connection_id_; }
  // The server connected to, or being connected to ("" for a unix socket
  // or before the first target is known).
  std::string targetText() const;

  // Subscriber mode, for a dedicated connection: after every (re)connect the
  // client sends PSUBSCRIBE `pattern` and hands each message to `on_message`
  // (channel, payload). Set before start(). A subscribed connection accepts
  // no other commands (Redis's rule), so use a second client for this.
  using MessageHandler = std::function<void(std::string_view channel, std::string_view message)>;
  void psubscribe(std::string pattern, MessageHandler on_message) {
    pattern_ = std::move(pattern);
    on_message_ = std::move(on_message);
  }

 private:
  friend class SentinelWatcher;
  // Resolving: waiting for the sentinels to name the master.
  enum class State { Idle, Resolving, Connecting, Ready, Backoff, Closed };
  struct Pending {
    RedisClient* client;
    RedisCallback cb;
    uint64_t deadline_ms;
    Pending* prev = nullptr;
    Pending* next = nullptr;
    bool internal = false;  // handshake: not counted as a user command
  };

  static void onConnectCb(const redisAsyncContext* ac, int status) noexcept;
  static void onDisconnectCb(const redisAsyncContext* ac, int status) noexcept;
  static void onReplyCb(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  static void onSubscriptionCb(redisAsyncContext* ac, void* reply, void* privdata) noexcept;
  static void watchCleanup(void* watch);

  void connect();
  void connectToTarget();
  void becomeReady();
  // From the SentinelWatcher: the master a lookup found (nothing: none known
  // now, back off and ask again).
  void onMasterResolved(std::optional<RedisAddress> master);
  // From the SentinelWatcher: the sentinels announced a new master; leave
  // the current one (unless already on `master`) and connect there now.
  void followMaster(const RedisAddress& master);
  // Drops the connection (if any) and connects again at once; with a
  // rotation, to the next server.
  void reconnectNow(std::string_view why);
  bool attach(redisAsyncContext* ac);
  void beforePoll();
  void sendHandshake();
  void onHandshakeDone(RedisStatus status, const redisReply* reply, std::string_view step);
  void onReply(Pending* p, redisReply* reply);
  void onConnectionGone(std::string_view why);
  void dropConnection(RedisStatus reason, std::string_view why);
  void scheduleReconnect();
  void armTimeoutTimer();
  void onTimeoutTimer();
  void onReconnectTimer();
  uint64_t nowMs() const { return static_cast<uint64_t>(clock_.nowMs()); }
  void send(const std::string_view* args, size_t count, RedisCallback cb, bool internal);
  void link(Pending* p);
  void unlink(Pending* p);

  uv_loop_t* loop_;
  const Clock& clock_;
  LoopHooks& hooks_;
  RedisClientOptions options_;
  ExponentialBackoff backoff_;
  std::mt19937 random_;
  State state_ = State::Idle;
  redisAsyncContext* ac_ = nullptr;
  RedisStatus failure_reason_ = RedisStatus::ConnectionLost;
  int attempt_ = 0;
  uint64_t reconnect_at_ms_ = 0;
  TimerPtr timeout_timer_;  // command deadlines and the connect deadline
  TimerPtr reconnect_timer_;
  // Before the poll: writes this iteration's commands, then settles the
  // poll mask.
  LoopHooks::HookId before_poll_ = 0;
  SocketWatch* watch_ = nullptr;  // the current connection's poll handle
  bool was_ready_ = false;
  uint64_t connection_id_ = 0;
  bool down_logged_ = false;
  std::string down_reason_;
  uint64_t connect_deadline_ms_ = 0;
  RedisAddress target_;                      // TCP target of the current connect
  std::optional<RedisAddress> next_target_;  // set by a failover: skips the lookup once
  SentinelRotation rotation_;
  bool attached_ = false;  // registered with options_.sentinel
  bool role_unchecked_logged_ = false;
  Pending* head_ = nullptr;  // oldest command in flight
  Pending* tail_ = nullptr;
  size_t inflight_ = 0;
  std::vector<std::function<void()>> ready_hooks_;
  std::vector<std::function<void()>> down_hooks_;
  std::string pattern_;
  MessageHandler on_message_;
  RedisClientStats stats_;
  Counter* errors_[static_cast<size_t>(RedisStatus::Closed) + 1] = {};  // by RedisStatus
};

}  // namespace redge
