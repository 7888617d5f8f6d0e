#pragma once
// The shared cache's decisions (RFC 9111 sections 3 and 4, RFC 5861): may a
// response be stored, how long it stays fresh, how old a stored response is,
// and what to do with a stored response for a new request (serve it, serve
// it stale, serve it stale and refresh it, revalidate it, or answer 504).
//
// Pure: header views and times in, values out. Times are wall-clock
// milliseconds since the epoch (HTTP dates are wall-clock seconds), passed in
// by the caller; nothing here reads a clock.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/http/http_request.hpp"
#include "net/http/http_response.hpp"
#include "services/gateway/cache/cache_control.hpp"
#include "services/gateway/cache/surrogate_control.hpp"

namespace redge {

// A route's cache settings that the policy reads.
struct CachePolicy {
  // The freshness lifetime of a response that states none (no max-age,
  // s-maxage or Expires); 0: none. It is the cache's heuristic (RFC 9111
  // 4.2.2) and, when set, replaces the Last-Modified one.
  int64_t default_ttl_ms = 0;
  // The cap on the Last-Modified heuristic (10% of Date - Last-Modified);
  // 0 switches that heuristic off.
  int64_t heuristic_max_ms = 24 * 3600 * 1000;
  // The route's own stale-while-revalidate and stale-if-error windows (RFC
  // 5861 grants by configuration, as RFC 9111 4.2.4 allows), used when the
  // response states none of its own; 0: none. must-revalidate,
  // proxy-revalidate, s-maxage and no-cache still forbid stale answers.
  int64_t stale_while_revalidate_ms = 0;
  int64_t stale_if_error_ms = 0;
};

// What the cache reads from a request, once per request.
struct CacheRequestFacts {
  HttpMethod method = HttpMethod::Get;
  CacheControl cache_control;
  // Pragma: no-cache on a request without Cache-Control; read as no-cache
  // (RFC 7234 5.4; RFC 9111 deprecates Pragma but HTTP/1.0 clients send it).
  bool pragma_no_cache = false;
  bool has_authorization = false;
};

CacheRequestFacts cacheRequestFacts(HttpMethod method, std::span<const HttpHeaderField> headers);

// What the cache reads from a response, when it arrives and again from a
// stored entry's headers, with the times of the exchange that produced it.
struct CacheResponseFacts {
  int status = 200;
  CacheControl cache_control;
  // The directives for the gateway; when they speak, they come first.
  SurrogateControl surrogate;
  // Date, or nothing when absent or invalid (the response time stands in).
  std::optional<int64_t> date_s;
  // Expires: present, and its time; present but invalid ("0") or given twice
  // with different values means already expired (RFC 9111 5.3, 4.2.1).
  bool expires_present = false;
  std::optional<int64_t> expires_s;
  std::optional<int64_t> last_modified_s;
  // Age (5.1): its delta-seconds; kDeltaSecondsMax when it is not exactly
  // one valid delta-seconds (stale on arrival: see cacheResponseFacts).
  int64_t age_s = 0;
  bool has_etag = false;
  bool has_set_cookie = false;
  bool vary_any = false;         // Vary: * (never matches a later request)
  int64_t request_time_ms = 0;   // when the request that fetched it was sent
  int64_t response_time_ms = 0;  // when its header section arrived

  bool operator==(const CacheResponseFacts&) const = default;
};

CacheResponseFacts cacheResponseFacts(int status, std::span<const HttpHeaderField> headers,
                                      int64_t request_time_ms, int64_t response_time_ms);

// Whose word set the freshness lifetime.
enum class FreshnessSource {
  SurrogateMaxAge,
  SMaxAge,
  MaxAge,
  Expires,
  RouteDefault,
  Heuristic,
  None
};

struct FreshnessLifetime {
  int64_t ms = 0;
  FreshnessSource source = FreshnessSource::None;
};

// Surrogate-Control's max-age for the gateway, else RFC 9111 4.2.1: s-maxage, else max-age, else
// Expires - Date; else, for a heuristically cacheable status or a public response, the route
// default or 10% of Date - Last-Modified (4.2.2); else 0.
FreshnessLifetime freshnessLifetime(const CacheResponseFacts& response, const CachePolicy& policy);

// RFC 9111 4.2.3: the current age of a stored response at `now_ms`.
int64_t currentAgeMs(const CacheResponseFacts& response, int64_t now_ms);

// Statuses a cache may give a heuristic lifetime (RFC 9110 15.1).
bool isHeuristicallyCacheableStatus(int status);

// Why a response is not stored; each has a stable code (storeRefusalCode)
// for metrics and the Cache-Status detail.
enum class StoreRefusal {
  None,
  Method,          // not GET or HEAD
  Status,          // a status whose caching rules the cache does not know
  PartialContent,  // 206: the cache does not combine ranges (RFC 9111 3.3)
  NoStore,         // no-store in the request or the response
  Private,         // private: not in a shared cache
  Authorization,   // request with Authorization, response does not allow it (3.5)
  SetCookie,       // Set-Cookie without public or s-maxage
  VaryAny,         // Vary: * never matches, storing it is useless
  NoFreshness,     // neither fresh for any time nor revalidatable
};

std::string_view storeRefusalCode(StoreRefusal refusal);

struct StoreDecision {
  bool store = false;
  StoreRefusal refusal = StoreRefusal::None;
  FreshnessLifetime lifetime;
};

// RFC 9111 3 for a shared cache, with the gateway's own rules: GET and HEAD
// only; Set-Cookie only with public or s-maxage; a response that is stale on
// arrival and has no validator (ETag, Last-Modified) or stale-* permission is
// not worth keeping.
StoreDecision decideStore(const CacheRequestFacts& request, const CacheResponseFacts& response,
                          const CachePolicy& policy);

// What to do with a stored response for a request.
enum class ReuseAction {
  ServeFresh,            // a hit
  ServeStale,            // stale, but the request's max-stale accepts it
  ServeStaleAndRefresh,  // stale-while-revalidate: serve now, refresh once in the background
  Revalidate,            // ask the origin (conditionally, with the entry's validators)
  Forward,               // the entry may not be used for this request: forward it as a miss
  GatewayTimeout,        // only-if-cached and nothing usable: answer 504 (RFC 9111 5.2.1.7)
};

// Why the action was chosen, for Cache-Status and metrics.
enum class ReuseReason {
  Fresh,
  Stale,            // stale, nothing lets it be served
  RequestNoCache,   // the request said no-cache (or Pragma: no-cache)
  ResponseNoCache,  // the stored response said no-cache
  RequestMaxAge,    // older than the request's max-age
  MinFresh,         // fresh for less than the request's min-fresh
  MustRevalidate,   // stale, and must-revalidate, proxy-revalidate or s-maxage forbid serving it
  MaxStale,         // served stale within the request's max-stale
  StaleWhileRevalidate,
  Authorization,  // the request has Authorization and the response did not allow sharing
};

std::string_view reuseReasonCode(ReuseReason reason);

struct ReuseDecision {
  ReuseAction action = ReuseAction::Revalidate;
  ReuseReason reason = ReuseReason::Stale;
  int64_t age_s = 0;  // the Age to send (RFC 9111 5.1)
  // Freshness left in seconds, negative when stale (the Cache-Status ttl).
  int64_t ttl_s = 0;
  bool fresh = false;
};

// RFC 9111 4 (constructing responses from caches), 4.2.4 (serving stale),
// 5.2.1 (request directives), 5.2.2 (response directives), RFC 5861 3.
// The caller has already matched the entry's URI and Vary.
ReuseDecision decideReuse(const CacheRequestFacts& request, const CacheResponseFacts& stored,
                          int64_t now_ms, const CachePolicy& policy);

// RFC 5861 4: whether a stale stored response may answer `request` at
// `now_ms` because the origin failed (no answer, or a status for which
// isStaleIfErrorStatus holds). stale-if-error from the response (or, when
// it states none, the policy's stale_if_error_ms) or the request, the
// larger window applying; never past must-revalidate, proxy-revalidate,
// s-maxage or no-cache.
bool mayServeStaleOnError(const CacheRequestFacts& request, const CacheResponseFacts& stored,
                          int64_t now_ms, const CachePolicy& policy);

// The origin answers RFC 5861 4 counts as errors: 500, 502, 503, 504.
bool isStaleIfErrorStatus(int status);

// A request the cache must answer from the store or with 504 (only-if-cached).
inline bool onlyIfCached(const CacheRequestFacts& request) {
  return request.cache_control.only_if_cached;
}

}  // namespace redge
