#pragma once
// The Cache-Status response field (RFC 9211) as the gateway's cache writes
// it: one list member named "redge" with the parameters saying what the
// cache did ("redge; hit; ttl=42", "redge; fwd=miss; stored"). Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace redge {

inline constexpr std::string_view kCacheStatusName = "redge";

// RFC 9211 2.2: why the request went forward.
enum class CacheForwardReason {
  Bypass,    // the cache was configured not to handle this request
  Method,    // the method is not cacheable
  UriMiss,   // nothing stored for the URI
  VaryMiss,  // stored responses for the URI, none selected by Vary
  Miss,      // the cache did not find a usable response (either of the above)
  Request,   // a usable response, but the request's directives forbade its use
  Stale,     // the stored response was stale and revalidated
  Partial,   // only part of the response was stored
};

std::string_view cacheForwardReasonToken(CacheForwardReason reason);

// One cache's member of the field. `hit` and `forward` are exclusive (2.1,
// 2.2); the rest is optional.
struct CacheStatus {
  bool hit = false;
  std::optional<CacheForwardReason> forward{};
  std::optional<int> forward_status{};  // fwd-status: the status the next hop gave
  std::optional<int64_t> ttl_s{};       // freshness left, negative when stale
  bool stored = false;                  // the forwarded response was stored
  bool collapsed = false;               // the request was collapsed with another
  std::string_view detail{};            // free text, written as a token or a string
};

// "redge; hit; ttl=42" / "redge; fwd=miss; fwd-status=200; stored".
std::string cacheStatusValue(const CacheStatus& status);

// The field value after this cache: an upstream cache's members kept, ours
// appended last (2: the member closest to the user comes last).
std::string appendCacheStatus(std::string_view upstream_value, const CacheStatus& status);

}  // namespace redge
