// The flag store's Lua scripts (see the header for the keys) and the
// readers of their replies. The scripts never decode a flag's JSON: the C++
// side writes it in one canonical shape (flagBodyJson: name first, enabled
// second, updated_by last) and the scripts only splice text at those known
// places, so what an operator wrote (a variant's object value, an empty
// array) comes back byte for byte, which a cjson round trip would not
// promise. Flag names are [A-Za-z0-9._-], so they go into JSON unescaped.

#include "flags/flag_scripts.hpp"

namespace redge {
namespace {

constexpr const char* kFlagPrelude = R"lua(
local function int(x) return string.format('%d', x) end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function checkName(name)
  if not string.match(name, '^[%w%._%-]+$') then error('bad flag name') end
end
local function versionOf(stored)
  return string.match(stored, ',"version":(%d+)}$')
end
-- Completes a body (a JSON object, '}' last) with the time and a new
-- version, stores it and announces it.
local function commit(hash, name, body)
  local version = redis.call('INCR', hash .. ':version')
  local now = int(nowMs())
  local stored = string.sub(body, 1, -2) .. ',"updated_at":' .. now ..
                 ',"version":' .. int(version) .. '}'
  redis.call('HSET', hash, name, stored)
  redis.call('PUBLISH', hash .. ':changes', '{"version":' .. int(version) .. ',"at":' .. now ..
             ',"op":"put","name":"' .. name .. '","flag":' .. stored .. '}')
  return stored
end
-- The byte where the last ',"updated_by":' starts: the writer puts it last,
-- and inside a string a quote is escaped, so the last one is the field.
local function lastUpdatedBy(s)
  local at, from = nil, 1
  while true do
    local i = string.find(s, ',"updated_by":', from, true)
    if not i then return at end
    at, from = i, i + 1
  end
end
)lua";

constexpr const char* kPut = R"lua(
local hash, name, body, expected = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
checkName(name)
local cur = redis.call('HGET', hash, name)
if expected == '0' then
  if cur then return {-1, cur} end
elseif expected ~= '' then
  if not cur or versionOf(cur) ~= expected then return {-1, cur} end
end
return {1, commit(hash, name, body)}
)lua";

constexpr const char* kSwitch = R"lua(
local hash, name, enabled, actor = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
checkName(name)
local cur = redis.call('HGET', hash, name)
if not cur then return {0} end
local head = '{"name":"' .. name .. '","enabled":'
if string.sub(cur, 1, #head) ~= head then return {-2, cur} end
local rest = string.sub(cur, #head + 1)
local was
if string.sub(rest, 1, 4) == 'true' then
  was, rest = 'true', string.sub(rest, 5)
elseif string.sub(rest, 1, 5) == 'false' then
  was, rest = 'false', string.sub(rest, 6)
else
  return {-2, cur}
end
if was == enabled then return {2, cur} end
local by = lastUpdatedBy(rest)
if not by then return {-2, cur} end
return {1, commit(hash, name, head .. enabled .. string.sub(rest, 1, by - 1) ..
                  ',"updated_by":' .. actor .. '}')}
)lua";

constexpr const char* kDelete = R"lua(
local hash, name, expected = ARGV[1], ARGV[2], ARGV[3]
checkName(name)
local cur = redis.call('HGET', hash, name)
if not cur then return {0} end
if expected ~= '' and versionOf(cur) ~= expected then return {-1, cur} end
redis.call('HDEL', hash, name)
local version = redis.call('INCR', hash .. ':version')
redis.call('PUBLISH', hash .. ':changes', '{"version":' .. int(version) .. ',"at":' ..
           int(nowMs()) .. ',"op":"delete","name":"' .. name .. '"}')
return {1, cur, version}
)lua";

constexpr const char* kLoad = R"lua(
local hash = ARGV[1]
local out = redis.call('HVALS', hash)
table.insert(out, 1, tonumber(redis.call('GET', hash .. ':version') or '0'))
return out
)lua";

std::string withPrelude(const char* body) {
  return std::string(kFlagPrelude) + body;
}

std::string_view replyText(const redisReply* r) {
  if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)) {
    return std::string_view(r->str, r->len);
  }
  return {};
}

}  // namespace

FlagKeys::FlagKeys(std::string_view key_prefix)
    : hash(std::string(key_prefix) + "flags"),
      version(hash + ":version"),
      channel(hash + ":changes") {}

std::string_view flagPutScript() {
  static const std::string s = withPrelude(kPut);
  return s;
}
std::string_view flagSwitchScript() {
  static const std::string s = withPrelude(kSwitch);
  return s;
}
std::string_view flagDeleteScript() {
  static const std::string s = withPrelude(kDelete);
  return s;
}
std::string_view flagLoadScript() {
  static const std::string s = withPrelude(kLoad);
  return s;
}

FlagWriteResult parseFlagWriteReply(const redisReply* r) {
  FlagWriteResult out;
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
      r->element[0]->type != REDIS_REPLY_INTEGER) {
    return out;
  }
  int64_t code = r->element[0]->integer;
  if (r->elements >= 2 && r->element[1]->type == REDIS_REPLY_STRING) {
    out.stored = std::string(replyText(r->element[1]));
    out.flag = parseStoredFlag(out.stored);
    if (out.flag) out.version = out.flag->version;
  }
  if (r->elements >= 3 && r->element[2]->type == REDIS_REPLY_INTEGER) {
    out.version = r->element[2]->integer;
  }
  switch (code) {
    case 1:
      out.status = out.flag ? FlagWriteStatus::Written : FlagWriteStatus::Unreadable;
      break;
    case 2:
      out.status = out.flag ? FlagWriteStatus::Unchanged : FlagWriteStatus::Unreadable;
      break;
    case 0:
      out.status = FlagWriteStatus::NotFound;
      break;
    case -1:
      out.status = FlagWriteStatus::Conflict;
      break;
    default:
      out.status = FlagWriteStatus::Unreadable;
  }
  return out;
}

std::optional<FlagLoad> parseFlagLoadReply(const redisReply* r) {
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
      r->element[0]->type != REDIS_REPLY_INTEGER) {
    return std::nullopt;
  }
  FlagLoad load;
  load.version = r->element[0]->integer;
  for (size_t i = 1; i < r->elements; ++i) {
    std::optional<Flag> f = parseStoredFlag(replyText(r->element[i]));
    if (f) {
      load.flags.push_back(std::move(*f));
    } else {
      ++load.unreadable;
    }
  }
  return load;
}

FlagMessage writeMessage(const FlagWriteResult& result, FlagOp op, std::string_view name) {
  FlagMessage m;
  m.op = op;
  m.name = std::string(name);
  m.version = result.version;
  if (op == FlagOp::Put) m.flag = result.flag;
  return m;
}

}  // namespace redge
