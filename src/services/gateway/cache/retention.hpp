#pragma once
// How long a stored response is worth keeping in a store that forgets by
// itself (Redis, with PX): while it is fresh, then as long as it may still
// be served stale (stale-while-revalidate, stale-if-error), and, when it has
// a validator, a while longer so that it can be revalidated with a 304
// rather than fetched whole. Pure.

#include <cstdint>

#include "services/gateway/cache/freshness.hpp"

namespace redge {

// A revalidatable entry stays at least this long past its freshness...
inline constexpr int64_t kRevalidationKeepMinMs = 60 * 1000;
// ...as long again as it was fresh, but no more than this.
inline constexpr int64_t kRevalidationKeepMaxMs = 3600 * 1000;

// Milliseconds to keep `response` from `now_ms`; 0 or less: not worth
// keeping (stale with nothing to revalidate it or serve it stale by).
int64_t retentionMs(const CacheResponseFacts& response, const CachePolicy& policy, int64_t now_ms);

}  // namespace redge
