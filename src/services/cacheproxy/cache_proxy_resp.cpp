// The cache proxy's RESP commands (see the header), declared in one table
// with their arity, flags and keys.
//
// GET on a hit is the hot path: the value goes from the LRU entry into the
// scratch reply and on to the connection's output, with no allocation. A
// read that must wait for Redis keeps what it needs in its callback: the
// responder (ids, not pointers, so a reply for a closed connection does
// nothing), and for GETRANGE its arguments.
//
// Error texts follow Redis's where a client might match on them (WRONGTYPE
// comes from Redis itself); redge's own conditions say what happened
// ("redis unavailable").

#include "services/cacheproxy/cache_proxy_resp.hpp"

#include <memory>
#include <optional>

#include "net/resp/resp_parser.hpp"
#include "net/resp/resp_writer.hpp"
#include "redis/redis_reply.hpp"

namespace redge {
namespace {

bool isWrongType(const CacheAnswer& a) {
  return a.kind == CacheAnswer::Kind::Failed && a.status == RedisStatus::ErrorReply &&
         replyText(a.reply).starts_with("WRONGTYPE");
}

bool hasValue(const CacheAnswer& a) {
  return a.kind == CacheAnswer::Kind::Hit || a.kind == CacheAnswer::Kind::Miss;
}

void renderGet(const CacheAnswer& a, const RespArgs&, RespProtocol protocol, std::string& out) {
  if (hasValue(a)) {
    appendRespBulk(out, a.value);
  } else if (a.kind == CacheAnswer::Kind::NotFound) {
    appendRespNull(out, protocol);
  } else {
    appendRespError(out, respErrorFor(a));
  }
}

void renderStrlen(const CacheAnswer& a, const RespArgs&, RespProtocol, std::string& out) {
  if (hasValue(a)) {
    appendRespInteger(out, static_cast<int64_t>(a.value.size()));
  } else if (a.kind == CacheAnswer::Kind::NotFound) {
    appendRespInteger(out, 0);
  } else {
    appendRespError(out, respErrorFor(a));
  }
}

// Redis 7.0's GETRANGE arithmetic: negative offsets count from the end,
// both ends are clamped into the value, an empty range is "".
void renderGetrange(const CacheAnswer& a, const RespArgs& args, RespProtocol, std::string& out) {
  if (a.kind == CacheAnswer::Kind::NotFound) {
    appendRespBulk(out, "");
    return;
  }
  if (!hasValue(a)) {
    appendRespError(out, respErrorFor(a));
    return;
  }
  int64_t start = 0;
  int64_t end = 0;
  parseRespInteger(args[2], start);  // checked before the lookup
  parseRespInteger(args[3], end);
  const auto len = static_cast<int64_t>(a.value.size());
  if (start < 0 && end < 0 && start > end) {
    appendRespBulk(out, "");
    return;
  }
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) {
    appendRespBulk(out, "");
    return;
  }
  appendRespBulk(out,
                 a.value.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

// Several keys (MGET, EXISTS): the answers arrive in any order; the reply
// goes out when the last one is in.
struct MultiKeyState {
  RespResponder responder;
  std::vector<std::optional<std::string>> values;  // MGET
  int64_t existing = 0;                            // EXISTS
  size_t remaining = 0;
  std::string error;
};

// Redis down or stuck fails the whole command; a key of another type is a
// nil in MGET (as in Redis's own MGET) and counts as existing in EXISTS.
void noteFailure(MultiKeyState& state, const CacheAnswer& a) {
  if (a.kind == CacheAnswer::Kind::Failed && a.status != RedisStatus::ErrorReply &&
      state.error.empty()) {
    state.error = respErrorFor(a);
  }
}

void appendRedisReply(std::string& out, RedisStatus status, const redisReply* reply) {
  if (status == RedisStatus::Ok && reply != nullptr && reply->type == REDIS_REPLY_INTEGER) {
    appendRespInteger(out, reply->integer);
  } else if (status == RedisStatus::Ok && reply != nullptr && reply->type == REDIS_REPLY_STATUS) {
    appendRespSimple(out, replyText(reply));
  } else {
    CacheAnswer failed;
    failed.kind = CacheAnswer::Kind::Failed;
    failed.status = status == RedisStatus::Ok ? RedisStatus::ErrorReply : status;
    failed.reply = reply;
    appendRespError(out, respErrorFor(failed));
  }
}

}  // namespace

std::string respErrorFor(const CacheAnswer& a) {
  switch (a.status) {
    case RedisStatus::ErrorReply:
      // Redis's own error, as Redis would send it (e.g. WRONGTYPE ...).
      if (a.reply != nullptr && a.reply->type == REDIS_REPLY_ERROR) {
        return std::string(replyText(a.reply));
      }
      return "ERR redis answered with an unexpected reply";
    case RedisStatus::Timeout:
      return "ERR redis timeout";
    default:
      return "ERR redis unavailable";
  }
}

CacheProxyRespFront::CacheProxyRespFront(ReadThroughCache& cache, RedisClient& redis)
    : cache_(cache),
      redis_(redis),
      table_(
          commands(),
          RespInfoSource{
              [this](std::string& out) {
                const LruCache::Stats& s = cache_.lru().stats();
                out.append("keyspace_hits:").append(std::to_string(cache_.hits())).append("\r\n");
                out.append("keyspace_misses:")
                    .append(std::to_string(cache_.misses()))
                    .append("\r\n");
                out.append("evicted_keys:").append(std::to_string(s.evictions)).append("\r\n");
                out.append("expired_keys:").append(std::to_string(s.expirations)).append("\r\n");
              },
              [this](std::string& out) {
                // What is held locally: every cached entry expires
                // (cacheproxy.ttl_ms), or nothing is cached at all.
                size_t n = cache_.lru().size();
                if (n == 0) return;
                std::string count = std::to_string(n);
                out.append("db0:keys=")
                    .append(count)
                    .append(",expires=")
                    .append(count)
                    .append("\r\n");
              },
          }) {}

std::vector<RespCommand> CacheProxyRespFront::commands() {
  constexpr uint32_t kRead = kRespReadonly | kRespFast;
  auto bind = [this](void (CacheProxyRespFront::*fn)(const RespArgs&, const RespResponder&)) {
    return [this, fn](const RespArgs& a, const RespResponder& r) { (this->*fn)(a, r); };
  };
  auto read = [this](Render render) {
    return [this, render](const RespArgs& a, const RespResponder& r) { readOne(a, r, render); };
  };
  // GET first: the table is searched in this order.
  return {
      {"get",
       2,
       kRead,
       [this](const RespArgs& a, const RespResponder& r) { get(a, r); },
       {1, 1, 1}},
      {"mget", -2, kRead, bind(&CacheProxyRespFront::mget), {1, -1, 1}},
      {"exists", -2, kRead, bind(&CacheProxyRespFront::exists), {1, -1, 1}},
      {"strlen", 2, kRead, read(&renderStrlen), {1, 1, 1}},
      {"type", 2, kRead, bind(&CacheProxyRespFront::type), {1, 1, 1}},
      {"getrange",
       4,
       kRespReadonly,
       [this](const RespArgs& a, const RespResponder& r) {
         int64_t n = 0;
         if (!parseRespInteger(a[2], n) || !parseRespInteger(a[3], n)) {
           r.reply("-ERR value is not an integer or out of range\r\n");
           return;
         }
         readOne(a, r, &renderGetrange);
       },
       {1, 1, 1}},
      {"ttl", 2, kRead, bind(&CacheProxyRespFront::forward), {1, 1, 1}},
      {"pttl", 2, kRead, bind(&CacheProxyRespFront::forward), {1, 1, 1}},
  };
}

void CacheProxyRespFront::get(const RespArgs& args, const RespResponder& responder) {
  CacheAnswer a;
  if (cache_.tryHit(args[1], a)) {
    reply_.clear();
    appendRespBulk(reply_, a.value);
    responder.reply(reply_);
    return;
  }
  cache_.lookup(args[1], [responder](const CacheAnswer& answer) {
    std::string out;
    renderGet(answer, {}, responder.protocol(), out);
    responder.reply(out);
  });
}

void CacheProxyRespFront::readOne(const RespArgs& args, const RespResponder& responder,
                                  Render render) {
  CacheAnswer a;
  if (cache_.tryHit(args[1], a)) {
    reply_.clear();
    render(a, args, responder.protocol(), reply_);
    responder.reply(reply_);
    return;
  }
  auto kept = std::make_shared<std::vector<std::string>>(args.begin(), args.end());
  cache_.lookup(args[1], [responder, render, kept](const CacheAnswer& answer) {
    RespArgs views(kept->begin(), kept->end());
    std::string out;
    render(answer, views, responder.protocol(), out);
    responder.reply(out);
  });
}

void CacheProxyRespFront::mget(const RespArgs& args, const RespResponder& responder) {
  auto state = std::make_shared<MultiKeyState>();
  state->responder = responder;
  state->values.resize(args.size() - 1);
  state->remaining = args.size() - 1;
  for (size_t i = 1; i < args.size(); ++i) {
    cache_.lookup(args[i], [state, i](const CacheAnswer& a) {
      if (hasValue(a)) state->values[i - 1] = std::string(a.value);
      noteFailure(*state, a);
      if (--state->remaining != 0) return;
      std::string out;
      if (!state->error.empty()) {
        appendRespError(out, state->error);
      } else {
        RespProtocol protocol = state->responder.protocol();
        appendRespArrayHeader(out, state->values.size());
        for (const auto& v : state->values) {
          if (v) {
            appendRespBulk(out, *v);
          } else {
            appendRespNull(out, protocol);
          }
        }
      }
      state->responder.reply(out);
    });
  }
}

void CacheProxyRespFront::exists(const RespArgs& args, const RespResponder& responder) {
  auto state = std::make_shared<MultiKeyState>();
  state->responder = responder;
  state->remaining = args.size() - 1;
  // A key named twice counts twice, as in Redis.
  for (size_t i = 1; i < args.size(); ++i) {
    cache_.lookup(args[i], [state](const CacheAnswer& a) {
      if (hasValue(a) || isWrongType(a)) ++state->existing;
      noteFailure(*state, a);
      if (--state->remaining != 0) return;
      std::string out;
      if (!state->error.empty()) {
        appendRespError(out, state->error);
      } else {
        appendRespInteger(out, state->existing);
      }
      state->responder.reply(out);
    });
  }
}

void CacheProxyRespFront::type(const RespArgs& args, const RespResponder& responder) {
  CacheAnswer hit;
  if (cache_.tryHit(args[1], hit)) {
    responder.reply("+string\r\n");
    return;
  }
  std::string key(args[1]);
  cache_.lookup(key, [this, responder, key](const CacheAnswer& a) {
    if (hasValue(a)) {
      responder.reply("+string\r\n");
    } else if (a.kind == CacheAnswer::Kind::NotFound) {
      responder.reply("+none\r\n");
    } else if (isWrongType(a)) {
      // Another type: only Redis knows which.
      redis_.command({"TYPE", key}, [responder](RedisStatus status, const redisReply* reply) {
        std::string out;
        appendRedisReply(out, status, reply);
        responder.reply(out);
      });
    } else {
      std::string out;
      appendRespError(out, respErrorFor(a));
      responder.reply(out);
    }
  });
}

// TTL and PTTL: the local copy has no expiry of Redis's to report, so Redis
// answers (-2 for a missing key, -1 for one without expiry).
void CacheProxyRespFront::forward(const RespArgs& args, const RespResponder& responder) {
  redis_.command(args, [responder](RedisStatus status, const redisReply* reply) {
    std::string out;
    appendRedisReply(out, status, reply);
    responder.reply(out);
  });
}

}  // namespace redge
