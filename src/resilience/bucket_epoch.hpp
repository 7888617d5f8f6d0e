#pragma once
// Integer helpers for the time-bucketed rolling windows (breaker, Retry-After
// estimator): division rounding towards minus infinity, so a clock set before
// its origin still maps to a distinct, ordered bucket epoch.

#include <cstdint>

namespace redge {

inline int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

inline int64_t floorMod(int64_t a, int64_t b) {
  return a - floorDiv(a, b) * b;
}

}  // namespace redge
