// Flag bucketing: the hash pinned to its published definition (other
// languages reproduce it from the README), monotonic ramps, uniformity of
// rollouts and variant weights within 1% over 100k keys, and independence
// between flags and between a flag's rollout and its variants.

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "flags/flag.hpp"
#include "flags/flag_evaluation.hpp"

using redge::Flag;
using redge::flagBucket;
using redge::FlagVariant;
using redge::inRollout;
using redge::pickVariant;

namespace {

constexpr int kKeys = 100000;

std::string userKey(int i) {
  return "user-" + std::to_string(i);
}

}  // namespace

TEST_CASE("flags bucket: the published hash (FNV-1a 64 then fmix64 mod 100000)", "[flags]") {
  // Computed by an independent implementation of the README's definition.
  CHECK(flagBucket("set_enabled", "alice") == 70055);
  CHECK(flagBucket("set_enabled", "bob") == 34817);
  CHECK(flagBucket("checkout.v2", "10.0.0.7") == 9124);
  // Stable across calls, and the flag name is part of it.
  CHECK(flagBucket("a", "k") == flagBucket("a", "k"));
  CHECK(flagBucket("a", "k") != flagBucket("b", "k"));
}

TEST_CASE("flags bucket: a ramp only adds users", "[flags]") {
  const std::vector<double> ramp = {0, 0.5, 1, 5, 10, 25, 33.333, 50, 75, 99.999, 100};
  int violations = 0;
  for (int i = 0; i < 20000; ++i) {
    uint32_t b = flagBucket("ramp", userKey(i));
    bool was_in = false;
    for (double p : ramp) {
      bool in = inRollout(b, p);
      if (was_in && !in) ++violations;
      was_in = in;
    }
    CHECK_FALSE(inRollout(b, 0));
    CHECK(inRollout(b, 100));
  }
  CHECK(violations == 0);
}

TEST_CASE("flags bucket: rollouts are uniform within 1% over 100k keys", "[flags]") {
  std::vector<uint32_t> buckets;
  buckets.reserve(kKeys);
  for (int i = 0; i < kKeys; ++i) buckets.push_back(flagBucket("uniform", userKey(i)));
  for (double p : {1.0, 10.0, 25.0, 50.0, 90.0}) {
    int in = 0;
    for (uint32_t b : buckets) in += inRollout(b, p) ? 1 : 0;
    double share = 100.0 * in / kKeys;
    INFO("rollout " << p << "% took " << share << "%");
    CHECK(std::abs(share - p) <= 1.0);
  }
  // Each tenth of the bucket space holds a tenth of the users.
  std::vector<int> deciles(10, 0);
  for (uint32_t b : buckets) ++deciles[b / 10000];
  for (int d = 0; d < 10; ++d) {
    INFO("decile " << d << ": " << deciles[d]);
    CHECK(std::abs(100.0 * deciles[d] / kKeys - 10.0) <= 1.0);
  }
  // Client addresses, the default stickiness, spread as well.
  int in = 0;
  for (int i = 0; i < kKeys; ++i) {
    std::string ip = "10." + std::to_string(i / 65536) + "." + std::to_string((i / 256) % 256) +
                     "." + std::to_string(i % 256);
    in += inRollout(flagBucket("uniform", ip), 30) ? 1 : 0;
  }
  CHECK(std::abs(100.0 * in / kKeys - 30.0) <= 1.0);
}

TEST_CASE("flags bucket: two flags pick their users independently", "[flags]") {
  int both = 0;
  for (int i = 0; i < kKeys; ++i) {
    bool a = inRollout(flagBucket("flag-a", userKey(i)), 50);
    bool b = inRollout(flagBucket("flag-b", userKey(i)), 50);
    both += a && b ? 1 : 0;
  }
  CHECK(std::abs(100.0 * both / kKeys - 25.0) <= 1.0);
}

TEST_CASE("flags bucket: variants split by weight independently of the rollout", "[flags]") {
  Flag flag;
  flag.name = "colors";
  flag.variants = {FlagVariant{"red", 1, "\"red\""}, FlagVariant{"green", 3, "\"green\""},
                   FlagVariant{"off", 0, "\"off\""}};
  std::vector<int> all(3, 0), first_tenth(3, 0);
  int tenth = 0;
  for (int i = 0; i < kKeys; ++i) {
    size_t v = pickVariant(flag, userKey(i));
    ++all[v];
    if (inRollout(flagBucket(flag.name, userKey(i)), 10)) {
      ++first_tenth[v];
      ++tenth;
    }
  }
  CHECK(all[2] == 0);  // weight 0 is never picked
  CHECK(std::abs(100.0 * all[0] / kKeys - 25.0) <= 1.0);
  CHECK(std::abs(100.0 * all[1] / kKeys - 75.0) <= 1.0);
  // Inside a 10% rollout the split is still 1:3 (a variant is not a slice of
  // the rollout's buckets); ~10k users, so 2% of tolerance.
  CHECK(std::abs(100.0 * first_tenth[0] / tenth - 25.0) <= 2.0);
}
