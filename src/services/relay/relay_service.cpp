// The relay's HTTP routes (see the header). Message records are read back
// from Redis hashes and rendered as JSON; listing fetches the ids from a
// status index and then each record, all pipelined on one connection (a
// replica's with redis.read_from=replica: a listing tolerates lag).
//
// relay.durability=replicated: enqueues ride a connection of their own, and
// the enqueues Redis answered in one loop iteration share one WAIT <acks>
// <timeout>, sent from an after-poll hook on that same connection (WAIT
// counts the writes of the connection it is sent on). A WAIT blocks its
// connection until the replicas ack or the timeout passes; on the shared
// connection it would hold up every other command of the process.

#include "services/relay/relay_service.hpp"

#include <array>
#include <charconv>
#include <cstdio>

#include "core/json_escape.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "redis/redis_reply.hpp"
#include "services/redis_failure.hpp"
#include "services/relay/relay_config.hpp"

namespace redge {
namespace {

// A message's statuses, in the order of its life; also the fields of
// by_status in GET /messages/stats.
constexpr std::array<std::string_view, 4> kStatuses = {"queued", "delivering", "sent", "failed"};

// POST /messages may carry both fields at their limits with every byte
// escaped the longest way JSON allows (\uXXXX: 6 bytes for 1), plus this
// much for the keys, quotes and whitespace around them.
constexpr int64_t kJsonEscapeWorstCase = 6;
constexpr int64_t kMessageEnvelopeBytes = 1024;

// GET /messages: a page a person reads, unless the query asks for more; each
// listed message costs one HGETALL, so one request may ask for this many at most.
constexpr int64_t kDefaultListLimit = 50;
constexpr int64_t kMaxListLimit = 1000;

// A longer Idempotency-Key is cut to this many bytes rather than refused; the
// cap bounds the Redis key it becomes part of.
constexpr size_t kMaxIdempotencyKeyBytes = 200;

// Deliveries keep their upstream connections alive. No more than
// relay.concurrency are busy at once, so this many idle ones per slot means a
// connection is never closed for want of room.
constexpr size_t kIdleConnectionsPerSlot = 2;
// The relay reads only an answer's status; an answer bigger than this is a
// misbehaving upstream's, and is refused rather than buffered.
constexpr int64_t kMaxUpstreamAnswerBytes = 1 << 20;

HttpClientPoolOptions upstreamPoolOptions(const RelayWorkerOptions& w) {
  HttpClientPoolOptions o;  // idle_timeout_ms: the pool's default
  o.name = "relay";
  o.host = w.upstream.host;
  o.port = w.upstream.port;
  o.authority = w.upstream.authority();
  o.max_idle = static_cast<size_t>(w.concurrency) * kIdleConnectionsPerSlot;
  o.max_response_bytes = kMaxUpstreamAnswerBytes;
  return o;
}

// Writes a number that Redis holds as text. One that is not an integer (a
// record edited by hand) becomes null rather than broken JSON.
void writeStoredInteger(JsonWriter& w, std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (!text.empty() && ec == std::errc() && ptr == end) {
    w.integer(value);
  } else {
    w.null();
  }
}

// Writes one message hash (HGETALL reply) as the API's JSON object.
void writeMessage(JsonWriter& w, const redisReply* hash) {
  std::string_view id, destination, body, status, attempts = "0", kind, detail, created = "0",
                                                  updated = "0";
  for (size_t i = 0; i + 1 < hash->elements; i += 2) {
    std::string_view k = replyText(hash->element[i]);
    std::string_view v = replyText(hash->element[i + 1]);
    if (k == "id")
      id = v;
    else if (k == "destination")
      destination = v;
    else if (k == "body")
      body = v;
    else if (k == "status")
      status = v;
    else if (k == "attempts")
      attempts = v;
    else if (k == "last_error_kind")
      kind = v;
    else if (k == "last_error_detail")
      detail = v;
    else if (k == "created_at")
      created = v;
    else if (k == "updated_at")
      updated = v;
  }
  w.startObject();
  w.key("id").string(id);
  w.key("destination").string(destination);
  w.key("body").string(body);
  w.key("status").string(status);
  writeStoredInteger(w.key("attempts"), attempts);
  w.key("last_error");
  if (kind.empty()) {
    w.null();
  } else {
    w.startObject().key("kind").string(kind).key("detail").string(detail).endObject();
  }
  writeStoredInteger(w.key("created_at"), created);
  writeStoredInteger(w.key("updated_at"), updated);
  w.endObject();
}

bool validStatus(std::string_view s) {
  for (std::string_view known : kStatuses) {
    if (s == known) return true;
  }
  return false;
}

}  // namespace

RelayService::RelayService(Runtime& runtime, HttpServer& http, RedisClient& redis,
                           std::unique_ptr<RedisClient> durable,
                           std::shared_ptr<ReplicaReads> reads, RelayOptions options)
    : hooks_(runtime.hooks),
      redis_(redis),
      durable_(std::move(durable)),
      reads_(std::move(reads)),
      options_(std::move(options)),
      store_(redis, options_.key_prefix, options_.instance, durable_.get()),
      upstream_(runtime.loop, runtime.metrics, upstreamPoolOptions(options_.worker)),
      worker_(runtime, redis, store_, upstream_, options_.worker),
      random_(std::random_device{}()),
      accepted_(runtime.metrics.counter("redge_relay_enqueued_total",
                                        "Messages accepted by POST /messages")),
      refused_(runtime.metrics.counter("redge_relay_refused_total",
                                       "POST /messages refused because the queue is full")),
      replicated_(runtime.metrics.counter(
          "redge_relay_replication_total",
          "relay.durability=replicated: enqueues by whether a replica acked them in time",
          {{"result", "acked"}})),
      not_replicated_(runtime.metrics.counter(
          "redge_relay_replication_total",
          "relay.durability=replicated: enqueues by whether a replica acked them in time",
          {{"result", "not_replicated"}})) {
  if (durable_) {
    // WAIT takes whole milliseconds.
    wait_timeout_ = std::to_string(options_.replication_timeout_ms);
    wait_acks_ = std::to_string(options_.replication_acks);
    wait_hook_ = hooks_.addAfterPoll([this] { sendWait(); });
  }
  http.route(
      HttpMethod::Post, "/messages", [this](HttpRequest& q, const HttpResponder& r) { post(q, r); },
      static_cast<int64_t>(options_.limits.max_body_bytes + options_.limits.max_destination_bytes) *
              kJsonEscapeWorstCase +
          kMessageEnvelopeBytes);
  http.route(HttpMethod::Get, "/messages",
             [this](HttpRequest& q, const HttpResponder& r) { list(q, r); });
  http.route(HttpMethod::Get, "/messages/stats",
             [this](HttpRequest& q, const HttpResponder& r) { stats(q, r); });
  http.route(HttpMethod::Get, "/messages/{id}",
             [this](HttpRequest& q, const HttpResponder& r) { getOne(q, r); });
}

void RelayService::reload(const Config& next, std::vector<std::string>& live) {
  const RelayConfig& r = next.module<RelayConfig>();
  options_.worker.queue_max = r.queue_max;
  options_.worker.queue_recovery = r.queue_recovery;
  options_.worker.breaker = r.breaker;
  worker_.reconfigure(r.queue_max, r.queue_recovery, r.breaker);
  live.insert(live.end(), {"relay.queue_max", "relay.queue_recovery", "relay.breaker.window_ms",
                           "relay.breaker.min_calls", "relay.breaker.failure_ratio",
                           "relay.breaker.consecutive_failures", "relay.breaker.open_ms",
                           "relay.breaker.max_open_ms", "relay.breaker.half_open_probes"});
}

void RelayService::start() {
  if (durable_) durable_->start();
  worker_.start();
}

void RelayService::close(std::function<void()> done) {
  worker_.close();
  upstream_.close();  // its connections close; pending sends fail with Closed
  if (!closed_) {
    closed_ = true;
    reads_->detach();
    if (wait_hook_ != 0) hooks_.remove(wait_hook_);
    wait_hook_ = 0;
    // Enqueues and WAITs in flight fail with Closed (503); then nothing
    // waits for a WAIT any more.
    if (durable_) durable_->close();
    std::vector<Unacked> left = std::move(unacked_);
    unacked_.clear();
    for (const Unacked& u : left) answerNotReplicated(u.res, u.result, 0);
  }
  if (done) done();
}

std::string RelayService::newId() {
  // Time-ordered, then random: ids sort by creation and never collide across
  // instances in practice (64 random bits).
  char buf[48];
  std::snprintf(buf, sizeof buf, "m%011llx%016llx", static_cast<unsigned long long>(wallClockMs()),
                static_cast<unsigned long long>(random_()));
  return buf;
}

void RelayService::post(HttpRequest& req, const HttpResponder& res) {
  MessageRequest m;
  MessageRequestError e =
      parseMessageRequest(req.header("Content-Type"), req.body(), options_.limits, m);
  if (e.status != 0) {
    // Every invalid_field names its field, even one called "" ({"": 1}).
    if (e.code != "invalid_field") return res.sendError(e.status, e.code, e.message);
    return res.sendError(e.status, e.code, e.message, 0, {{"field", e.field}});
  }
  std::string idem(req.header("Idempotency-Key").substr(0, kMaxIdempotencyKeyBytes));
  std::string id = newId();
  const RelayWorkerOptions& w = options_.worker;
  store_.enqueue(id, m.destination, m.body, idem, w.queue_max, w.queue_recovery, wallClockMs(),
                 [this, res](RedisStatus s, const EnqueueResult& r) {
                   if (s != RedisStatus::Ok) {
                     return answerRedisFailure(res, s, nullptr, durable_ ? *durable_ : redis_);
                   }
                   worker_.observeDepth(r.depth, r.change);
                   if (r.kind == EnqueueResult::Kind::Refused) {
                     refused_.inc();
                     int retry = worker_.retryAfterSeconds(r.depth);
                     return res.sendError(
                         503, "queue_full",
                         "The delivery queue is full (" + std::to_string(r.depth) +
                             " messages); retry after " + std::to_string(retry) + " s.",
                         retry, {{"queue_depth", r.depth}, {"retry_after_s", retry}});
                   }
                   if (r.kind == EnqueueResult::Kind::Queued) worker_.kick();
                   if (!durable_) return answerEnqueued(res, r);
                   // A repeated Idempotency-Key waits too: its first
                   // message may be the one that was not replicated.
                   unacked_.push_back(Unacked{res, r, durable_->connectionId()});
                 });
}

void RelayService::answerEnqueued(const HttpResponder& res, const EnqueueResult& r) {
  std::string location = "/messages/" + r.id;
  // By hand, not with JsonWriter: POST /messages is a hot path.
  std::string body = "{\"id\":";
  appendJsonString(body, r.id);
  if (r.kind == EnqueueResult::Kind::Duplicate) {
    body.append(",\"duplicate\":true}");
    HttpResponse resp(200, "application/json", body);
    resp.header("Location", location);
    return res.send(resp);
  }
  accepted_.inc();
  body.append(",\"status\":\"queued\"}");
  HttpResponse resp(202, "application/json", body);
  resp.header("Location", location);
  res.send(resp);
}

void RelayService::answerNotReplicated(const HttpResponder& res, const EnqueueResult& r,
                                       int64_t acked) {
  not_replicated_.inc();
  // The truth, as far as redge knows it: the message is in the master's
  // queue and may well be delivered; only a failover before a replica
  // copies it would lose it.
  std::string confirmed =
      options_.replication_acks == 1
          ? std::string("no replica confirmed it")
          : std::to_string(acked) + " of the " + std::to_string(options_.replication_acks) +
                " replicas relay.replication_acks asks for confirmed it";
  res.sendError(503, "not_replicated",
                "The message is queued on the Redis master, but " + confirmed + " within " +
                    std::to_string(options_.replication_timeout_ms) +
                    " ms: it may still be delivered, or be lost if the master fails now. Retry "
                    "with the same Idempotency-Key to get the same id without a second copy; a "
                    "retry without one may deliver it twice.",
                1, {{"id", r.id}, {"replicas_acked", acked}});
}

void RelayService::sendWait() {
  if (unacked_.empty() || closed_) return;
  std::vector<Unacked> batch = std::move(unacked_);
  unacked_.clear();
  // An enqueue answered on an earlier connection cannot be waited for: a
  // WAIT on this one would count none of its writes.
  std::vector<Unacked> waiting;
  for (Unacked& u : batch) {
    if (durable_->ready() && u.connection == durable_->connectionId()) {
      waiting.push_back(std::move(u));
    } else {
      answerNotReplicated(u.res, u.result, 0);
    }
  }
  if (waiting.empty()) return;
  durable_->command({"WAIT", wait_acks_, wait_timeout_},
                    [this, waiting = std::move(waiting)](RedisStatus s, const redisReply* reply) {
                      int64_t acked = s == RedisStatus::Ok ? replyInteger(reply) : 0;
                      if (acked >= options_.replication_acks) {
                        replicated_.inc(waiting.size());
                        if (!replicating_) {
                          replicating_ = true;
                          REDGE_LOG(Info, "relay_replicated").kv("replicas", acked);
                        }
                        for (const Unacked& u : waiting) answerEnqueued(u.res, u.result);
                        return;
                      }
                      if (replicating_) {
                        replicating_ = false;
                        REDGE_LOG(Warn, "relay_not_replicated")
                            .kv("error", "not_replicated")
                            .kv("status", redisStatusName(s))
                            .kv("timeout_ms", options_.replication_timeout_ms)
                            .kv("acks_wanted", options_.replication_acks)
                            .kv("acked", acked)
                            .kv("messages", static_cast<uint64_t>(waiting.size()));
                      }
                      for (const Unacked& u : waiting) answerNotReplicated(u.res, u.result, acked);
                    });
}

void RelayService::getOne(HttpRequest& req, const HttpResponder& res) {
  std::string key = store_.messageKey(req.param(0));
  redis_.command({"HGETALL", key}, [this, res](RedisStatus s, const redisReply* r) {
    if (s != RedisStatus::Ok) return answerRedisFailure(res, s, r, redis_);
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      return res.sendError(404, "not_found", "No message has this id.");
    }
    std::string body;
    JsonWriter w(body);
    writeMessage(w, r);
    res.send(HttpResponse(200, "application/json", body));
  });
}

void RelayService::list(HttpRequest& req, const HttpResponder& res) {
  std::string_view status = queryParam(req.query(), "status");
  std::string_view limit_text = queryParam(req.query(), "limit");
  int64_t limit = kDefaultListLimit;
  if (!limit_text.empty()) {
    auto r = std::from_chars(limit_text.data(), limit_text.data() + limit_text.size(), limit);
    if (r.ec != std::errc() || r.ptr != limit_text.data() + limit_text.size() || limit < 1 ||
        limit > kMaxListLimit) {
      return res.sendError(
          400, "invalid_query",
          "limit must be an integer from 1 to " + std::to_string(kMaxListLimit) + ".");
    }
  }
  if (!status.empty() && !validStatus(status)) {
    return res.sendError(400, "invalid_query",
                         "status must be one of queued, delivering, sent, failed.");
  }
  std::string index = store_.statusKey(status.empty() ? "all" : status);
  std::string stop = std::to_string(limit - 1);
  reads_->read({"ZREVRANGE", index, "0", stop}, [this, res](RedisStatus s, const redisReply* r) {
    if (s != RedisStatus::Ok) return answerRedisFailure(res, s, r, redis_);
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
      return res.send(HttpResponse(200, "application/json", "{\"messages\":[]}"));
    }
    // Fetch every record; answer when the last arrives (replies come in order).
    struct Listing {
      std::vector<std::string> parts;
      size_t remaining;
      bool failed = false;
    };
    auto listing = std::make_shared<Listing>();
    listing->parts.resize(r->elements);
    listing->remaining = r->elements;
    for (size_t i = 0; i < r->elements; ++i) {
      std::string key = store_.messageKey(replyText(r->element[i]));
      reads_->read({"HGETALL", key}, [this, res, listing, i](RedisStatus s2, const redisReply* h) {
        if (s2 != RedisStatus::Ok && !listing->failed) {
          listing->failed = true;
          answerRedisFailure(res, s2, h, redis_);
        } else if (s2 == RedisStatus::Ok && h->type == REDIS_REPLY_ARRAY && h->elements > 0) {
          JsonWriter part(listing->parts[i]);
          writeMessage(part, h);
        }
        if (--listing->remaining != 0 || listing->failed) return;
        std::string body;
        JsonWriter w(body);
        w.startObject().key("messages").startArray();
        for (const auto& p : listing->parts) {
          if (!p.empty()) w.rawValue(p);  // empty: expired or removed meanwhile
        }
        w.endArray().endObject();
        res.send(HttpResponse(200, "application/json", body));
      });
    }
  });
}

void RelayService::stats(HttpRequest&, const HttpResponder& res) {
  // Several small reads, answered together when the last one arrives.
  struct Stats {
    int64_t queue = 0, processing = 0, delayed = 0, held = 0;
    int64_t by_status[kStatuses.size()] = {};
    std::vector<std::pair<std::string, std::string>> kinds;  // failure kind, count as stored
    size_t remaining = 0;
    bool failed = false;
  };
  auto st = std::make_shared<Stats>();
  auto done = [this, res, st](RedisStatus s, const redisReply* r) {
    if (s != RedisStatus::Ok && !st->failed) {
      st->failed = true;
      answerRedisFailure(res, s, r, redis_);
    }
    if (--st->remaining != 0 || st->failed) return;
    CircuitBreaker& b = worker_.breaker();
    BreakerState state = b.state();
    CircuitBreaker::Counts c = b.counts();
    const BackpressureGate& gate = worker_.gate();
    std::string body;
    JsonWriter w(body);
    w.startObject();
    // queue_depth is the number the gate judges (see relay_store.hpp); its
    // three parts follow it.
    w.key("queue_depth").integer(st->queue + st->held + st->delayed);
    w.key("ready").integer(st->queue);
    w.key("held_by_breaker").integer(st->held);
    w.key("retry_scheduled").integer(st->delayed);
    w.key("in_flight").integer(worker_.inflight());
    w.key("processing").integer(st->processing);
    w.key("gate").startObject();
    w.key("accepting").boolean(gate.accepting());
    w.key("max").integer(gate.max());
    w.key("recovery").integer(gate.recovery());
    w.endObject();
    w.key("breaker").startObject();
    w.key("state").string(breakerStateName(state));
    w.key("remaining_open_ms").integer(b.remainingOpenMs());
    w.key("calls_in_window").integer(static_cast<int64_t>(c.calls_in_window));
    w.key("failures_in_window").integer(static_cast<int64_t>(c.failures_in_window));
    w.key("consecutive_failures").integer(static_cast<int64_t>(c.consecutive_failures));
    w.key("opened_total").integer(static_cast<int64_t>(c.opened_total));
    w.key("rejected_total").integer(static_cast<int64_t>(c.rejected_total));
    w.endObject();
    w.key("by_status").startObject();
    for (size_t i = 0; i < kStatuses.size(); ++i) w.key(kStatuses[i]).integer(st->by_status[i]);
    w.endObject();
    w.key("failures_by_kind").startObject();
    for (const auto& [kind, count] : st->kinds) writeStoredInteger(w.key(kind), count);
    w.endObject();
    w.endObject();
    res.send(HttpResponse(200, "application/json", body));
  };
  // One count per command; `remaining` is the number of commands issued, so
  // a read added here is awaited without another edit.
  struct Count {
    std::string_view command;
    std::string key;
    int64_t* into;
  };
  std::vector<Count> counts = {{"LLEN", store_.queueKey(), &st->queue},
                               {"LLEN", store_.processingKey(), &st->processing},
                               {"ZCARD", store_.delayedKey(), &st->delayed},
                               {"ZCARD", store_.heldKey(), &st->held}};
  for (size_t i = 0; i < kStatuses.size(); ++i) {
    counts.push_back({"ZCARD", store_.statusKey(kStatuses[i]), &st->by_status[i]});
  }
  st->remaining = counts.size() + 1;  // and the failure kinds' HGETALL below
  for (const Count& count : counts) {
    redis_.command({count.command, count.key},
                   [st, done, into = count.into](RedisStatus s, const redisReply* r) {
                     if (s == RedisStatus::Ok) *into = replyInteger(r);
                     done(s, r);
                   });
  }
  redis_.command({"HGETALL", store_.kindsKey()}, [st, done](RedisStatus s, const redisReply* r) {
    if (s == RedisStatus::Ok && r->type == REDIS_REPLY_ARRAY) {
      for (size_t i = 0; i + 1 < r->elements; i += 2) {
        st->kinds.emplace_back(replyText(r->element[i]), replyText(r->element[i + 1]));
      }
    }
    done(s, r);
  });
}

}  // namespace redge
