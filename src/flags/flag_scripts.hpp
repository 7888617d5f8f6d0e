#pragma once
// The flag store in Redis and its atomic steps, one Lua script each, shared
// by the daemon (async, EVALSHA through RedisScript) and `redge flags` (the
// synchronous CLI), so both change flags the same way. Keys, with the
// default prefix:
//
//   redge:flags          hash: flag name -> the flag's JSON (as flagBodyJson
//                        writes it, completed by the script with
//                        "updated_at" (Redis's TIME, ms) and "version")
//   redge:flags:version  the change counter: every change takes its next
//                        number, which the changed flag records
//   redge:flags:changes  pub/sub channel: one JSON message per change (see
//                        FlagMessage in flag_snapshot.hpp)
//
// The replies are read here too (hiredis's redisReply is the same struct
// for both APIs).

#include <hiredis/hiredis.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "flags/flag.hpp"
#include "flags/flag_snapshot.hpp"

namespace redge {

struct FlagKeys {
  explicit FlagKeys(std::string_view key_prefix);
  std::string hash;     // <prefix>flags
  std::string version;  // <prefix>flags:version
  std::string channel;  // <prefix>flags:changes
};

// ARGV: hash name body expected -> {1, stored} written; {-1, current|nil}
// `expected` did not hold. expected: "" writes whatever is there, "0" only
// creates, N only replaces the flag at version N.
std::string_view flagPutScript();
// ARGV: hash name "true"|"false" actor -> {1, stored} switched; {2, stored}
// already so (no new version); {0} no such flag; {-2, stored} a shape this
// script does not know (written by another tool).
std::string_view flagSwitchScript();
// ARGV: hash name expected -> {1, removed, version}; {0} no such flag;
// {-1, current} `expected` did not hold.
std::string_view flagDeleteScript();
// ARGV: hash -> {version, flag JSON, flag JSON, ...}
std::string_view flagLoadScript();

enum class FlagWriteStatus { Written, Unchanged, NotFound, Conflict, Unreadable };

struct FlagWriteResult {
  FlagWriteStatus status = FlagWriteStatus::Unreadable;
  std::optional<Flag> flag;  // written, unchanged, removed; current on conflict
  int64_t version = 0;       // the change's number (written, deleted)
  std::string stored;        // the JSON as Redis holds it (written, unchanged)
};

// The reply of the put, switch or delete script; Unreadable for anything
// else (an error reply is the caller's to report first).
FlagWriteResult parseFlagWriteReply(const redisReply* reply);
std::optional<FlagLoad> parseFlagLoadReply(const redisReply* reply);

// The change message a write would publish, for applying a write locally
// before its message arrives (read-your-writes on the instance that wrote).
FlagMessage writeMessage(const FlagWriteResult& result, FlagOp op, std::string_view name);

}  // namespace redge
