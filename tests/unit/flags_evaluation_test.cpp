// Flag evaluation: every reason OpenFeature names as redge reaches it
// (DISABLED, TARGETING_MATCH, STATIC, SPLIT, DEFAULT, ERROR with its code),
// the value and variant served on and off, for boolean and variant flags.

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "flags/flag.hpp"
#include "flags/flag_evaluation.hpp"

using redge::evaluateFlag;
using redge::Flag;
using redge::flagBucket;
using redge::FlagErrorCode;
using redge::FlagEvaluation;
using redge::FlagReason;
using redge::FlagVariant;
using redge::inRollout;

namespace {

Flag boolFlag(bool enabled, double rollout = 100) {
  Flag f;
  f.name = "feature";
  f.enabled = enabled;
  f.rollout = rollout;
  return f;
}

Flag variantFlag(bool enabled, double rollout = 100) {
  Flag f = boolFlag(enabled, rollout);
  f.variants = {FlagVariant{"control", 1, "\"control\""}, FlagVariant{"treatment", 1, "{\"x\":1}"}};
  f.default_variant = "control";
  return f;
}

// A key inside (or outside) `flag`'s rollout.
std::string keyWhere(const Flag& flag, bool inside) {
  for (int i = 0;; ++i) {
    std::string k = "k";
    k += std::to_string(i);
    if (inRollout(flagBucket(flag.name, k), flag.rollout) == inside) return k;
  }
}

}  // namespace

TEST_CASE("flags evaluation: no such flag is FLAG_NOT_FOUND and off", "[flags]") {
  FlagEvaluation e = evaluateFlag(nullptr, "u");
  CHECK_FALSE(e.on);
  CHECK(e.reason == FlagReason::Error);
  CHECK(e.error == FlagErrorCode::FlagNotFound);
  CHECK(redge::flagErrorCodeName(e.error) == "FLAG_NOT_FOUND");
  CHECK(e.valueJson() == "false");
}

TEST_CASE("flags evaluation: a disabled flag serves its off value as DISABLED", "[flags]") {
  Flag b = boolFlag(false);
  b.targets = {"vip"};  // targets do not override the switch
  for (std::optional<std::string_view> key :
       {std::optional<std::string_view>("vip"), std::optional<std::string_view>()}) {
    FlagEvaluation e = evaluateFlag(&b, key);
    CHECK_FALSE(e.on);
    CHECK(e.reason == FlagReason::Disabled);
    CHECK(e.error == FlagErrorCode::None);
    CHECK(e.valueJson() == "false");
    CHECK(e.variantName() == "off");
  }
  Flag v = variantFlag(false);
  FlagEvaluation e = evaluateFlag(&v, "u");
  CHECK(e.reason == FlagReason::Disabled);
  CHECK(e.variantName() == "control");
  CHECK(e.valueJson() == "\"control\"");
  CHECK(redge::flagReasonName(e.reason) == "DISABLED");
}

TEST_CASE("flags evaluation: on for everyone is STATIC even without a key", "[flags]") {
  Flag b = boolFlag(true);
  for (std::optional<std::string_view> key :
       {std::optional<std::string_view>("u"), std::optional<std::string_view>()}) {
    FlagEvaluation e = evaluateFlag(&b, key);
    CHECK(e.on);
    CHECK(e.reason == FlagReason::Static);
    CHECK(e.valueJson() == "true");
    CHECK(e.variantName() == "on");
  }
  // One weighted variant: everyone gets it, no bucket needed.
  Flag v = variantFlag(true);
  v.variants[0].weight = 0;
  FlagEvaluation e = evaluateFlag(&v, std::nullopt);
  CHECK(e.on);
  CHECK(e.reason == FlagReason::Static);
  CHECK(e.variantName() == "treatment");
  CHECK(e.valueJson() == "{\"x\":1}");
}

TEST_CASE("flags evaluation: a partial rollout is SPLIT in and out by bucket", "[flags]") {
  Flag b = boolFlag(true, 30);
  FlagEvaluation in = evaluateFlag(&b, keyWhere(b, true));
  CHECK(in.on);
  CHECK(in.reason == FlagReason::Split);
  FlagEvaluation out = evaluateFlag(&b, keyWhere(b, false));
  CHECK_FALSE(out.on);
  CHECK(out.reason == FlagReason::Split);
  CHECK(out.valueJson() == "false");
  // A variant flag out of the rollout serves its default variant.
  Flag v = variantFlag(true, 30);
  FlagEvaluation vout = evaluateFlag(&v, keyWhere(v, false));
  CHECK_FALSE(vout.on);
  CHECK(vout.variantName() == "control");
  // Two weighted variants at 100%: SPLIT picks one by the key.
  Flag all = variantFlag(true);
  FlagEvaluation pick = evaluateFlag(&all, "someone");
  CHECK(pick.on);
  CHECK(pick.reason == FlagReason::Split);
  CHECK(pick.variant == &all.variants[redge::pickVariant(all, "someone")]);
}

TEST_CASE("flags evaluation: rollout 0 is DEFAULT for everyone", "[flags]") {
  Flag b = boolFlag(true, 0);
  FlagEvaluation e = evaluateFlag(&b, "u");
  CHECK_FALSE(e.on);
  CHECK(e.reason == FlagReason::Default);
  CHECK(evaluateFlag(&b, std::nullopt).reason == FlagReason::Default);
}

TEST_CASE("flags evaluation: a listed target is TARGETING_MATCH whatever its bucket", "[flags]") {
  Flag b = boolFlag(true, 0);
  b.targets = {"alice"};
  FlagEvaluation e = evaluateFlag(&b, "alice");
  CHECK(e.on);
  CHECK(e.reason == FlagReason::TargetingMatch);
  CHECK_FALSE(evaluateFlag(&b, "bob").on);
  Flag v = variantFlag(true, 0);
  v.targets = {"alice"};
  FlagEvaluation ve = evaluateFlag(&v, "alice");
  CHECK(ve.on);
  CHECK(ve.reason == FlagReason::TargetingMatch);
  CHECK(ve.variant == &v.variants[redge::pickVariant(v, "alice")]);
}

TEST_CASE("flags evaluation: a split without a key is TARGETING_KEY_MISSING and off", "[flags]") {
  Flag b = boolFlag(true, 50);
  FlagEvaluation e = evaluateFlag(&b, std::nullopt);
  CHECK_FALSE(e.on);
  CHECK(e.reason == FlagReason::Error);
  CHECK(e.error == FlagErrorCode::TargetingKeyMissing);
  CHECK(redge::flagErrorCodeName(e.error) == "TARGETING_KEY_MISSING");
  Flag v = variantFlag(true);
  FlagEvaluation ve = evaluateFlag(&v, std::nullopt);
  CHECK(ve.error == FlagErrorCode::TargetingKeyMissing);
  CHECK(ve.variantName() == "control");
}
