// The registry's Lua scripts and their callers (see the header for the
// keys). Key names are derived inside the scripts from the prefix passed in
// ARGV, as the relay's are: redge targets a single Redis, not a cluster.

#include "services/discovery/registry_store.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace redge {
namespace {

// Shared by every script: Redis's clock, integer formatting (Lua 5.1 would
// print a large number as 1.7e+12), a hash as a table, and one change
// announced (numbered, published).
constexpr const char* kRegistryPrelude = R"lua(
local function int(x) return string.format('%d', x) end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function record(p, id)
  local flat = redis.call('HGETALL', p .. id)
  if #flat == 0 then return nil end
  local r = {}
  for i = 1, #flat, 2 do r[flat[i]] = flat[i + 1] end
  return r
end
local function announce(p, op, reason, id, inst)
  local msg = {seq = redis.call('INCR', p .. 'seq'), op = op, reason = reason, id = id}
  if inst then msg.instance = inst end
  redis.call('PUBLISH', p .. 'changes', cjson.encode(msg))
end
)lua";

// ARGV: prefix id service address tags version host pid lease_ms started_at
// cpu_percent ('' when not measured yet)
// -> {kind (0 heartbeat, 1 added, 2 updated, -1 refused), started_at, now}
// cpu_percent is load, not identity: written on every heartbeat, never
// announced (readCpu() reads it where it is wanted).
constexpr const char* kRegister = R"lua(
local p, id = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'stop:' .. id) == 1 then return {-1, 0, 0} end
local now = nowMs()
local lease = tonumber(ARGV[9])
local started = tonumber(ARGV[10])
if started == 0 then started = now end
local old = record(p, id)
local inst = {id = id, service = ARGV[3], address = ARGV[4], tags = ARGV[5], version = ARGV[6],
              host = ARGV[7], pid = ARGV[8], lease_ms = ARGV[9], started_at = int(started),
              heartbeat_at = int(now)}
redis.call('HSET', p .. id, 'id', id, 'service', inst.service, 'address', inst.address,
           'tags', inst.tags, 'version', inst.version, 'host', inst.host, 'pid', inst.pid,
           'lease_ms', inst.lease_ms, 'started_at', inst.started_at, 'heartbeat_at', inst.heartbeat_at)
if ARGV[11] ~= '' then redis.call('HSET', p .. id, 'cpu_percent', ARGV[11]) end
redis.call('PEXPIRE', p .. id, int(lease * 3))
redis.call('ZADD', p .. 'leases', int(now + lease), id)
inst.expires_at = int(now + lease)
local kind = 0
if not old then
  kind = 1
  announce(p, 'added', 'registered', id, inst)
elseif old.service ~= inst.service or old.address ~= inst.address or old.tags ~= inst.tags or
       old.version ~= inst.version or old.host ~= inst.host or old.pid ~= inst.pid or
       old.lease_ms ~= inst.lease_ms or old.started_at ~= inst.started_at then
  kind = 2
  announce(p, 'updated', 'changed', id, inst)
end
return {kind, started, now}
)lua";

// ARGV: prefix id reason -> 1 removed, 0 was not there
constexpr const char* kDeregister = R"lua(
local p, id = ARGV[1], ARGV[2]
local r = record(p, id)
local had = redis.call('ZREM', p .. 'leases', id)
if not r and had == 0 then return 0 end
redis.call('DEL', p .. id)
announce(p, 'removed', ARGV[3], id, r)
return 1
)lua";

// ARGV: prefix limit -> the ids removed
constexpr const char* kReap = R"lua(
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', int(nowMs()), 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  local r = record(p, id)
  redis.call('ZREM', p .. 'leases', id)
  redis.call('DEL', p .. id)
  announce(p, 'removed', 'expired', id, r)
end
return ids
)lua";

// ARGV: prefix -> JSON {"seq":N,"instances":[...]}
constexpr const char* kLoad = R"lua(
local p = ARGV[1]
local seq = tonumber(redis.call('GET', p .. 'seq') or '0')
local flat = redis.call('ZRANGE', p .. 'leases', 0, -1, 'WITHSCORES')
local list = {}
for i = 1, #flat, 2 do
  local r = record(p, flat[i])
  if r then
    r.expires_at = flat[i + 1]
    list[#list + 1] = r
  end
end
return cjson.encode({seq = seq, instances = list})
)lua";

// ARGV: prefix id tombstone_ms -> the record removed (JSON), or nil
constexpr const char* kDestroy = R"lua(
local p, id = ARGV[1], ARGV[2]
local r = record(p, id)
local had = redis.call('ZREM', p .. 'leases', id)
if not r and had == 0 then return false end
redis.call('DEL', p .. id)
redis.call('SET', p .. 'stop:' .. id, '1', 'PX', ARGV[3])
announce(p, 'removed', 'destroyed', id, r)
redis.call('PUBLISH', p .. 'control', cjson.encode({op = 'stop', id = id}))
return cjson.encode(r or {id = id})
)lua";

// ARGV: prefix id... -> each one's cpu_percent, or false
constexpr const char* kReadCpu = R"lua(
local p = ARGV[1]
local out = {}
for i = 2, #ARGV do out[i - 1] = redis.call('HGET', p .. ARGV[i], 'cpu_percent') end
return out
)lua";

std::string withPrelude(const char* body) {
  return std::string(kRegistryPrelude) + body;
}

int64_t replyInt(const redisReply* r) {
  return r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
}

}  // namespace

RegistryStore::RegistryStore(RedisClient& redis, const std::string& key_prefix)
    : prefix_(key_prefix + "instances:"),
      register_script_(redis, "discovery_register", withPrelude(kRegister)),
      deregister_script_(redis, "discovery_deregister", withPrelude(kDeregister)),
      reap_script_(redis, "discovery_reap", withPrelude(kReap)),
      load_script_(redis, "discovery_load", withPrelude(kLoad)),
      destroy_script_(redis, "discovery_destroy", withPrelude(kDestroy)),
      read_cpu_script_(redis, "discovery_read_cpu", kReadCpu) {}

std::string RegistryStore::channelPattern() const {
  std::string out;
  for (char c : prefix_) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "*";
}

void RegistryStore::registerInstance(
    const InstanceRecord& self, std::optional<double> cpu_percent,
    std::function<void(RedisStatus, const RegistrationResult&)> cb) {
  std::string tags = joinTags(self.tags), pid = std::to_string(self.pid),
              lease = std::to_string(self.lease_ms), started = std::to_string(self.started_at_ms);
  std::string cpu;
  if (cpu_percent) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.1f", *cpu_percent);
    cpu = text;
  }
  register_script_.call(
      {},
      {prefix_, self.id, self.service, self.address, tags, self.version, self.host, pid, lease,
       started, cpu},
      [cb = std::move(cb)](RedisStatus s, const redisReply* r) {
        RegistrationResult out;
        if (s == RedisStatus::Ok && (r->type != REDIS_REPLY_ARRAY || r->elements < 3)) {
          s = RedisStatus::ErrorReply;
        }
        if (s == RedisStatus::Ok) {
          int64_t kind = replyInt(r->element[0]);
          out.kind = kind < 0    ? RegistrationResult::Kind::Refused
                     : kind == 1 ? RegistrationResult::Kind::Added
                     : kind == 2 ? RegistrationResult::Kind::Updated
                                 : RegistrationResult::Kind::Heartbeat;
          out.started_at_ms = replyInt(r->element[1]);
          out.heartbeat_at_ms = replyInt(r->element[2]);
        }
        cb(s, out);
      });
}

void RegistryStore::deregister(std::string_view id, std::string_view reason,
                               std::function<void(RedisStatus, bool)> cb) {
  deregister_script_.call({}, {prefix_, id, reason},
                          [cb = std::move(cb)](RedisStatus s, const redisReply* r) {
                            cb(s, s == RedisStatus::Ok && replyInt(r) == 1);
                          });
}

void RegistryStore::reap(int64_t limit,
                         std::function<void(RedisStatus, std::vector<std::string>)> cb) {
  std::string limit_s = std::to_string(limit);
  reap_script_.call({}, {prefix_, limit_s},
                    [cb = std::move(cb)](RedisStatus s, const redisReply* r) {
                      std::vector<std::string> ids;
                      if (s == RedisStatus::Ok && r->type != REDIS_REPLY_ARRAY)
                        s = RedisStatus::ErrorReply;
                      if (s == RedisStatus::Ok) {
                        for (size_t i = 0; i < r->elements; ++i) {
                          if (r->element[i]->type == REDIS_REPLY_STRING) {
                            ids.emplace_back(r->element[i]->str, r->element[i]->len);
                          }
                        }
                      }
                      cb(s, std::move(ids));
                    });
}

void RegistryStore::load(std::function<void(RedisStatus, std::optional<RegistryLoad>)> cb) {
  load_script_.call({}, {prefix_}, [cb = std::move(cb)](RedisStatus s, const redisReply* r) {
    std::optional<RegistryLoad> out;
    if (s == RedisStatus::Ok) {
      if (r->type == REDIS_REPLY_STRING) out = parseRegistryLoad(std::string_view(r->str, r->len));
      if (!out) s = RedisStatus::ErrorReply;  // a shape this redge does not understand
    }
    cb(s, std::move(out));
  });
}

void RegistryStore::destroy(std::string_view id, int64_t tombstone_ms,
                            std::function<void(RedisStatus, std::optional<InstanceRecord>)> cb) {
  std::string ttl = std::to_string(tombstone_ms);
  std::string id_copy(id);
  destroy_script_.call({}, {prefix_, id, ttl},
                       [cb = std::move(cb), id_copy](RedisStatus s, const redisReply* r) {
                         std::optional<InstanceRecord> out;
                         if (s == RedisStatus::Ok && r->type == REDIS_REPLY_STRING) {
                           out = parseInstanceRecord(std::string_view(r->str, r->len));
                           if (!out) {  // only its lease was left: the id is all there is to say
                             out.emplace();
                             out->id = id_copy;
                           }
                         }
                         cb(s, std::move(out));
                       });
}

void RegistryStore::readCpu(const std::vector<std::string>& ids,
                            std::function<void(RedisStatus, std::vector<double>)> cb) {
  std::vector<std::string_view> args;
  args.reserve(ids.size() + 1);
  args.emplace_back(prefix_);
  for (const std::string& id : ids) args.emplace_back(id);
  read_cpu_script_.call({}, args, [cb = std::move(cb)](RedisStatus s, const redisReply* r) {
    std::vector<double> out;
    if (s == RedisStatus::Ok && r->type != REDIS_REPLY_ARRAY) s = RedisStatus::ErrorReply;
    if (s == RedisStatus::Ok) {
      for (size_t i = 0; i < r->elements; ++i) {
        const redisReply* e = r->element[i];
        double v = -1;
        if (e->type == REDIS_REPLY_STRING) {
          std::string text(e->str, e->len);
          char* end = nullptr;
          v = std::strtod(text.c_str(), &end);
          if (end == text.c_str() || *end != '\0' || !std::isfinite(v) || v < 0) v = -1;
        }
        out.push_back(v);
      }
    }
    cb(s, std::move(out));
  });
}

}  // namespace redge
