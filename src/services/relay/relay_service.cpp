// The relay's HTTP routes (see the header). Message records are read back
// from Redis hashes and rendered as JSON; listing fetches the ids from a
// status index and then each record, all pipelined on the shared connection.

#include "services/relay/relay_service.hpp"

#include <charconv>
#include <cstdio>

#include "core/json_escape.hpp"
#include "redis/redis_reply.hpp"
#include "services/redis_failure.hpp"

namespace redge {
namespace {

// Renders one message hash (HGETALL reply) as the API's JSON object.
void appendMessageJson(std::string& out, const redisReply* hash) {
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
  out.append("{\"id\":");
  appendJsonString(out, id);
  out.append(",\"destination\":");
  appendJsonString(out, destination);
  out.append(",\"body\":");
  appendJsonString(out, body);
  out.append(",\"status\":");
  appendJsonString(out, status);
  out.append(",\"attempts\":").append(attempts);
  out.append(",\"last_error\":");
  if (kind.empty()) {
    out.append("null");
  } else {
    out.append("{\"kind\":");
    appendJsonString(out, kind);
    out.append(",\"detail\":");
    appendJsonString(out, detail);
    out.append("}");
  }
  out.append(",\"created_at\":").append(created);
  out.append(",\"updated_at\":").append(updated).append("}");
}

bool validStatus(std::string_view s) {
  return s == "queued" || s == "delivering" || s == "sent" || s == "failed";
}

}  // namespace

RelayService::RelayService(Runtime& runtime, HttpServer& http, RedisClient& redis,
                           RelayOptions options)
    : redis_(redis),
      options_(std::move(options)),
      store_(redis, options_.key_prefix, options_.instance),
      upstream_(runtime.loop, runtime.metrics,
                HttpClientPoolOptions{
                    "relay", options_.worker.upstream.host, options_.worker.upstream.port,
                    options_.worker.upstream.authority(),
                    static_cast<size_t>(options_.worker.concurrency) * 2, 30000, 1 << 20}),
      worker_(runtime, redis, store_, upstream_, options_.worker),
      random_(std::random_device{}()),
      accepted_(runtime.metrics.counter("redge_relay_enqueued_total",
                                        "Messages accepted by POST /messages")),
      refused_(runtime.metrics.counter("redge_relay_refused_total",
                                       "POST /messages refused because the queue is full")) {
  http.route(
      HttpMethod::Post, "/messages", [this](HttpRequest& q, const HttpResponder& r) { post(q, r); },
      static_cast<int64_t>(options_.limits.max_body_bytes + options_.limits.max_destination_bytes) *
              6 +
          1024);
  http.route(HttpMethod::Get, "/messages",
             [this](HttpRequest& q, const HttpResponder& r) { list(q, r); });
  http.route(HttpMethod::Get, "/messages/stats",
             [this](HttpRequest& q, const HttpResponder& r) { stats(q, r); });
  http.route(HttpMethod::Get, "/messages/{id}",
             [this](HttpRequest& q, const HttpResponder& r) { getOne(q, r); });
}

void RelayService::start() {
  worker_.start();
}

void RelayService::close(std::function<void()> done) {
  worker_.close();
  upstream_.close();  // its connections close; pending sends fail with Closed
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
    if (e.field.empty()) return res.sendError(e.status, e.code, e.message);
    return res.sendError(e.status, e.code, e.message, 0, {{"field", e.field}});
  }
  std::string idem(req.header("Idempotency-Key").substr(0, 200));
  std::string id = newId();
  const RelayWorkerOptions& w = options_.worker;
  store_.enqueue(id, m.destination, m.body, idem, w.queue_max, w.queue_recovery, wallClockMs(),
                 [this, res](RedisStatus s, const EnqueueResult& r) {
                   if (s != RedisStatus::Ok) return answerRedisFailure(res, s, nullptr, redis_);
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
                   std::string location = "/messages/" + r.id;
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
                   worker_.kick();
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
    appendMessageJson(body, r);
    res.send(HttpResponse(200, "application/json", body));
  });
}

void RelayService::list(HttpRequest& req, const HttpResponder& res) {
  std::string_view status = queryParam(req.query(), "status");
  std::string_view limit_text = queryParam(req.query(), "limit");
  int64_t limit = 50;
  if (!limit_text.empty()) {
    auto r = std::from_chars(limit_text.data(), limit_text.data() + limit_text.size(), limit);
    if (r.ec != std::errc() || r.ptr != limit_text.data() + limit_text.size() || limit < 1 ||
        limit > 1000) {
      return res.sendError(400, "invalid_query", "limit must be an integer from 1 to 1000.");
    }
  }
  if (!status.empty() && !validStatus(status)) {
    return res.sendError(400, "invalid_query",
                         "status must be one of queued, delivering, sent, failed.");
  }
  std::string index = store_.statusKey(status.empty() ? "all" : status);
  std::string stop = std::to_string(limit - 1);
  redis_.command({"ZREVRANGE", index, "0", stop}, [this, res](RedisStatus s, const redisReply* r) {
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
      redis_.command(
          {"HGETALL", key}, [this, res, listing, i](RedisStatus s2, const redisReply* h) {
            if (s2 != RedisStatus::Ok && !listing->failed) {
              listing->failed = true;
              answerRedisFailure(res, s2, h, redis_);
            } else if (s2 == RedisStatus::Ok && h->type == REDIS_REPLY_ARRAY && h->elements > 0) {
              appendMessageJson(listing->parts[i], h);
            }
            if (--listing->remaining != 0 || listing->failed) return;
            std::string body = "{\"messages\":[";
            bool first = true;
            for (const auto& p : listing->parts) {
              if (p.empty()) continue;  // expired or removed meanwhile
              if (!first) body.push_back(',');
              first = false;
              body.append(p);
            }
            body.append("]}");
            res.send(HttpResponse(200, "application/json", body));
          });
    }
  });
}

void RelayService::stats(HttpRequest&, const HttpResponder& res) {
  // Several small reads, answered together when the last one arrives.
  struct Stats {
    int64_t queue = 0, processing = 0, delayed = 0, held = 0;
    int64_t by_status[4] = {0, 0, 0, 0};
    std::string kinds = "{}";
    size_t remaining = 9;
    bool failed = false;
  };
  auto st = std::make_shared<Stats>();
  auto done = [this, res, st](RedisStatus s, const redisReply* r) -> bool {
    if (s != RedisStatus::Ok && !st->failed) {
      st->failed = true;
      answerRedisFailure(res, s, r, redis_);
    }
    if (--st->remaining != 0 || st->failed) return false;
    CircuitBreaker& b = worker_.breaker();
    BreakerState state = b.state();
    CircuitBreaker::Counts c = b.counts();
    // queue_depth is the number the gate judges (see relay_store.hpp);
    // its three parts follow it.
    std::string body =
        "{\"queue_depth\":" + std::to_string(st->queue + st->held + st->delayed) +
        ",\"ready\":" + std::to_string(st->queue) +
        ",\"held_by_breaker\":" + std::to_string(st->held) +
        ",\"retry_scheduled\":" + std::to_string(st->delayed) +
        ",\"in_flight\":" + std::to_string(worker_.inflight()) +
        ",\"processing\":" + std::to_string(st->processing) +
        ",\"gate\":{\"accepting\":" + (worker_.gate().accepting() ? "true" : "false") +
        ",\"max\":" + std::to_string(worker_.gate().max()) +
        ",\"recovery\":" + std::to_string(worker_.gate().recovery()) + "}" +
        ",\"breaker\":{\"state\":\"" + breakerStateName(state) +
        "\",\"remaining_open_ms\":" + std::to_string(b.remainingOpenMs()) +
        ",\"calls_in_window\":" + std::to_string(c.calls_in_window) +
        ",\"failures_in_window\":" + std::to_string(c.failures_in_window) +
        ",\"consecutive_failures\":" + std::to_string(c.consecutive_failures) +
        ",\"opened_total\":" + std::to_string(c.opened_total) +
        ",\"rejected_total\":" + std::to_string(c.rejected_total) + "}" +
        ",\"by_status\":{\"queued\":" + std::to_string(st->by_status[0]) +
        ",\"delivering\":" + std::to_string(st->by_status[1]) +
        ",\"sent\":" + std::to_string(st->by_status[2]) +
        ",\"failed\":" + std::to_string(st->by_status[3]) + "}" +
        ",\"failures_by_kind\":" + st->kinds + "}";
    res.send(HttpResponse(200, "application/json", body));
    return true;
  };
  redis_.command({"LLEN", store_.queueKey()}, [st, done](RedisStatus s, const redisReply* r) {
    if (s == RedisStatus::Ok) st->queue = replyInteger(r);
    done(s, r);
  });
  redis_.command({"LLEN", store_.processingKey()}, [st, done](RedisStatus s, const redisReply* r) {
    if (s == RedisStatus::Ok) st->processing = replyInteger(r);
    done(s, r);
  });
  redis_.command({"ZCARD", store_.delayedKey()}, [st, done](RedisStatus s, const redisReply* r) {
    if (s == RedisStatus::Ok) st->delayed = replyInteger(r);
    done(s, r);
  });
  redis_.command({"ZCARD", store_.heldKey()}, [st, done](RedisStatus s, const redisReply* r) {
    if (s == RedisStatus::Ok) st->held = replyInteger(r);
    done(s, r);
  });
  static const char* kStatuses[4] = {"queued", "delivering", "sent", "failed"};
  for (int i = 0; i < 4; ++i) {
    redis_.command({"ZCARD", store_.statusKey(kStatuses[i])},
                   [st, done, i](RedisStatus s, const redisReply* r) {
                     if (s == RedisStatus::Ok) st->by_status[i] = replyInteger(r);
                     done(s, r);
                   });
  }
  redis_.command({"HGETALL", store_.kindsKey()}, [st, done](RedisStatus s, const redisReply* r) {
    if (s == RedisStatus::Ok && r->type == REDIS_REPLY_ARRAY) {
      std::string kinds = "{";
      for (size_t i = 0; i + 1 < r->elements; i += 2) {
        if (i) kinds.push_back(',');
        appendJsonString(kinds, replyText(r->element[i]));
        kinds.push_back(':');
        kinds.append(replyText(r->element[i + 1]));
      }
      kinds.push_back('}');
      st->kinds = kinds;
    }
    done(s, r);
  });
}

}  // namespace redge
