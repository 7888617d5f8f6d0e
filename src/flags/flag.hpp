#pragma once
// One feature flag: what an operator writes (PUT /flags/{name}, `redge flags
// set`), what Redis stores, what every instance evaluates from its snapshot.
//
//   {"name": "set_enabled", "enabled": true, "rollout": 25,
//    "stickiness": "header:X-User-Id",        // or "cookie:uid", "client_address"
//    "targets": ["alice", "bob"],             // always on (when enabled)
//    "variants": [{"name": "blue", "weight": 1, "value": "#00f"}, ...],
//    "default_variant": "blue",               // served when off (variants only)
//    "description": "...",
//    "updated_by": "...", "updated_at": ..., "version": 17}   // set by redge
//
// Pure: parsing, validation and writing, no I/O. Every message names the
// field at fault so an operator can fix the request.

#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.hpp"

namespace redge {

inline constexpr size_t kMaxFlagNameLength = 128;
inline constexpr size_t kMaxFlagDescriptionLength = 1024;
inline constexpr size_t kMaxFlagVariants = 64;
inline constexpr size_t kMaxFlagTargets = 1000;
inline constexpr size_t kMaxFlagTargetLength = 256;
inline constexpr size_t kMaxFlagActorLength = 200;
inline constexpr int64_t kMaxVariantWeight = 1000000;
// A flag's JSON as PUT takes it (variant values included).
inline constexpr size_t kMaxFlagJsonBytes = 65536;

enum class StickinessSource { ClientAddress, Header, Cookie };

// Which request attribute picks a user's bucket.
struct Stickiness {
  StickinessSource source = StickinessSource::ClientAddress;
  std::string name;  // the header or cookie name

  // "client_address", "header:X-User-Id", "cookie:uid".
  std::string text() const;
  bool operator==(const Stickiness&) const = default;
};

struct FlagVariant {
  std::string name;
  int64_t weight = 1;
  std::string value_json;  // the value as JSON text (written as is); default: the name

  bool operator==(const FlagVariant&) const = default;
};

struct Flag {
  std::string name;
  bool enabled = false;
  double rollout = 100;  // percent of users (by stickiness bucket), 0..100
  Stickiness stickiness;
  std::vector<std::string> targets;   // stickiness values that are always on
  std::vector<FlagVariant> variants;  // empty: a boolean flag
  std::string default_variant;        // with variants: what "off" serves
  std::string description;
  // Set by redge when the flag is written, never by the writer's body.
  std::string updated_by;
  int64_t updated_at_ms = 0;  // Redis's clock (TIME), ms since the epoch
  int64_t version = 0;        // the flag store's change number of this write

  const FlagVariant* variant(std::string_view variant_name) const;
  bool operator==(const Flag&) const = default;
};

// A flag name: 1..128 of [A-Za-z0-9._-] (a URL segment and an OFREP key as
// it is, a metric label, a Redis hash field).
std::optional<std::string> checkFlagName(std::string_view name);

// A stickiness text ("header:NAME", "cookie:NAME", "client_address").
std::optional<Stickiness> parseStickiness(std::string_view text);

struct FlagError {
  std::string field;   // "rollout", "variants[1].weight", "(body)"
  std::string reason;  // a sentence fragment: "must be a number from 0 to 100"
  std::string message() const;
};

struct FlagParse {
  std::optional<Flag> flag;
  FlagError error;  // when !flag
};

// A flag as an operator writes it. `name` is the one the URL names; a
// "name" member, if any, must equal it. The fields redge sets (updated_by,
// updated_at, version) are accepted and ignored, so what GET answers can be
// edited and PUT back. Unknown members are refused (a typo would otherwise
// be silently dropped).
FlagParse parseFlagSpec(std::string_view name, std::string_view json);
FlagParse parseFlagSpec(std::string_view name, const rapidjson::Value& value);

// A flag as stored in Redis or in the snapshot file (written by redge):
// updated_by, updated_at (ms) and version are read too.
std::optional<Flag> parseStoredFlag(std::string_view json);
std::optional<Flag> parseStoredFlag(const rapidjson::Value& value);

// What the store keeps for a flag before Redis adds the rest: every field
// but updated_at and version, as one object whose last byte is '}' (the
// write script appends those two inside it).
std::string flagBodyJson(const Flag& flag);

// The flag as the admin API and the CLI show it (updated_at as RFC 3339 UTC).
void writeFlagJson(const Flag& flag, JsonWriter& w);
std::string flagJson(const Flag& flag);

// Shortest text that reads back as the same double ("25", "12.5").
std::string formatNumber(double value);
// "2026-11-29T10:05:03.123Z".
std::string formatTimestampMs(int64_t ms);

}  // namespace redge
