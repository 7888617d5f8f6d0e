#pragma once
// Evaluating a flag for one user, and the bucketing underneath it. Pure: no
// I/O, no clock; the same answer on every instance and every run.
//
// Bucketing: a user's bucket for a flag is a stable 64-bit hash (FNV-1a,
// then the MurmurHash3 64-bit finaliser for avalanche) of
// "<flag name>:<stickiness value>", modulo 100000. The user is in a rollout
// of p percent when bucket < p * 1000, so growing p only adds users (a user
// in the first 10% stays in at 25%), and p takes steps of 0.001%. Which
// variant an included user gets is a second hash, of
// "<flag name>:variant:<stickiness value>", over the variants' weights, so
// variants split the included users by weight whatever the rollout is.
//
// Reasons, as OpenFeature names them:
//   DISABLED         the flag is off (its off value: false or default_variant)
//   TARGETING_MATCH  the user is listed in targets
//   STATIC           on for everyone: rollout 100, at most one variant weighted
//   SPLIT            the rollout or the variant weights decided, by bucket
//   DEFAULT          rollout 0: nobody is in, the off value
//   ERROR            with an error: no such flag, or no stickiness value
//                    where a bucket was needed (the off value)

#include <cstdint>
#include <optional>
#include <string_view>

#include "flags/flag.hpp"

namespace redge {

inline constexpr uint32_t kFlagBuckets = 100000;

uint64_t flagHash(std::string_view a, std::string_view b, std::string_view c = {});
// The user's rollout bucket, 0..99999.
uint32_t flagBucket(std::string_view flag, std::string_view key);
// Whether bucket `bucket` is inside a rollout of `percent` percent.
bool inRollout(uint32_t bucket, double percent);
// The variant index for an included user (the flag has variants).
size_t pickVariant(const Flag& flag, std::string_view key);

enum class FlagReason { Static, TargetingMatch, Split, Disabled, Default, Error };
enum class FlagErrorCode { None, FlagNotFound, TargetingKeyMissing };

std::string_view flagReasonName(FlagReason r);        // "STATIC", ...
std::string_view flagErrorCodeName(FlagErrorCode e);  // "FLAG_NOT_FOUND", ...

struct FlagEvaluation {
  bool on = false;                       // the user gets the feature
  const FlagVariant* variant = nullptr;  // with variants: the one served (on or off)
  FlagReason reason = FlagReason::Default;
  FlagErrorCode error = FlagErrorCode::None;

  // "on"/"off" for a boolean flag, else the variant's name.
  std::string_view variantName() const;
  // The value as JSON text: true/false, or the variant's value.
  std::string_view valueJson() const;
};

// On, whoever asks (enabled, rollout 100, no targets): no stickiness value is
// needed to evaluate it.
bool flagOnForEveryone(const Flag& flag);

// `flag` null: FLAG_NOT_FOUND. `key`: the user's stickiness value, if the
// caller has one.
FlagEvaluation evaluateFlag(const Flag* flag, std::optional<std::string_view> key);

}  // namespace redge
