// SharedRotation: one LMOVE per turn, the list rewritten to follow the
// pool, and the local fallback's two log lines (see the header).

#include "services/gateway/shared_rotation.hpp"

#include "core/log.hpp"
#include "redis/redis_reply.hpp"

namespace redge {

const char* SharedRotation::rewriteScript() {
  // A list that already holds the same names as many times each is left
  // as it is: it is the same turn order, only further along, and rewriting
  // it would send the next requests of every gateway back to its first
  // member (a gateway that starts or reconnects writes what the others
  // wrote). unpack() is bounded by Lua's stack: the list holds at most
  // GatewayPool::kMaxRotationEntries names. Returns 1 when it wrote.
  return "if redis.call('TYPE', KEYS[1]).ok == 'list' then\n"
         "  local current = redis.call('LRANGE', KEYS[1], 0, -1)\n"
         "  if #current == #ARGV then\n"
         "    local left = {}\n"
         "    for _, name in ipairs(ARGV) do left[name] = (left[name] or 0) + 1 end\n"
         "    local same = true\n"
         "    for _, name in ipairs(current) do\n"
         "      if (left[name] or 0) == 0 then same = false break end\n"
         "      left[name] = left[name] - 1\n"
         "    end\n"
         "    if same then return 0 end\n"
         "  end\n"
         "end\n"
         "redis.call('DEL', KEYS[1])\n"
         "if #ARGV > 0 then redis.call('RPUSH', KEYS[1], unpack(ARGV)) end\n"
         "return 1\n";
}

SharedRotation::SharedRotation(RedisClient& redis, RedisScript& rewrite_script,
                               TimerFactory& timers, GatewayPool& pool, std::string key)
    : redis_(redis), rewrite_(rewrite_script), pool_(pool), key_(std::move(key)) {
  rewrite_timer_ = timers.createTimer([this] { rewrite(); });
}

void SharedRotation::close() {
  closed_ = true;
  rewrite_timer_.reset();
}

void SharedRotation::membershipChanged() {
  // Coalesced: a registry resync adding ten instances writes the list once.
  if (!closed_ && !rewrite_timer_->enabled()) rewrite_timer_->enable(0);
}

void SharedRotation::onRedisReady() {
  if (!closed_) rewrite();
}

void SharedRotation::rewrite() {
  if (closed_ || !redis_.ready()) return;  // onRedisReady writes it when Redis is back
  std::vector<std::string> order = pool_.rotationOrder();
  std::vector<std::string_view> args(order.begin(), order.end());
  rewrite_.call({key_}, args, [this](RedisStatus s, const redisReply* r) {
    if (closed_ || s == RedisStatus::Ok || s == RedisStatus::Closed) return;
    REDGE_LOG(Warn, "gateway_rotation_write_failed")
        .kv("pool", pool_.name())
        .kv("key", key_)
        .kv("error", replyText(r, redisStatusName(s)));
  });
}

void SharedRotation::next(std::function<void(const RotationTurn&)> done) {
  redis_.command({"LMOVE", key_, key_, "LEFT", "RIGHT"},
                 [this, done = std::move(done)](RedisStatus s, const redisReply* r) {
                   RotationTurn turn;
                   if (closed_ || s == RedisStatus::Closed) {
                     turn.source = RotationTurn::Source::Closed;
                     done(turn);
                     return;
                   }
                   if (s == RedisStatus::Ok) {
                     leaveFallback();
                     if (r->type == REDIS_REPLY_STRING) {
                       turn.source = RotationTurn::Source::Redis;
                       turn.name.assign(replyText(r));
                     } else {
                       // No list (flushed, expired by hand): write it again;
                       // this turn is taken locally.
                       membershipChanged();
                     }
                   } else if (s == RedisStatus::ErrorReply) {
                     // Redis answers, but not to LMOVE (older than 6.2, or
                     // the key holds another type): local turns, said once.
                     if (!error_logged_) {
                       error_logged_ = true;
                       REDGE_LOG(Warn, "gateway_rotation_error")
                           .kv("pool", pool_.name())
                           .kv("key", key_)
                           .kv("error", replyText(r))
                           .kv("action", "local rotation for this request; list rewritten");
                     }
                     membershipChanged();
                   } else {
                     enterFallback(redisStatusName(s));
                   }
                   done(turn);
                 });
}

void SharedRotation::enterFallback(std::string_view reason) {
  if (fallback_) return;
  fallback_ = true;
  pool_.stats().rotation_fallback.set(1);
  REDGE_LOG(Warn, "gateway_rotation_fallback")
      .kv("pool", pool_.name())
      .kv("reason", reason)
      .kv("action", "local round robin until Redis answers again");
}

void SharedRotation::leaveFallback() {
  if (!fallback_) return;
  fallback_ = false;
  pool_.stats().rotation_fallback.set(0);
  REDGE_LOG(Info, "gateway_rotation_restored").kv("pool", pool_.name()).kv("key", key_);
}

}  // namespace redge
