// The relay's Lua scripts and their callers. Each script is one atomic step;
// message keys are derived inside a script from the prefix passed in ARGV
// (redge targets a single Redis, not a cluster, so keys need not all be
// declared up front).

#include "services/relay/relay_store.hpp"

#include "redis/redis_reply.hpp"

namespace redge {
namespace {

// The depth the gate judges: every message waiting for its next attempt
// (see the header). Prepended to the scripts that need it.
constexpr const char* kWaiting = R"lua(
local function waiting(queue, held, delayed)
  return redis.call('LLEN', queue) + redis.call('ZCARD', held) + redis.call('ZCARD', delayed)
end
)lua";

// KEYS: queue gate msg idem status:queued status:all held delayed
// ARGV: max recovery id destination body now idem_ttl_s use_idem
// -> {kind(1 queued, 2 duplicate, 0 refused), depth, id, gate change}
constexpr const char* kEnqueue = R"lua(
local depth = waiting(KEYS[1], KEYS[7], KEYS[8])
if ARGV[8] == '1' then
  local first = redis.call('GET', KEYS[4])
  if first then return {2, depth, first, 0} end
end
local max, recovery = tonumber(ARGV[1]), tonumber(ARGV[2])
local disabled = redis.call('EXISTS', KEYS[2]) == 1
local change = 0
if disabled and depth <= recovery then
  redis.call('DEL', KEYS[2]); disabled = false; change = 2
end
if not disabled and depth >= max then
  redis.call('SET', KEYS[2], '1'); disabled = true; change = 1
end
if disabled then return {0, depth, '', change} end
if ARGV[8] == '1' then redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[7]) end
redis.call('HSET', KEYS[3], 'id', ARGV[3], 'destination', ARGV[4], 'body', ARGV[5],
           'status', 'queued', 'attempts', 0, 'created_at', ARGV[6], 'updated_at', ARGV[6])
redis.call('LPUSH', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[5], ARGV[6], ARGV[3])
redis.call('ZADD', KEYS[6], ARGV[6], ARGV[3])
return {1, depth + 1, ARGV[3], change}
)lua";

// KEYS: queue processing gate held delayed
// ARGV: recovery now msg_prefix status_prefix
// -> {id or '', depth, gate change, attempts, destination, body}
constexpr const char* kTake = R"lua(
local change = 0
local id
while true do
  id = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
  if not id then break end
  if redis.call('EXISTS', ARGV[3] .. id) == 1 then break end
  redis.call('LREM', KEYS[2], 1, id)  -- its record is gone: drop the stray id
end
local depth = waiting(KEYS[1], KEYS[4], KEYS[5])
if redis.call('EXISTS', KEYS[3]) == 1 and depth <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[3]); change = 2
end
if not id then return {'', depth, change, 0, '', ''} end
local key = ARGV[3] .. id
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
redis.call('HSET', key, 'status', 'delivering', 'updated_at', ARGV[2])
local f = redis.call('HMGET', key, 'destination', 'body', 'created_at')
redis.call('ZREM', ARGV[4] .. 'queued', id)
redis.call('ZADD', ARGV[4] .. 'delivering', f[3], id)
return {id, depth, change, attempts, f[1], f[2]}
)lua";

// Moves a message from one status to another; shared by the steps below.
constexpr const char* kMoveStatus = R"lua(
local function move(status_prefix, msg_key, id, to, now)
  local created = redis.call('HGET', msg_key, 'created_at') or now
  for _, s in ipairs({'queued', 'delivering', 'sent', 'failed'}) do
    if s ~= to then redis.call('ZREM', status_prefix .. s, id) end
  end
  redis.call('ZADD', status_prefix .. to, created, id)
  redis.call('HSET', msg_key, 'status', to, 'updated_at', now)
end
)lua";

// KEYS: processing   ARGV: id now msg_prefix status_prefix
constexpr const char* kSent = R"lua(
redis.call('LREM', KEYS[1], 1, ARGV[1])
move(ARGV[4], ARGV[3] .. ARGV[1], ARGV[1], 'sent', ARGV[2])
return 1
)lua";

// KEYS: processing delayed kinds   ARGV: id now msg_prefix status_prefix due kind detail
constexpr const char* kRetry = R"lua(
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
local key = ARGV[3] .. ARGV[1]
move(ARGV[4], key, ARGV[1], 'queued', ARGV[2])
redis.call('HSET', key, 'last_error_kind', ARGV[6], 'last_error_detail', ARGV[7])
redis.call('HINCRBY', KEYS[3], ARGV[6], 1)
return 1
)lua";

// KEYS: processing failed kinds   ARGV: id now msg_prefix status_prefix kind detail
constexpr const char* kDead = R"lua(
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('LPUSH', KEYS[2], ARGV[1])
local key = ARGV[3] .. ARGV[1]
move(ARGV[4], key, ARGV[1], 'failed', ARGV[2])
redis.call('HSET', key, 'last_error_kind', ARGV[5], 'last_error_detail', ARGV[6])
redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
return 1
)lua";

// KEYS: processing held kinds   ARGV: id now msg_prefix status_prefix due kind detail
// -> 1, or 0 when the id was no longer in processing (nothing changed)
constexpr const char* kHold = R"lua(
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
local key = ARGV[3] .. ARGV[1]
redis.call('HINCRBY', key, 'attempts', -1)  -- the take counted it; nothing was sent
move(ARGV[4], key, ARGV[1], 'queued', ARGV[2])
redis.call('HSET', key, 'last_error_kind', ARGV[6], 'last_error_detail', ARGV[7])
redis.call('HINCRBY', KEYS[3], ARGV[6], 1)
return 1
)lua";

// KEYS: queue held kinds   ARGV: now msg_prefix status_prefix due kind detail
// -> {id or '', attempts}
constexpr const char* kHoldNext = R"lua(
local id
repeat
  id = redis.call('RPOP', KEYS[1])
  if not id then return {'', 0} end
until redis.call('EXISTS', ARGV[2] .. id) == 1  -- a stray id whose record is gone is dropped
local key = ARGV[2] .. id
redis.call('ZADD', KEYS[2], ARGV[4], id)
move(ARGV[3], key, id, 'queued', ARGV[1])
redis.call('HSET', key, 'last_error_kind', ARGV[5], 'last_error_detail', ARGV[6])
redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
return {id, tonumber(redis.call('HGET', key, 'attempts') or '0')}
)lua";

// KEYS: delayed queue held   ARGV: now limit release_held -> how many moved
// The queue's head is its right end, so the earliest due is pushed last and
// taken first. Held messages go after the retries, so they are taken first:
// their turn had already come once.
constexpr const char* kPromote = R"lua(
local function release(set, queue, now, limit)
  local ids = redis.call('ZRANGEBYSCORE', set, '-inf', now, 'LIMIT', 0, limit)
  for i = #ids, 1, -1 do
    redis.call('ZREM', set, ids[i])
    redis.call('RPUSH', queue, ids[i])
  end
  return #ids
end
local n = release(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]))
if ARGV[3] == '1' then n = n + release(KEYS[3], KEYS[2], ARGV[1], tonumber(ARGV[2])) end
return n
)lua";

// KEYS: processing queue   ARGV: now msg_prefix status_prefix -> how many recovered
constexpr const char* kRecover = R"lua(
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
-- The processing list's oldest is at the right; put them back at the head
-- of the queue (its right end) in the order they were taken.
for i = #ids, 1, -1 do
  redis.call('RPUSH', KEYS[2], ids[i])
  move(ARGV[3], ARGV[2] .. ids[i], ids[i], 'queued', ARGV[1])
end
redis.call('DEL', KEYS[1])
return #ids
)lua";

// KEYS: processing queue   ARGV: now msg_prefix status_prefix id...
// Puts the given ids (found in processing, not being delivered by anyone
// here) back at the head of the queue.
constexpr const char* kRecoverIds = R"lua(
local n = 0
for i = 4, #ARGV do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i])
    move(ARGV[3], ARGV[2] .. ARGV[i], ARGV[i], 'queued', ARGV[1])
    n = n + 1
  end
end
return n
)lua";

// A repeated Idempotency-Key answers the first message's id for a day (the
// README's promise), in seconds as SET EX takes it.
constexpr const char* kIdempotencyTtlS = "86400";

// Due retries and held messages moved to the queue per set and per call: a
// script runs to completion with every other Redis client waiting, so each
// run stays short; the next poll moves the rest.
constexpr const char* kPromoteBatch = "100";

std::string withMove(const char* body) {
  return std::string(kMoveStatus) + body;
}

std::string withWaiting(const char* body) {
  return std::string(kWaiting) + body;
}

}  // namespace

RelayStore::RelayStore(RedisClient& redis, const std::string& key_prefix,
                       const std::string& instance, RedisClient* enqueue_client)
    : prefix_(key_prefix + "relay:"),
      queue_(prefix_ + "queue"),
      processing_(prefix_ + "processing:" + instance),
      delayed_(prefix_ + "delayed"),
      held_(prefix_ + "held"),
      failed_(prefix_ + "failed"),
      gate_(prefix_ + "gate"),
      kinds_(prefix_ + "kinds"),
      msg_prefix_(prefix_ + "msg:"),
      enqueue_script_(enqueue_client != nullptr ? *enqueue_client : redis, "relay_enqueue",
                      withWaiting(kEnqueue)),
      take_script_(redis, "relay_take", withWaiting(kTake)),
      sent_script_(redis, "relay_sent", withMove(kSent)),
      retry_script_(redis, "relay_retry", withMove(kRetry)),
      dead_script_(redis, "relay_dead", withMove(kDead)),
      hold_script_(redis, "relay_hold", withMove(kHold)),
      hold_next_script_(redis, "relay_hold_next", withMove(kHoldNext)),
      promote_script_(redis, "relay_promote", kPromote),
      recover_script_(redis, "relay_recover", withMove(kRecover)),
      recover_ids_script_(redis, "relay_recover_ids", withMove(kRecoverIds)) {}

void RelayStore::recoverIds(const std::vector<std::string>& ids, int64_t now_ms, RedisCallback cb) {
  std::string now_s = std::to_string(now_ms), status_prefix = prefix_ + "status:";
  std::vector<std::string_view> args = {now_s, msg_prefix_, status_prefix};
  for (const auto& id : ids) args.push_back(id);
  recover_ids_script_.call({processing_, queue_}, args, std::move(cb));
}

void RelayStore::enqueue(const std::string& id, std::string_view destination, std::string_view body,
                         std::string_view idempotency_key, int64_t max, int64_t recovery,
                         int64_t now_ms,
                         std::function<void(RedisStatus, const EnqueueResult&)> cb) {
  std::string idem = prefix_ + "idem:" + std::string(idempotency_key);
  std::string max_s = std::to_string(max), rec_s = std::to_string(recovery),
              now_s = std::to_string(now_ms);
  enqueue_script_.call(
      {queue_, gate_, messageKey(id), idem, statusKey("queued"), statusKey("all"), held_, delayed_},
      {max_s, rec_s, id, destination, body, now_s, kIdempotencyTtlS,
       idempotency_key.empty() ? "0" : "1"},
      [cb = std::move(cb)](RedisStatus s, const redisReply* r) {
        EnqueueResult out;
        if (s == RedisStatus::Ok && (r->type != REDIS_REPLY_ARRAY || r->elements < 4)) {
          s = RedisStatus::ErrorReply;
        }
        if (s == RedisStatus::Ok) {
          int64_t kind = replyInteger(r->element[0]);
          out.kind = kind == 1   ? EnqueueResult::Kind::Queued
                     : kind == 2 ? EnqueueResult::Kind::Duplicate
                                 : EnqueueResult::Kind::Refused;
          out.depth = replyInteger(r->element[1]);
          out.id = replyText(r->element[2]);
          out.change = static_cast<GateChange>(replyInteger(r->element[3]));
        }
        cb(s, out);
      });
}

void RelayStore::take(int64_t recovery, int64_t now_ms,
                      std::function<void(RedisStatus, const TakeResult&)> cb) {
  std::string rec_s = std::to_string(recovery), now_s = std::to_string(now_ms);
  take_script_.call(
      {queue_, processing_, gate_, held_, delayed_},
      {rec_s, now_s, msg_prefix_, prefix_ + "status:"},
      [cb = std::move(cb)](RedisStatus s, const redisReply* r) {
        TakeResult out;
        if (s == RedisStatus::Ok && (r->type != REDIS_REPLY_ARRAY || r->elements < 6)) {
          s = RedisStatus::ErrorReply;
        }
        if (s == RedisStatus::Ok) {
          out.message.id = replyText(r->element[0]);
          out.taken = !out.message.id.empty();
          out.depth = replyInteger(r->element[1]);
          out.change = static_cast<GateChange>(replyInteger(r->element[2]));
          out.message.attempts = replyInteger(r->element[3]);
          out.message.destination = replyText(r->element[4]);
          out.message.body = replyText(r->element[5]);
        }
        cb(s, out);
      });
}

void RelayStore::markSent(const std::string& id, int64_t now_ms, RedisCallback cb) {
  std::string now_s = std::to_string(now_ms);
  sent_script_.call({processing_}, {id, now_s, msg_prefix_, prefix_ + "status:"}, std::move(cb));
}

void RelayStore::scheduleRetry(const std::string& id, int64_t now_ms, int64_t due_ms,
                               std::string_view kind, std::string_view detail, RedisCallback cb) {
  std::string now_s = std::to_string(now_ms), due_s = std::to_string(due_ms);
  retry_script_.call({processing_, delayed_, kinds_},
                     {id, now_s, msg_prefix_, prefix_ + "status:", due_s, kind, detail},
                     std::move(cb));
}

void RelayStore::deadLetter(const std::string& id, int64_t now_ms, std::string_view kind,
                            std::string_view detail, RedisCallback cb) {
  std::string now_s = std::to_string(now_ms);
  dead_script_.call({processing_, failed_, kinds_},
                    {id, now_s, msg_prefix_, prefix_ + "status:", kind, detail}, std::move(cb));
}

void RelayStore::hold(const std::string& id, int64_t now_ms, int64_t due_ms, std::string_view kind,
                      std::string_view detail, RedisCallback cb) {
  std::string now_s = std::to_string(now_ms), due_s = std::to_string(due_ms);
  hold_script_.call({processing_, held_, kinds_},
                    {id, now_s, msg_prefix_, prefix_ + "status:", due_s, kind, detail},
                    std::move(cb));
}

void RelayStore::holdNext(int64_t now_ms, int64_t due_ms, std::string_view kind,
                          std::string_view detail,
                          std::function<void(RedisStatus, const HoldResult&)> cb) {
  std::string now_s = std::to_string(now_ms), due_s = std::to_string(due_ms);
  hold_next_script_.call(
      {queue_, held_, kinds_}, {now_s, msg_prefix_, prefix_ + "status:", due_s, kind, detail},
      [cb = std::move(cb)](RedisStatus s, const redisReply* r) {
        HoldResult out;
        if (s == RedisStatus::Ok && (r->type != REDIS_REPLY_ARRAY || r->elements < 2)) {
          s = RedisStatus::ErrorReply;
        }
        if (s == RedisStatus::Ok) {
          out.id = replyText(r->element[0]);
          out.held = !out.id.empty();
          out.attempts = replyInteger(r->element[1]);
        }
        cb(s, out);
      });
}

void RelayStore::promoteDue(int64_t now_ms, bool release_held, RedisCallback cb) {
  std::string now_s = std::to_string(now_ms);
  promote_script_.call({delayed_, queue_, held_}, {now_s, kPromoteBatch, release_held ? "1" : "0"},
                       std::move(cb));
}

void RelayStore::recoverProcessing(int64_t now_ms, RedisCallback cb) {
  std::string now_s = std::to_string(now_ms);
  recover_script_.call({processing_, queue_}, {now_s, msg_prefix_, prefix_ + "status:"},
                       std::move(cb));
}

}  // namespace redge
