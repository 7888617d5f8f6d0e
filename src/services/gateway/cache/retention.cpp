// The retention of a stored response in a self-expiring store (see
// retention.hpp).

#include "services/gateway/cache/retention.hpp"

#include <algorithm>

namespace redge {

int64_t retentionMs(const CacheResponseFacts& response, const CachePolicy& policy, int64_t now_ms) {
  const FreshnessLifetime lifetime = freshnessLifetime(response, policy);
  const int64_t fresh_left = lifetime.ms - currentAgeMs(response, now_ms);
  const CacheControl& cc = response.cache_control;
  int64_t stale_ms = 0;
  if (cc.stale_while_revalidate) stale_ms = std::max(stale_ms, *cc.stale_while_revalidate * 1000);
  if (cc.stale_if_error) stale_ms = std::max(stale_ms, *cc.stale_if_error * 1000);
  if (response.has_etag || response.last_modified_s) {
    stale_ms =
        std::max(stale_ms, std::clamp(lifetime.ms, kRevalidationKeepMinMs, kRevalidationKeepMaxMs));
  }
  if (stale_ms == 0) return fresh_left;
  return std::max<int64_t>(fresh_left, 0) + stale_ms;
}

}  // namespace redge
