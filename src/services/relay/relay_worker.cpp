// The relay's delivery loop (see the header).
//
// pump() fills free delivery slots: one take script per slot, each moving
// the oldest queued id to this instance's processing list. While it is
// half-open, one message at a time goes out as the probe.
//
// While the breaker is open, pump() refuses instead: holdNext() moves the
// oldest queued message straight to the held set, due when the breaker
// half-opens, one script per message and one at a time, until the queue is
// empty; then only a new message (kick) or the poll looks again. Held
// messages count in the queue's depth, so the queue still fills and clients
// still get 503 queue_full. They return to the head of the queue only when
// their time has come AND this instance's breaker is no longer open (the
// poll), so each message is refused at most once per open period. A message
// already taken when the breaker opened is refused by allow() in deliver()
// and held the same way, its attempt undone.
//
// A message leaves processing only by the sent, retry, dead-letter or hold
// script; a crash leaves it there for the next start's recovery. Every
// attempt carries Idempotency-Key: <id>, so delivery is at least once and
// the upstream can drop duplicates.

#include "services/relay/relay_worker.hpp"

#include <chrono>

#include "core/json_escape.hpp"
#include "core/log.hpp"
#include "redis/redis_reply.hpp"

namespace redge {
namespace {

// A wake-up comes this much after the moment it waits for, so the breaker's
// own clock agrees that moment has passed.
constexpr int64_t kWakeMarginMs = 1;

}  // namespace

RelayWorker::RelayWorker(Runtime& runtime, RedisClient& redis, RelayStore& store,
                         HttpClientPool& upstream, RelayWorkerOptions options)
    : clock_(runtime.clock),
      redis_(redis),
      store_(store),
      upstream_(upstream),
      options_(std::move(options)),
      breaker_(clock_, options_.breaker),
      gate_(options_.queue_max, options_.queue_recovery),
      estimator_(clock_),
      retry_backoff_(options_.retry_base_ms, options_.retry_max_ms),
      random_(std::random_device{}()),
      reachability_(clock_, options_.reprobe_ms),
      probe_(runtime, options_.upstream.host, options_.upstream.port, options_.timeout_ms),
      schedule_(runtime.timers, clock_, options_.poll_ms, [this] { onPoll(); }),
      upstream_text_("http://" + options_.upstream.authority() + options_.upstream.target),
      metrics_(runtime.metrics),
      breaker_state_(metrics_.gauge("redge_relay_breaker_state",
                                    "Relay circuit breaker: 0 closed, 1 open, 2 half-open")),
      depth_gauge_(metrics_.gauge("redge_relay_queue_depth", "Relay queue depth last seen")),
      inflight_gauge_(metrics_.gauge("redge_relay_inflight", "Relay deliveries in progress")),
      gate_gauge_(
          metrics_.gauge("redge_relay_enqueue_enabled",
                         "1 while the relay accepts new messages, 0 while the queue is full")),
      sent_(metrics_.counter("redge_relay_messages_total", "Relay messages by final outcome",
                             {{"outcome", "sent"}})),
      dead_(metrics_.counter("redge_relay_messages_total", "Relay messages by final outcome",
                             {{"outcome", "failed"}})),
      retried_(metrics_.counter("redge_relay_retries_total",
                                "Relay deliveries scheduled for another attempt")),
      unreachable_gauge_(
          metrics_.gauge("redge_relay_upstream_unreachable",
                         "1 while nothing accepts connections at relay.upstream_url, else 0")),
      outages_(metrics_.counter("redge_relay_upstream_outages_total",
                                "Times the relay's upstream started refusing connections")) {
  gate_gauge_.set(1);
  breaker_.onTransition([this](BreakerState from, BreakerState to) {
    CircuitBreaker::Counts c = breaker_.counts();
    const char* event = to == BreakerState::Open       ? "breaker_open"
                        : to == BreakerState::HalfOpen ? "breaker_half_open"
                                                       : "breaker_closed";
    LogLine(to == BreakerState::Open ? LogLevel::Warn : LogLevel::Info, event)
        .kv("upstream", "relay")
        .kv("from", breakerStateName(from))
        .kv("calls", c.calls_in_window)
        .kv("failures", c.failures_in_window)
        .kv("consecutive_failures", c.consecutive_failures)
        .kv("open_ms", breaker_.currentOpenMs());
    breaker_state_.set(to == BreakerState::Closed ? 0 : to == BreakerState::Open ? 1 : 2);
    metrics_
        .counter("redge_relay_breaker_transitions_total", "Relay breaker state changes",
                 {{"to", breakerStateName(to)}})
        .inc();
  });
}

void RelayWorker::start() {
  // Before Redis is even connected: an operator who started redge with
  // nothing at relay.upstream_url learns it now, not from dead letters.
  probeIfDue();
  // Messages this instance was delivering when it last stopped go back to
  // the head of the queue, once, at the first connection.
  redis_.onReady([this] {
    if (!recovered_) {
      recovered_ = true;
      store_.recoverProcessing(wallClockMs(), [](RedisStatus s, const redisReply* r) {
        if (s == RedisStatus::Ok && r->type == REDIS_REPLY_INTEGER && r->integer > 0) {
          REDGE_LOG(Info, "relay_recovered").kv("messages", static_cast<int64_t>(r->integer));
        }
      });
      return;
    }
    afterReconnect();
  });
  schedule_.start();
}

// Redis came back while this process kept running. Outcomes that could not
// be written meanwhile are written now; ids left in processing that nothing
// here is delivering (a take whose reply was lost with the connection) go
// back to the queue.
void RelayWorker::afterReconnect() {
  std::vector<std::function<void()>> replay;
  replay.swap(unrecorded_);
  for (auto& fn : replay) fn();
  redis_.command(
      {"LRANGE", store_.processingKey(), "0", "-1"}, [this](RedisStatus s, const redisReply* r) {
        if (s != RedisStatus::Ok || r->type != REDIS_REPLY_ARRAY) return;
        std::vector<std::string> orphans;
        for (size_t i = 0; i < r->elements; ++i) {
          std::string id(replyText(r->element[i]));
          if (!active_.count(id)) orphans.push_back(std::move(id));
        }
        if (orphans.empty()) return;
        REDGE_LOG(Info, "relay_recovered").kv("messages", static_cast<uint64_t>(orphans.size()));
        store_.recoverIds(orphans, wallClockMs(), nullptr);
      });
}

// Runs one outcome-recording step; if Redis cannot take it now, keeps it for
// afterReconnect(), so no delivered message stays "delivering" forever.
void RelayWorker::record(const std::string& id, const std::function<void(RedisCallback)>& step) {
  active_.insert(id);
  // `step` is copied into the callback, so it can be queued again from there.
  step([this, id, step](RedisStatus s, const redisReply*) {
    if (s == RedisStatus::Ok || s == RedisStatus::ErrorReply || closing_) {
      active_.erase(id);
      return;
    }
    unrecorded_.push_back([this, id, step] { record(id, step); });
  });
}

void RelayWorker::close() {
  if (closing_) return;
  closing_ = true;
  schedule_.stop();
  probe_.close();
}

void RelayWorker::kick() {
  pump();
}

void RelayWorker::onPoll() {
  if (closing_) return;
  probeIfDue();
  if (!redis_.ready()) return;
  // Held messages are released by their due time (wall clock, stored in
  // Redis) and only while this breaker is not open (its own monotonic
  // clock): a message released a moment early by the wall clock would be
  // refused a second time in the same open period.
  store_.promoteDue(wallClockMs(), breaker_.remainingOpenMs() == 0, nullptr);
  pump();
}

void RelayWorker::probeIfDue() {
  if (closing_ || probe_.busy() || !reachability_.probeDue()) return;
  probe_.probe([this](int status) {
    if (closing_) return;
    if (status == 0) {
      onReachability(reachability_.onConnected(), {});
    } else {
      onReachability(reachability_.onRefused(), uv_strerror(status));
    }
  });
}

void RelayWorker::onReachability(ReachabilityTracker::Change change, std::string_view error) {
  if (change == ReachabilityTracker::Change::Lost) {
    unreachable_gauge_.set(1);
    outages_.inc();
    REDGE_LOG(Warn, "relay_upstream_unreachable")
        .kv("url", upstream_text_)
        .kv("error", error)
        .kv("message",
            "nothing accepts connections at relay.upstream_url; every message will be "
            "retried and dead-lettered after " +
                std::to_string(options_.max_attempts) + " attempts unless something listens there");
  } else if (change == ReachabilityTracker::Change::Regained) {
    unreachable_gauge_.set(0);
    REDGE_LOG(Info, "relay_upstream_reachable").kv("url", upstream_text_);
  }
}

void RelayWorker::reconfigure(int64_t queue_max, int64_t queue_recovery,
                              const CircuitBreakerOptions& breaker) {
  options_.queue_max = queue_max;
  options_.queue_recovery = queue_recovery;
  options_.breaker = breaker;
  gate_.setThresholds(queue_max, queue_recovery);
  breaker_.reconfigure(breaker);
}

void RelayWorker::observeDepth(int64_t depth, GateChange change) {
  last_depth_ = depth;
  depth_gauge_.set(static_cast<double>(depth));
  // The scripts decide for every instance; the local gate follows what they
  // decided, so this instance logs its switches once each.
  bool changed = false;
  if (change == GateChange::Disabled)
    changed = gate_.observe(std::max(depth, gate_.max()));
  else if (change == GateChange::Enabled)
    changed = gate_.observe(std::min(depth, gate_.recovery()));
  else
    changed = gate_.observe(depth);
  if (!changed) return;
  gate_gauge_.set(gate_.accepting() ? 1 : 0);
  if (gate_.accepting()) {
    REDGE_LOG(Info, "enqueue_enabled").kv("depth", depth).kv("recovery", gate_.recovery());
  } else {
    REDGE_LOG(Warn, "enqueue_disabled")
        .kv("depth", depth)
        .kv("max", gate_.max())
        .kv("recovery", gate_.recovery());
  }
}

int RelayWorker::retryAfterSeconds(int64_t depth) {
  int64_t open_ms = breaker_.state() == BreakerState::Open ? breaker_.remainingOpenMs() : 0;
  return static_cast<int>(estimator_.retryAfterSeconds(depth, options_.queue_recovery, open_ms));
}

void RelayWorker::pump() {
  if (closing_ || draining_ || !redis_.ready()) return;
  if (int64_t open_ms = breaker_.remainingOpenMs(); open_ms > 0) {
    holdNext(open_ms);
    return;
  }
  int64_t slots = breaker_.state() == BreakerState::HalfOpen ? 1 : options_.concurrency;
  // One take per free slot, all pipelined; Redis runs them in order, so the
  // queue's order holds. An empty answer frees its slot without asking
  // again: the next poll or kick does.
  while (inflight_ < slots && redis_.ready()) {
    int64_t before = ++inflight_;
    store_.take(options_.queue_recovery, wallClockMs(),
                [this](RedisStatus s, const TakeResult& r) { onTaken(s, r); });
    // A take refused on the spot (the connection is going away) already
    // freed its slot: stop, or this loop would spin.
    if (inflight_ < before) break;
  }
  inflight_gauge_.set(static_cast<double>(inflight_));
}

// The breaker is open: the next queued message is refused without being
// sent. One step at a time, each reply asking for the next, so a full queue
// is worked through at Redis speed and an empty one costs nothing until a
// kick or the next poll.
void RelayWorker::holdNext(int64_t open_ms) {
  if (holding_) return;
  holding_ = true;
  int64_t now = wallClockMs();
  std::string detail = "circuit breaker open: not sent, not counted as an attempt; held " +
                       std::to_string(open_ms) + " ms until it half-opens";
  // Held messages may go out again when the breaker half-opens: look then.
  schedule_.pollIn(open_ms + kWakeMarginMs);
  store_.holdNext(now, now + open_ms, "circuit_open", detail,
                  [this, detail](RedisStatus s, const HoldResult& r) {
                    holding_ = false;
                    if (closing_ || s != RedisStatus::Ok || !r.held) return;
                    breaker_.onHeld();
                    countFailure("circuit_open", r.id, r.attempts + 1, detail);
                    pump();
                  });
}

void RelayWorker::onTaken(RedisStatus status, const TakeResult& result) {
  if (closing_) return;
  if (status != RedisStatus::Ok || !result.taken) {
    // Queue empty (or Redis failing): wait for the next poll or kick rather
    // than asking again at once.
    if (status == RedisStatus::Ok) observeDepth(result.depth, result.change);
    releaseSlot();
    return;
  }
  observeDepth(result.depth, result.change);
  estimator_.onDrained(1);
  active_.insert(result.message.id);
  deliver(result.message);
}

void RelayWorker::deliver(const StoredMessage& message) {
  if (!breaker_.allow()) {
    // Taken just before the breaker opened (or half-open probes are in
    // use): nothing is sent.
    hold(message, breaker_.remainingOpenMs());
    return;
  }
  HttpClientRequest req;
  req.method = "POST";
  req.target = options_.upstream.target;
  req.timeout_ms = options_.timeout_ms;
  req.headers.emplace_back("Content-Type", "application/json");
  req.headers.emplace_back("Idempotency-Key", message.id);
  req.body = "{\"destination\":";
  appendJsonString(req.body, message.destination);
  req.body.append(",\"body\":");
  appendJsonString(req.body, message.body);
  req.body.append("}");
  upstream_.send(std::move(req),
                 [this, message](HttpClientError error, const HttpClientResponse* response) {
                   onDelivered(message, error, response);
                 });
}

void RelayWorker::onDelivered(const StoredMessage& message, HttpClientError error,
                              const HttpClientResponse* response) {
  if (closing_) return;
  if (error == HttpClientError::Closed) {
    releaseSlot();  // shutting down: the message stays in processing for the next start
    return;
  }
  // Any answer shows something listens upstream; a refused connect shows
  // nothing does. Timeouts and resets say neither.
  if (error == HttpClientError::None) {
    onReachability(reachability_.onConnected(), {});
  } else if (error == HttpClientError::Connect) {
    onReachability(reachability_.onRefused(), httpClientErrorName(error));
  }
  if (error == HttpClientError::None && response->status >= 200 && response->status < 300) {
    breaker_.onSuccess();
    sent_.inc();
    REDGE_LOG(Debug, "delivered").kv("id", message.id).kv("attempt", message.attempts);
    int64_t now = wallClockMs();
    record(message.id, [this, id = message.id, now](RedisCallback cb) {
      store_.markSent(id, now, std::move(cb));
    });
    finishOne();
    return;
  }
  if (error == HttpClientError::None) {
    int s = response->status;
    // 5xx and 429 say the upstream is struggling: count against it and
    // retry. Any other 4xx refuses this message for good: retrying cannot
    // help, and the upstream itself is healthy.
    bool upstream_sick = s >= 500 || s == 429;
    if (upstream_sick)
      breaker_.onFailure();
    else
      breaker_.onSuccess();
    fail(message, "upstream_error", "HTTP " + std::to_string(s), upstream_sick);
    return;
  }
  breaker_.onFailure();
  if (error == HttpClientError::Timeout || error == HttpClientError::ConnectTimeout) {
    fail(message, "timeout", "no answer within " + std::to_string(options_.timeout_ms) + " ms",
         true);
  } else if (error == HttpClientError::Connect || error == HttpClientError::Reset) {
    fail(message, "connect_error", std::string(httpClientErrorName(error)), true);
  } else {
    fail(message, "upstream_error", std::string(httpClientErrorName(error)), true);
  }
}

// A message taken for delivery that allow() refused: held until the breaker
// half-opens (open_ms), or, when it is half-open with its probes in use
// (open_ms 0), until the next poll finds it no longer open.
void RelayWorker::hold(const StoredMessage& message, int64_t open_ms) {
  std::string detail = open_ms > 0
                           ? "circuit breaker open: not sent, not counted as an attempt; held " +
                                 std::to_string(open_ms) + " ms until it half-opens"
                           : std::string(
                                 "circuit breaker half-open with its probe in use: not sent, not "
                                 "counted as an attempt; held until the probe's result");
  countFailure("circuit_open", message.id, message.attempts, detail);
  schedule_.pollIn(open_ms + kWakeMarginMs);
  int64_t now = wallClockMs();
  record(message.id, [this, id = message.id, now, due = now + open_ms, detail](RedisCallback cb) {
    store_.hold(id, now, due, "circuit_open", detail, std::move(cb));
  });
  finishOne();
}

void RelayWorker::countFailure(std::string_view kind, const std::string& id, int64_t attempt,
                               std::string_view detail) {
  REDGE_LOG(Info, "delivery_failed")
      .kv("kind", kind)
      .kv("id", id)
      .kv("attempt", attempt)
      .kv("detail", detail);
  failureCounter(kind).inc();
}

Counter& RelayWorker::failureCounter(std::string_view kind) {
  // A handful of kinds: each bound once, then found by a short scan.
  for (auto& [k, counter] : failures_by_kind_) {
    if (k == kind) return *counter;
  }
  Counter& c = metrics_.counter("redge_relay_delivery_failures_total",
                                "Failed or refused delivery attempts by kind",
                                {{"kind", std::string(kind)}});
  failures_by_kind_.emplace_back(std::string(kind), &c);
  return c;
}

void RelayWorker::fail(const StoredMessage& message, std::string_view kind,
                       const std::string& detail, bool retryable) {
  countFailure(kind, message.id, message.attempts, detail);
  int64_t now = wallClockMs();
  if (retryable && message.attempts < options_.max_attempts) {
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    int64_t delay = retry_backoff_.delayMs(static_cast<int>(message.attempts - 1), dist(random_));
    retried_.inc();
    schedule_.pollIn(delay + kWakeMarginMs);
    record(message.id,
           [this, id = message.id, now, delay, k = std::string(kind), detail](RedisCallback cb) {
             store_.scheduleRetry(id, now, now + delay, k, detail, std::move(cb));
           });
  } else {
    dead_.inc();
    REDGE_LOG(Warn, "dead_lettered")
        .kv("id", message.id)
        .kv("kind", kind)
        .kv("attempts", message.attempts);
    record(message.id,
           [this, id = message.id, now, k = std::string(kind), detail](RedisCallback cb) {
             store_.deadLetter(id, now, k, detail, std::move(cb));
           });
  }
  finishOne();
}

void RelayWorker::releaseSlot() {
  if (inflight_ > 0) --inflight_;
  inflight_gauge_.set(static_cast<double>(inflight_));
}

void RelayWorker::finishOne() {
  releaseSlot();
  pump();
}

}  // namespace redge
