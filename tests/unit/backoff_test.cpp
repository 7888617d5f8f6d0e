// ExponentialBackoff: exact delays for known inputs, then the promises over a
// grid of settings, attempts and random numbers: within [min/2, max] (and at
// least 1 ms), non-decreasing in the attempt, capped at max, and no overflow
// however large the attempt.

#include "resilience/backoff.hpp"

#include <catch2/catch.hpp>
#include <climits>
#include <cstdint>
#include <utility>
#include <vector>

namespace redge {

TEST_CASE("backoff: exact delays with equal jitter", "[backoff]") {
  const ExponentialBackoff b(100, 30000);
  // attempt 0: step 100, half fixed, half random.
  CHECK(b.delayMs(0, 0.0) == 50);
  CHECK(b.delayMs(0, 0.5) == 75);
  CHECK(b.delayMs(0, 0.999) == 99);
  // attempt 1: step 200.
  CHECK(b.delayMs(1, 0.0) == 100);
  CHECK(b.delayMs(1, 0.5) == 150);
  CHECK(b.delayMs(1, 0.999) == 199);
  // attempt 8: step 25600.
  CHECK(b.delayMs(8, 0.0) == 12800);
  // attempt 9: step 51200, capped to 30000.
  CHECK(b.delayMs(9, 0.0) == 15000);
  CHECK(b.delayMs(9, 0.5) == 22500);
  CHECK(b.delayMs(9, 0.999) == 29985);
  CHECK(b.delayMs(40, 0.0) == 15000);
}

TEST_CASE("backoff: the random number is clamped to [0, 1]", "[backoff]") {
  const ExponentialBackoff b(100, 1000);
  CHECK(b.delayMs(0, -5.0) == b.delayMs(0, 0.0));
  CHECK(b.delayMs(0, 1.0) == 100);
  CHECK(b.delayMs(0, 7.0) == 100);
  CHECK(b.delayMs(20, 1.0) == 1000);
  CHECK(b.delayMs(20, 2.0) == 1000);
}

TEST_CASE("backoff: a negative attempt is the first one", "[backoff]") {
  const ExponentialBackoff b(100, 1000);
  CHECK(b.delayMs(-1, 0.0) == b.delayMs(0, 0.0));
  CHECK(b.delayMs(INT_MIN, 0.5) == b.delayMs(0, 0.5));
}

TEST_CASE("backoff: never below 1 ms", "[backoff]") {
  const ExponentialBackoff b(1, 1);
  for (int attempt = 0; attempt <= 40; ++attempt) {
    CHECK(b.delayMs(attempt, 0.0) == 1);
    CHECK(b.delayMs(attempt, 0.999) == 1);
  }
}

TEST_CASE("backoff: bounds, monotony and cap over a grid", "[backoff]") {
  // Settings within what the configuration allows (1 ms .. one day), some odd
  // so halving rounds, and one where min exceeds max.
  const std::vector<std::pair<int64_t, int64_t>> settings{
      {100, 30000}, {1, 5000},  {1000, 1000}, {3, 10},         {7, 7919},
      {250, 5000},  {1, 1},     {2, 3},       {1, 86'400'000}, {86'400'000, 86'400'000},
      {5000, 100},  {999, 1000}};
  const double randoms[] = {0.0, 0.5, 0.999};

  for (const auto& [min_ms, max_ms] : settings) {
    const ExponentialBackoff b(min_ms, max_ms);
    for (double r : randoms) {
      int64_t previous = 0;
      for (int attempt = 0; attempt <= 40; ++attempt) {
        const int64_t d = b.delayMs(attempt, r);
        INFO("min=" << min_ms << " max=" << max_ms << " attempt=" << attempt << " r=" << r
                    << " delay=" << d);
        CHECK(d >= 1);
        CHECK(d >= std::min(min_ms, max_ms) / 2);
        CHECK(d <= max_ms);
        CHECK(d >= previous);
        previous = d;
      }
      // Once the step has reached max, the delay stays put: capped.
      const int64_t capped = b.delayMs(40, r);
      INFO("min=" << min_ms << " max=" << max_ms << " r=" << r);
      CHECK(b.delayMs(1000, r) == capped);
      CHECK(b.delayMs(INT_MAX, r) == capped);
      CHECK(capped >= max_ms / 2);
    }
  }
}

TEST_CASE("backoff: no overflow at huge attempts or ceilings", "[backoff]") {
  SECTION("huge attempts") {
    const ExponentialBackoff b(1, 86'400'000);
    CHECK(b.delayMs(INT_MAX, 0.0) == 43'200'000);
    CHECK(b.delayMs(INT_MAX, 0.999) <= 86'400'000);
    CHECK(b.delayMs(INT_MAX, 0.999) > 86'000'000);
  }
  SECTION("a ceiling near half of int64") {
    const int64_t max_ms = INT64_MAX / 2;
    const ExponentialBackoff b(1000, max_ms);
    int64_t previous = 0;
    for (int attempt = 0; attempt <= 100; ++attempt) {
      const int64_t d = b.delayMs(attempt, 0.5);
      INFO("attempt " << attempt << " delay " << d);
      CHECK(d >= 500);
      CHECK(d <= max_ms);
      CHECK(d >= previous);
      previous = d;
    }
    CHECK(b.delayMs(INT_MAX, 0.0) == max_ms / 2);
  }
}

TEST_CASE("backoff: kCeilingAttempt is at the ceiling for the widest settings", "[backoff]") {
  // The smallest first step and the largest ceiling the config accepts.
  const ExponentialBackoff b(1, 86'400'000);
  for (double r : {0.0, 0.5, 0.999}) {
    INFO("random " << r);
    CHECK(b.delayMs(ExponentialBackoff::kCeilingAttempt, r) == b.delayMs(INT_MAX, r));
  }
}

}  // namespace redge
