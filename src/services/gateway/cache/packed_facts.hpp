#pragma once
// What the cache read from a stored response's header section, packed into
// a few bytes kept in the entry itself, so that a hit decides freshness
// without parsing Cache-Control, Surrogate-Control and three dates again on
// every request. Pure.
//
// Packing is exact or refused: a response whose directives do not fit
// (qualified no-cache or private naming fields, request-only directives)
// is not packed, and its entry is parsed on each use as before.

#include <cstdint>

#include "services/gateway/cache/freshness.hpp"

namespace redge {

struct PackedResponseFacts {
  uint32_t flags = 0;  // 0: nothing packed
  uint32_t max_age = 0;
  uint32_t s_maxage = 0;
  uint32_t stale_while_revalidate = 0;
  uint32_t stale_if_error = 0;
  uint32_t surrogate_max_age = 0;
  uint32_t age_s = 0;
  int64_t date_s = 0;
  int64_t expires_s = 0;
  int64_t last_modified_s = 0;
};

// Packs `facts` (its status and times are kept by the caller); false when it
// cannot be packed exactly.
bool packResponseFacts(const CacheResponseFacts& facts, PackedResponseFacts& out);

// The facts `packed` holds, with the status and times given; `packed` must
// come from packResponseFacts (flags not 0).
CacheResponseFacts unpackResponseFacts(const PackedResponseFacts& packed, int status,
                                       int64_t request_time_ms, int64_t response_time_ms);

}  // namespace redge
