// The shared async Redis connection (see the header for its promises).
//
// Life of a connection: connect() asks hiredis for a non-blocking connect and
// queues AUTH / SELECT / PING behind it (hiredis buffers them until the socket
// is writable), so the handshake costs one round trip. The PING reply makes
// the connection Ready. Any failure drops the context and schedules a
// reconnect with equal-jitter backoff.
//
// hiredis frees a context itself when the peer closes it or the connect
// fails; we free it ourselves only on a timeout, a failed handshake or
// close(). Either way, before our own free we null ac->data, so the
// disconnect callback that hiredis still makes finds nothing to do. Pending
// commands are ours (Pending records linked in send order); hiredis calls
// each one's reply callback exactly once, with a NULL reply when the context
// is freed, and failure_reason_ tells the callback why.
//
// With sentinels (options.sentinel), connect() first asks the shared
// SentinelWatcher for the master (state Resolving), the handshake ends with
// ROLE instead of PING, and a server that is not a master is dropped like a
// failed handshake. A failover announced by the sentinels arrives as
// followMaster(): the connection is dropped, every command in flight fails
// at once (ConnectionLost, the usual 503), and the next connect goes
// straight to the new master.

#include "redis/redis_client.hpp"

#include "core/log.hpp"
#include "redis/redis_reply.hpp"
#include "redis/sentinel_watcher.hpp"

namespace redge {

std::string_view redisStatusName(RedisStatus s) {
  switch (s) {
    case RedisStatus::Ok:
      return "ok";
    case RedisStatus::ErrorReply:
      return "reply_error";
    case RedisStatus::Unavailable:
      return "unavailable";
    case RedisStatus::Timeout:
      return "timeout";
    case RedisStatus::ConnectionLost:
      return "connection_lost";
    case RedisStatus::Closed:
      return "closed";
  }
  return "unknown";
}

namespace {

RedisClientStats bindStats(MetricsRegistry& metrics, const std::string& client) {
  StatsBinder stats_binder(metrics, "redge_redis_", {{"client", client}});
  return REDGE_STATS_BIND(REDGE_REDIS_CLIENT_STATS);
}

}  // namespace

RedisClient::RedisClient(Runtime& runtime, RedisClientOptions options)
    : loop_(runtime.loop),
      clock_(runtime.clock),
      hooks_(runtime.hooks),
      options_(std::move(options)),
      backoff_(options_.reconnect_min_ms, options_.reconnect_max_ms),
      random_(std::random_device{}()),
      timeout_timer_(runtime.timers.createTimer([this] { onTimeoutTimer(); })),
      reconnect_timer_(runtime.timers.createTimer([this] { onReconnectTimer(); })),
      rotation_(options_.rotation.size()),
      stats_(bindStats(runtime.metrics, options_.name)) {
  // One counter per failure kind, bound once.
  for (RedisStatus s : {RedisStatus::Unavailable, RedisStatus::Timeout, RedisStatus::ConnectionLost,
                        RedisStatus::ErrorReply}) {
    errors_[static_cast<size_t>(s)] = &runtime.metrics.counter(
        "redge_redis_errors_total", "Redis command failures by kind",
        {{"client", options_.name}, {"kind", std::string(redisStatusName(s))}});
  }
  before_poll_ = hooks_.addBeforePoll([this] { beforePoll(); });
}

// ---------------------------------------------------------------- event glue
//
// Our own binding of hiredis's event hooks to libuv, instead of the adapter
// hiredis ships. That adapter calls uv_poll_start on every add/del of read or
// write interest, and libuv turns each call into an immediate epoll DEL plus
// an ADD at the next poll: about six epoll_ctl calls per batch of commands.
// Here hiredis's hooks only record the wanted mask; just before the loop
// polls, beforePoll() writes the batch itself (on an established connection
// a write almost always completes at once) and hands uv_poll the mask only
// if it really changed. In steady state that is zero epoll_ctl calls and one
// write per loop iteration, however many requests issued commands.

struct SocketWatch {
  uv_poll_t poll;
  RedisClient* client;    // null once the client let go of this watch
  redisAsyncContext* ac;  // null once hiredis cleaned up the context
  int want = 0;           // UV_READABLE | UV_WRITABLE as hiredis asked
  int applied = 0;        // what uv_poll watches now
};

namespace {

void watchAddRead(void* d) {
  static_cast<SocketWatch*>(d)->want |= UV_READABLE;
}
void watchDelRead(void* d) {
  static_cast<SocketWatch*>(d)->want &= ~UV_READABLE;
}
void watchAddWrite(void* d) {
  static_cast<SocketWatch*>(d)->want |= UV_WRITABLE;
}
void watchDelWrite(void* d) {
  static_cast<SocketWatch*>(d)->want &= ~UV_WRITABLE;
}

void onWatchClosedCb(uv_handle_t* h) noexcept {
  delete static_cast<SocketWatch*>(h->data);
}

void onWatchPollCb(uv_poll_t* h, int status, int events) noexcept {
  auto* w = static_cast<SocketWatch*>(h->data);
  if (w->ac == nullptr) return;
  // An error status still means "look at the socket": the read reports it.
  if (status < 0 || (events & UV_READABLE)) redisAsyncHandleRead(w->ac);
  if (w->ac != nullptr && (events & UV_WRITABLE)) redisAsyncHandleWrite(w->ac);
}

}  // namespace

// hiredis calls this when it frees the context (ours or its own doing).
void RedisClient::watchCleanup(void* watch) {
  auto* w = static_cast<SocketWatch*>(watch);
  w->ac = nullptr;
  if (w->client != nullptr && w->client->watch_ == w) w->client->watch_ = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), &onWatchClosedCb);
}

bool RedisClient::attach(redisAsyncContext* ac) {
  auto* w = new SocketWatch;
  w->client = this;
  w->ac = ac;
  if (uv_poll_init(loop_, &w->poll, ac->c.fd) != 0) {
    delete w;
    return false;
  }
  w->poll.data = w;
  ac->ev.data = w;
  ac->ev.addRead = &watchAddRead;
  ac->ev.delRead = &watchDelRead;
  ac->ev.addWrite = &watchAddWrite;
  ac->ev.delWrite = &watchDelWrite;
  ac->ev.cleanup = &RedisClient::watchCleanup;
  watch_ = w;
  return true;
}

void RedisClient::beforePoll() {
  if (watch_ == nullptr || ac_ == nullptr) return;
  // Only once connected: before that, hiredis would take a connect still in
  // progress for a completed one, so a connecting socket waits for POLLOUT.
  if (state_ == State::Ready && (watch_->want & UV_WRITABLE)) {
    redisAsyncHandleWrite(ac_);  // may free the context on error
    if (watch_ == nullptr) return;
  }
  SocketWatch* w = watch_;
  if (w->want == w->applied) return;
  w->applied = w->want;
  if (w->want == 0) {
    uv_poll_stop(&w->poll);
  } else {
    uv_poll_start(&w->poll, w->want, &onWatchPollCb);
  }
}

RedisClient::~RedisClient() {
  if (before_poll_ != 0) hooks_.remove(before_poll_);
  if (attached_) options_.sentinel->detach(*this);
}

void RedisClient::start() {
  if (state_ != State::Idle) return;
  if (options_.sentinel) {
    attached_ = true;
    options_.sentinel->attach(*this);
  }
  connect();
}

std::string RedisClient::targetText() const {
  if (options_.url.unix_socket && !options_.sentinel && options_.rotation.empty()) {
    return options_.url.path;
  }
  return target_.host.empty() ? std::string() : target_.text();
}

int RedisClient::retryAfterSeconds() const {
  if (state_ == State::Backoff) {
    uint64_t now = nowMs();
    if (reconnect_at_ms_ > now) {
      return static_cast<int>(std::max<uint64_t>(1, (reconnect_at_ms_ - now + 999) / 1000));
    }
  }
  return 1;
}

void RedisClient::connect() {
  failure_reason_ = RedisStatus::ConnectionLost;
  if (options_.sentinel) {
    if (!next_target_) {
      // The answer comes through onMasterResolved, possibly before this returns.
      state_ = State::Resolving;
      options_.sentinel->lookup(*this);
      return;
    }
    target_ = std::move(*next_target_);
    next_target_.reset();
  } else if (!options_.rotation.empty()) {
    target_ = options_.rotation[rotation_.current()];
  } else {
    target_ = RedisAddress{options_.url.host, options_.url.port};
  }
  connectToTarget();
}

void RedisClient::onMasterResolved(std::optional<RedisAddress> master) {
  if (state_ != State::Resolving) return;
  if (!master) {
    onConnectionGone("no master named by the sentinels");
    scheduleReconnect();
    return;
  }
  target_ = std::move(*master);
  connectToTarget();
}

void RedisClient::followMaster(const RedisAddress& master) {
  if (state_ == State::Closed || state_ == State::Idle) return;
  if ((state_ == State::Ready || state_ == State::Connecting) && target_ == master) return;
  if (state_ == State::Resolving) options_.sentinel->cancelLookup(*this);
  next_target_ = master;
  reconnectNow("master switched");
}

void RedisClient::reconnectNow(std::string_view why) {
  if (state_ == State::Closed) return;
  if (ac_ != nullptr) {
    dropConnection(RedisStatus::ConnectionLost, why);
  } else if (!options_.rotation.empty()) {
    rotation_.advance();
  }
  attempt_ = 0;
  state_ = State::Backoff;
  reconnect_at_ms_ = nowMs();
  if (reconnect_timer_) reconnect_timer_->enable(0);
}

void RedisClient::connectToTarget() {
  state_ = State::Connecting;
  bool unix_socket = options_.url.unix_socket && !options_.sentinel && options_.rotation.empty();
  redisAsyncContext* ac = unix_socket ? redisAsyncConnectUnix(options_.url.path.c_str())
                                      : redisAsyncConnect(target_.host.c_str(), target_.port);
  if (ac == nullptr || ac->err) {
    onConnectionGone(ac ? ac->errstr : "out of memory");
    if (ac) redisAsyncFree(ac);
    scheduleReconnect();
    return;
  }
  ac->data = this;
  if (!attach(ac)) {
    onConnectionGone("cannot attach to the loop");
    redisAsyncFree(ac);
    scheduleReconnect();
    return;
  }
  redisAsyncSetConnectCallback(ac, &onConnectCb);
  redisAsyncSetDisconnectCallback(ac, &onDisconnectCb);
  ac_ = ac;
  connect_deadline_ms_ = nowMs() + static_cast<uint64_t>(options_.connect_timeout_ms);
  sendHandshake();
  armTimeoutTimer();
}

void RedisClient::sendHandshake() {
  const RedisUrl& u = options_.url;
  if (!u.password.empty()) {
    if (!u.user.empty()) {
      std::string_view args[] = {"AUTH", u.user, u.password};
      send(
          args, 3, [this](RedisStatus s, const redisReply* r) { onHandshakeDone(s, r, "auth"); },
          true);
    } else {
      std::string_view args[] = {"AUTH", u.password};
      send(
          args, 2, [this](RedisStatus s, const redisReply* r) { onHandshakeDone(s, r, "auth"); },
          true);
    }
  }
  if (u.db != 0) {
    std::string db = std::to_string(u.db);
    std::string_view args[] = {"SELECT", db};
    send(
        args, 2, [this](RedisStatus s, const redisReply* r) { onHandshakeDone(s, r, "select"); },
        true);
  }
  if (options_.sentinel) {
    // The sentinels may be behind (or partitioned): only the server itself
    // can say it takes writes.
    std::string_view role[] = {"ROLE"};
    send(
        role, 1, [this](RedisStatus s, const redisReply* r) { onHandshakeDone(s, r, "role"); },
        true);
    return;
  }
  std::string_view ping[] = {"PING"};
  send(
      ping, 1, [this](RedisStatus s, const redisReply* r) { onHandshakeDone(s, r, "ping"); }, true);
}

void RedisClient::onHandshakeDone(RedisStatus status, const redisReply* reply,
                                  std::string_view step) {
  if (status == RedisStatus::Ok) {
    if ((step != "ping" && step != "role") || state_ != State::Connecting) return;
    if (step == "role") {
      RedisRole role = parseRoleReply(reply);
      if (role != RedisRole::Master) {
        REDGE_LOG(Warn, "redis_not_master")
            .kv("client", options_.name)
            .kv("target", target_.text())
            .kv("role", redisRoleName(role));
        options_.sentinel->reportUnusable(target_);
        dropConnection(RedisStatus::ConnectionLost, "not a master");
        return;
      }
    }
    becomeReady();
    return;
  }
  if (status == RedisStatus::ErrorReply && step == "role" && state_ == State::Connecting) {
    // An ACL user without +role: trust the sentinels rather than refuse a
    // server that may well be the master; said once, as it stays so.
    if (!role_unchecked_logged_) {
      role_unchecked_logged_ = true;
      REDGE_LOG(Warn, "redis_role_unchecked")
          .kv("client", options_.name)
          .kv("target", target_.text())
          .kv("error", replyText(reply));
    }
    becomeReady();
    return;
  }
  if (status == RedisStatus::ErrorReply) {
    // Wrong password or database: retrying at the backoff ceiling keeps the
    // log quiet while an operator fixes the configuration.
    REDGE_LOG(Error, "redis_handshake_failed")
        .kv("client", options_.name)
        .kv("step", step)
        .kv("error", replyText(reply));
    attempt_ = ExponentialBackoff::kCeilingAttempt;
    dropConnection(RedisStatus::ConnectionLost, "handshake failed");
  }
  // Other statuses: the connection is already gone and being handled.
}

void RedisClient::becomeReady() {
  state_ = State::Ready;
  ++connection_id_;
  attempt_ = 0;
  down_logged_ = false;
  stats_.connected.set(1);
  REDGE_LOG(Info, was_ready_ ? "redis_reconnected" : "redis_connected")
      .kv("client", options_.name)
      .kv("target", targetText())
      .kv("db", options_.url.db);
  was_ready_ = true;
  if (!pattern_.empty()) {
    // Not a Pending: a subscription has no deadline and hiredis calls this
    // callback for every message until the context is freed.
    redisAsyncCommand(ac_, &onSubscriptionCb, this, "PSUBSCRIBE %b", pattern_.data(),
                      pattern_.size());
    return;  // a subscriber is ready once Redis confirms the subscription
  }
  for (auto& hook : ready_hooks_) hook();
}

void RedisClient::onConnectCb(const redisAsyncContext* ac, int status) noexcept {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (self == nullptr) return;
  if (status != REDIS_OK) {
    // hiredis frees this context right after we return.
    self->ac_ = nullptr;
    self->onConnectionGone(ac->errstr);
    self->scheduleReconnect();
  }
  // Success: the handshake replies decide readiness. Never free here: hiredis
  // still uses the context after this callback.
}

void RedisClient::onDisconnectCb(const redisAsyncContext* ac, int /*status*/) noexcept {
  auto* self = static_cast<RedisClient*>(ac->data);
  if (self == nullptr) return;  // we dropped it ourselves
  self->ac_ = nullptr;
  self->onConnectionGone(ac->err ? ac->errstr : "closed by peer");
  self->scheduleReconnect();
}

void RedisClient::onConnectionGone(std::string_view why) {
  // The master the sentinels named is unreachable: ask another sentinel
  // next time, in case this one has not heard of a failover yet.
  if (options_.sentinel && state_ == State::Connecting && !target_.host.empty()) {
    options_.sentinel->reportUnusable(target_);
  }
  stats_.connected.set(0);
  down_reason_.assign(why);
  // A rotation moves on from a server that failed; the others are tried
  // before this one again.
  if (!options_.rotation.empty()) rotation_.advance();
  // One line when Redis goes away; the retries after it are debug noise.
  if (!down_logged_) {
    down_logged_ = true;
    REDGE_LOG(Warn, "redis_down")
        .kv("client", options_.name)
        .kv("target", targetText())
        .kv("reason", why);
  } else {
    REDGE_LOG(Debug, "redis_connect_failed")
        .kv("client", options_.name)
        .kv("target", targetText())
        .kv("reason", why);
  }
  for (auto& hook : down_hooks_) hook();
}

void RedisClient::dropConnection(RedisStatus reason, std::string_view why) {
  if (ac_ == nullptr) return;
  redisAsyncContext* ac = ac_;
  ac_ = nullptr;
  failure_reason_ = reason;
  ac->data = nullptr;
  onConnectionGone(why);
  // Fails every pending command (now, or when the current hiredis callback returns).
  redisAsyncFree(ac);
  if (state_ != State::Closed) scheduleReconnect();
}

void RedisClient::scheduleReconnect() {
  if (state_ == State::Closed) return;
  state_ = State::Backoff;
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  int64_t delay = backoff_.delayMs(attempt_, dist(random_));
  if (attempt_ < ExponentialBackoff::kCeilingAttempt) ++attempt_;
  reconnect_at_ms_ = nowMs() + static_cast<uint64_t>(delay);
  if (reconnect_timer_) reconnect_timer_->enable(delay);
}

void RedisClient::onReconnectTimer() {
  if (state_ != State::Backoff) return;
  stats_.reconnects_total.inc();
  connect();
}

// ---------------------------------------------------------------- commands

void RedisClient::command(std::initializer_list<std::string_view> args, RedisCallback cb) {
  command(args.begin(), args.size(), std::move(cb));
}

void RedisClient::command(const std::vector<std::string_view>& args, RedisCallback cb) {
  command(args.data(), args.size(), std::move(cb));
}

void RedisClient::command(const std::string_view* args, size_t count, RedisCallback cb) {
  if (state_ != State::Ready) {
    errors_[static_cast<size_t>(RedisStatus::Unavailable)]->inc();
    if (cb) cb(RedisStatus::Unavailable, nullptr);
    return;
  }
  send(args, count, std::move(cb), false);
}

void RedisClient::send(const std::string_view* args, size_t count, RedisCallback cb,
                       bool internal) {
  constexpr size_t kStackArgs = 16;
  const char* argv_stack[kStackArgs];
  size_t lens_stack[kStackArgs];
  std::vector<const char*> argv_heap;
  std::vector<size_t> lens_heap;
  const char** argv = argv_stack;
  size_t* lens = lens_stack;
  if (count > kStackArgs) {
    argv_heap.resize(count);
    lens_heap.resize(count);
    argv = argv_heap.data();
    lens = lens_heap.data();
  }
  for (size_t i = 0; i < count; ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  auto* p = new Pending{this, std::move(cb),
                        nowMs() + static_cast<uint64_t>(options_.command_timeout_ms)};
  p->internal = internal;
  if (redisAsyncCommandArgv(ac_, &onReplyCb, p, static_cast<int>(count), argv, lens) != REDIS_OK) {
    // The context is disconnecting; treat as unavailable.
    RedisCallback failed = std::move(p->cb);
    delete p;
    errors_[static_cast<size_t>(RedisStatus::Unavailable)]->inc();
    if (failed) failed(RedisStatus::Unavailable, nullptr);
    return;
  }
  link(p);
  if (!internal) stats_.commands_total.inc();
  armTimeoutTimer();
}

void RedisClient::link(Pending* p) {
  p->prev = tail_;
  if (tail_)
    tail_->next = p;
  else
    head_ = p;
  tail_ = p;
  ++inflight_;
  stats_.inflight.set(static_cast<double>(inflight_));
}

void RedisClient::unlink(Pending* p) {
  if (p->prev)
    p->prev->next = p->next;
  else
    head_ = p->next;
  if (p->next)
    p->next->prev = p->prev;
  else
    tail_ = p->prev;
  --inflight_;
  stats_.inflight.set(static_cast<double>(inflight_));
}

void RedisClient::onReplyCb(redisAsyncContext*, void* reply, void* privdata) noexcept {
  auto* p = static_cast<Pending*>(privdata);
  if (p == nullptr) return;
  p->client->onReply(p, static_cast<redisReply*>(reply));
}

void RedisClient::onReply(Pending* p, redisReply* reply) {
  unlink(p);
  RedisStatus status;
  if (reply == nullptr) {
    status = failure_reason_;
  } else if (reply->type == REDIS_REPLY_ERROR) {
    status = RedisStatus::ErrorReply;
  } else {
    status = RedisStatus::Ok;
  }
  if (!p->internal) {
    switch (status) {
      case RedisStatus::Timeout:
        errors_[static_cast<size_t>(RedisStatus::Timeout)]->inc();
        break;
      case RedisStatus::ConnectionLost:
        errors_[static_cast<size_t>(RedisStatus::ConnectionLost)]->inc();
        break;
      case RedisStatus::ErrorReply:
        errors_[static_cast<size_t>(RedisStatus::ErrorReply)]->inc();
        break;
      default:
        break;
    }
  }
  RedisCallback cb = std::move(p->cb);
  delete p;
  if (options_.sentinel && status == RedisStatus::ErrorReply &&
      replyText(reply).starts_with("READONLY")) {
    // The master was demoted under us (a failover we were not told of):
    // leave it and ask the sentinels again. The reply stays valid for the
    // callback below; hiredis frees the context only after it returns.
    reconnectNow("master became a replica");
  }
  if (cb) cb(status, reply);
}

void RedisClient::onSubscriptionCb(redisAsyncContext* ac, void* r, void* privdata) noexcept {
  auto* self = static_cast<RedisClient*>(privdata);
  auto* reply = static_cast<redisReply*>(r);
  // NULL: the context is being freed; the disconnect path handles that.
  if (reply == nullptr || ac->data == nullptr || self->state_ == State::Closed) return;
  if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
  std::string_view kind = replyText(reply->element[0]);
  if (kind == "pmessage" && reply->elements >= 4 && self->on_message_) {
    self->on_message_(replyText(reply->element[2]), replyText(reply->element[3]));
  } else if (kind == "psubscribe") {
    REDGE_LOG(Info, "redis_subscribed")
        .kv("client", self->options_.name)
        .kv("pattern", self->pattern_);
    // From here on no change is missed, so this is when "ready" hooks (a
    // cache flush after a gap) may run.
    for (auto& hook : self->ready_hooks_) hook();
  }
}

// ---------------------------------------------------------------- deadlines

void RedisClient::armTimeoutTimer() {
  if (!timeout_timer_ || timeout_timer_->enabled()) return;
  uint64_t deadline = UINT64_MAX;
  if (state_ == State::Connecting) deadline = connect_deadline_ms_;
  if (head_) deadline = std::min(deadline, head_->deadline_ms);
  if (deadline == UINT64_MAX) return;
  uint64_t now = nowMs();
  timeout_timer_->enable(deadline > now ? static_cast<int64_t>(deadline - now) : 0);
}

void RedisClient::onTimeoutTimer() {
  uint64_t now = nowMs();
  if (state_ == State::Connecting && ac_ && now >= connect_deadline_ms_) {
    REDGE_LOG(Warn, "redis_connect_timeout")
        .kv("client", options_.name)
        .kv("timeout_ms", options_.connect_timeout_ms);
    dropConnection(RedisStatus::Timeout, "connect timeout");
    return;
  }
  if (head_ && now >= head_->deadline_ms && ac_) {
    // Redis answers in order: if the oldest command is overdue, everything
    // behind it is stuck too. Drop the connection and fail them all now.
    REDGE_LOG(Warn, "redis_timeout")
        .kv("client", options_.name)
        .kv("inflight", static_cast<uint64_t>(inflight_))
        .kv("timeout_ms", options_.command_timeout_ms);
    dropConnection(RedisStatus::Timeout, "command timeout");
    return;
  }
  armTimeoutTimer();
}

// ---------------------------------------------------------------- closing

void RedisClient::close() {
  if (state_ == State::Closed) return;
  if (attached_) {
    // Stops any lookup for this client; the last client to leave closes
    // the watcher's own connections.
    attached_ = false;
    options_.sentinel->detach(*this);
  }
  state_ = State::Closed;
  stats_.connected.set(0);
  // Destroying the timers closes their handles now, while the loop still
  // runs to see them close.
  reconnect_timer_.reset();
  timeout_timer_.reset();
  if (before_poll_ != 0) {
    hooks_.remove(before_poll_);
    before_poll_ = 0;
  }
  if (ac_) {
    redisAsyncContext* ac = ac_;
    ac_ = nullptr;
    failure_reason_ = RedisStatus::Closed;
    ac->data = nullptr;
    redisAsyncFree(ac);
  }
  // The connection's poll handle closes through hiredis's cleanup.
}

}  // namespace redge
