// Flag evaluation and bucketing (see the header for the rules). The hash is
// written out here rather than taken from std::hash, whose value is the
// standard library's choice: buckets must agree across instances, builds
// and the other languages an operator may reproduce them in.

#include "flags/flag_evaluation.hpp"

#include <algorithm>
#include <cmath>

namespace redge {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

uint64_t fnv(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

// MurmurHash3's fmix64: FNV-1a alone leaves the low bits of similar keys
// ("user-1", "user-2") correlated, and the bucket is taken modulo.
uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

bool isTarget(const Flag& flag, std::string_view key) {
  return std::find(flag.targets.begin(), flag.targets.end(), key) != flag.targets.end();
}

size_t weightedVariants(const Flag& flag) {
  size_t n = 0;
  for (const auto& v : flag.variants) n += v.weight > 0 ? 1 : 0;
  return n;
}

}  // namespace

uint64_t flagHash(std::string_view a, std::string_view b, std::string_view c) {
  uint64_t h = fnv(kFnvOffset, a);
  h = fnv(h, ":");
  h = fnv(h, b);
  if (!c.empty()) {
    h = fnv(h, ":");
    h = fnv(h, c);
  }
  return mix(h);
}

uint32_t flagBucket(std::string_view flag, std::string_view key) {
  return static_cast<uint32_t>(flagHash(flag, key) % kFlagBuckets);
}

bool inRollout(uint32_t bucket, double percent) {
  // 12.345% covers buckets 0..12344: the percentage in thousandths, rounded
  // so that a rollout written as 0.1 + 0.2 is not a bucket short.
  auto limit = static_cast<int64_t>(std::llround(percent * 1000.0));
  return static_cast<int64_t>(bucket) < limit;
}

size_t pickVariant(const Flag& flag, std::string_view key) {
  int64_t total = 0;
  for (const auto& v : flag.variants) total += v.weight;
  if (total <= 0) return 0;
  auto point =
      static_cast<int64_t>(flagHash(flag.name, "variant", key) % static_cast<uint64_t>(total));
  for (size_t i = 0; i < flag.variants.size(); ++i) {
    point -= flag.variants[i].weight;
    if (point < 0) return i;
  }
  return flag.variants.size() - 1;
}

std::string_view flagReasonName(FlagReason r) {
  switch (r) {
    case FlagReason::Static:
      return "STATIC";
    case FlagReason::TargetingMatch:
      return "TARGETING_MATCH";
    case FlagReason::Split:
      return "SPLIT";
    case FlagReason::Disabled:
      return "DISABLED";
    case FlagReason::Default:
      return "DEFAULT";
    case FlagReason::Error:
      return "ERROR";
  }
  return "UNKNOWN";
}

std::string_view flagErrorCodeName(FlagErrorCode e) {
  switch (e) {
    case FlagErrorCode::None:
      return "";
    case FlagErrorCode::FlagNotFound:
      return "FLAG_NOT_FOUND";
    case FlagErrorCode::TargetingKeyMissing:
      return "TARGETING_KEY_MISSING";
  }
  return "GENERAL";
}

std::string_view FlagEvaluation::variantName() const {
  if (variant) return variant->name;
  return on ? "on" : "off";
}

std::string_view FlagEvaluation::valueJson() const {
  if (variant) return variant->value_json;
  return on ? "true" : "false";
}

bool flagOnForEveryone(const Flag& flag) {
  return flag.enabled && flag.rollout >= 100 && flag.targets.empty();
}

FlagEvaluation evaluateFlag(const Flag* flag, std::optional<std::string_view> key) {
  FlagEvaluation out;
  if (flag == nullptr) {
    out.reason = FlagReason::Error;
    out.error = FlagErrorCode::FlagNotFound;
    return out;
  }
  if (flagOnForEveryone(*flag) && flag->variants.empty()) {  // the common case, first
    out.on = true;
    out.reason = FlagReason::Static;
    return out;
  }
  const FlagVariant* off_variant = flag->variant(flag->default_variant);
  bool has_variants = !flag->variants.empty();
  auto off = [&](FlagReason reason, FlagErrorCode error = FlagErrorCode::None) {
    out.on = false;
    out.variant = off_variant;
    out.reason = reason;
    out.error = error;
    return out;
  };
  // Included: which variant the user gets.
  auto on = [&](FlagReason reason) {
    out.on = true;
    out.reason = reason;
    if (!has_variants) return out;
    if (weightedVariants(*flag) <= 1) {
      for (const auto& v : flag->variants) {
        if (v.weight > 0) out.variant = &v;
      }
      return out;
    }
    if (!key) return off(FlagReason::Error, FlagErrorCode::TargetingKeyMissing);
    out.variant = &flag->variants[pickVariant(*flag, *key)];
    if (reason == FlagReason::Static) out.reason = FlagReason::Split;
    return out;
  };

  if (!flag->enabled) return off(FlagReason::Disabled);
  if (key && !flag->targets.empty() && isTarget(*flag, *key)) {
    return on(FlagReason::TargetingMatch);
  }
  if (flag->rollout >= 100) return on(FlagReason::Static);
  if (!inRollout(0, flag->rollout)) return off(FlagReason::Default);  // rollout 0: nobody
  if (!key) return off(FlagReason::Error, FlagErrorCode::TargetingKeyMissing);
  if (inRollout(flagBucket(flag->name, *key), flag->rollout)) return on(FlagReason::Split);
  return off(FlagReason::Split);
}

}  // namespace redge
