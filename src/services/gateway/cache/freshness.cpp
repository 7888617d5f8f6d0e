// The freshness model of the gateway's shared cache:
// - RFC 9111 3 (storing responses) and 3.5 (Authorization), 5.2.2.3
//   (must-understand overrides no-store for an understood status);
// - 4.2.1 (freshness lifetime), 4.2.2 (heuristic freshness), 4.2.3 (age),
//   4.2.4 (when stale responses may be served), 5.1 (Age), 5.3 (Expires);
// - 5.2.1 request directives (max-age, max-stale, min-fresh, no-cache,
//   no-store, only-if-cached), 5.2.2 response directives;
// - RFC 5861 (stale-while-revalidate, stale-if-error).
// Times are milliseconds so a route's default_ttl_ms keeps its precision;
// header values are seconds, and every product of the two saturates rather
// than overflowing on a hostile 2^31.

#include "services/gateway/cache/freshness.hpp"

#include <algorithm>
#include <array>

#include "core/ascii.hpp"
#include "net/http/http_date.hpp"
#include "services/gateway/cache/field_values.hpp"

namespace redge {
namespace {

constexpr int64_t kMsPerSecond = 1000;

// Statuses whose caching requirements this cache implements (RFC 9110 15):
// the final statuses it may store. 206 is known but refused on its own
// (PartialContent); 304 updates an entry and is never stored as one.
constexpr std::array<int, 34> kUnderstoodStatuses = {
    200, 201, 202, 203, 204, 205, 300, 301, 302, 303, 307, 308, 400, 401, 403, 404, 405,
    406, 409, 410, 411, 412, 413, 414, 415, 416, 421, 422, 426, 500, 501, 502, 503, 504};

bool isUnderstoodStatus(int status) {
  return status == 206 || std::find(kUnderstoodStatuses.begin(), kUnderstoodStatuses.end(),
                                    status) != kUnderstoodStatuses.end();
}

bool containsFieldName(const std::vector<std::string>& names, std::string_view name) {
  for (const std::string& n : names) {
    if (equalsIgnoreCase(n, name)) return true;
  }
  return false;
}

int64_t secondsToMs(int64_t s) {
  return s * kMsPerSecond;
}  // s <= 2^31: no overflow

// Floor division for the Age and ttl values (ages are never negative, ttl may be).
int64_t msToSecondsFloor(int64_t ms) {
  return ms >= 0 ? ms / kMsPerSecond : -((-ms + kMsPerSecond - 1) / kMsPerSecond);
}

// A stale response may be served only where nothing in the response forbids
// it (RFC 9111 4.2.4): must-revalidate, proxy-revalidate and, for a shared
// cache, s-maxage (which implies proxy-revalidate, 5.2.2.10); no-cache
// never reaches this point without revalidation.
bool staleForbidden(const CacheControl& cc) {
  return cc.must_revalidate || cc.proxy_revalidate || cc.s_maxage.has_value() ||
         cc.no_cache_unqualified;
}

}  // namespace

CacheRequestFacts cacheRequestFacts(HttpMethod method, std::span<const HttpHeaderField> headers) {
  CacheRequestFacts facts;
  facts.method = method;
  facts.cache_control = parseCacheControl(headers);
  if (!facts.cache_control.present) {
    forEachFieldLine(headers, "pragma", [&](std::string_view value) {
      forEachListMember(value, [&](std::string_view m) {
        if (equalsIgnoreCase(m, "no-cache")) facts.pragma_no_cache = true;
      });
    });
  }
  facts.has_authorization = hasField(headers, "authorization");
  return facts;
}

CacheResponseFacts cacheResponseFacts(int status, std::span<const HttpHeaderField> headers,
                                      int64_t request_time_ms, int64_t response_time_ms) {
  CacheResponseFacts facts;
  facts.status = status;
  facts.request_time_ms = request_time_ms;
  facts.response_time_ms = response_time_ms;
  facts.cache_control = parseCacheControl(headers);
  facts.surrogate = parseSurrogateControl(headers);
  const int64_t now_s = response_time_ms / kMsPerSecond;

  if (std::optional<std::string_view> date = firstFieldLine(headers, "date")) {
    facts.date_s = parseHttpDate(*date, now_s);
  }
  if (std::optional<std::string_view> lm = firstFieldLine(headers, "last-modified")) {
    facts.last_modified_s = parseHttpDate(*lm, now_s);
  }
  // Expires: every line must parse and agree, else the response is already
  // expired (5.3: an invalid date is in the past; 4.2.1: duplicates may make
  // it stale).
  bool expires_valid = true;
  forEachFieldLine(headers, "expires", [&](std::string_view value) {
    std::optional<int64_t> t = parseHttpDate(value, now_s);
    if (!t || (facts.expires_present && facts.expires_s && *facts.expires_s != *t)) {
      expires_valid = false;
    }
    if (!facts.expires_present) facts.expires_s = t;
    facts.expires_present = true;
  });
  if (!expires_valid) facts.expires_s.reset();

  // Age (5.1): one delta-seconds. Anything else (a list, two lines, a sign,
  // a fraction, a parameter, letters) says nothing trustworthy about how old
  // the response is, so it is taken as old as can be: stale on arrival, as
  // the HTTP cache test suite's age-parse cases expect of a shared cache,
  // rather than as new (which would serve a possibly old answer as fresh).
  int age_lines = 0;
  int age_members = 0;
  std::optional<int64_t> age;
  forEachFieldLine(headers, "age", [&](std::string_view line) {
    ++age_lines;
    forEachListMember(line, [&](std::string_view m) {
      if (++age_members == 1) age = parseDeltaSeconds(m);
    });
  });
  if (age_lines > 0) {
    facts.age_s = age_lines == 1 && age_members == 1 && age ? *age : kDeltaSecondsMax;
  }

  facts.has_etag = hasField(headers, "etag");
  facts.has_set_cookie = hasField(headers, "set-cookie");
  forEachFieldLine(headers, "vary", [&](std::string_view value) {
    forEachListMember(value, [&](std::string_view m) {
      if (m == "*") facts.vary_any = true;
    });
  });
  return facts;
}

bool isHeuristicallyCacheableStatus(int status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 206:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

FreshnessLifetime freshnessLifetime(const CacheResponseFacts& response, const CachePolicy& policy) {
  const CacheControl& cc = response.cache_control;
  if (response.surrogate.max_age) {
    return {secondsToMs(*response.surrogate.max_age), FreshnessSource::SurrogateMaxAge};
  }
  if (cc.s_maxage) {
    return {cc.freshness_invalid ? 0 : secondsToMs(*cc.s_maxage), FreshnessSource::SMaxAge};
  }
  if (cc.max_age) {
    return {cc.freshness_invalid ? 0 : secondsToMs(*cc.max_age), FreshnessSource::MaxAge};
  }
  if (response.expires_present) {
    if (!response.expires_s) return {0, FreshnessSource::Expires};
    // Without a Date, the time the response arrived is its date (RFC 9110 6.6.1).
    const int64_t date_ms =
        response.date_s ? secondsToMs(*response.date_s) : response.response_time_ms;
    const int64_t expires_ms = secondsToMs(
        std::clamp<int64_t>(*response.expires_s, -kDeltaSecondsMax * 64, kDeltaSecondsMax * 64));
    return {std::max<int64_t>(0, expires_ms - date_ms), FreshnessSource::Expires};
  }
  // Heuristics only for statuses that allow them or an explicit public (4.2.2).
  if (!isHeuristicallyCacheableStatus(response.status) && !cc.is_public) {
    return {0, FreshnessSource::None};
  }
  if (policy.default_ttl_ms > 0) return {policy.default_ttl_ms, FreshnessSource::RouteDefault};
  if (policy.heuristic_max_ms > 0 && response.last_modified_s) {
    const int64_t date_s = response.date_s.value_or(response.response_time_ms / kMsPerSecond);
    const int64_t since_modified_s = date_s - *response.last_modified_s;
    if (since_modified_s > 0) {
      // 10% of the time since the last change (4.2.2's "typical setting").
      const int64_t ms = std::min(since_modified_s, int64_t{1} << 40) * 100;
      return {std::min(ms, policy.heuristic_max_ms), FreshnessSource::Heuristic};
    }
  }
  return {0, FreshnessSource::None};
}

int64_t currentAgeMs(const CacheResponseFacts& response, int64_t now_ms) {
  // RFC 9111 4.2.3, in milliseconds.
  const int64_t date_ms =
      response.date_s ? secondsToMs(std::clamp<int64_t>(*response.date_s, -kDeltaSecondsMax * 64,
                                                        kDeltaSecondsMax * 64))
                      : response.response_time_ms;
  const int64_t apparent_age = std::max<int64_t>(0, response.response_time_ms - date_ms);
  const int64_t response_delay =
      std::max<int64_t>(0, response.response_time_ms - response.request_time_ms);
  const int64_t corrected_age_value = secondsToMs(response.age_s) + response_delay;
  const int64_t corrected_initial_age = std::max(apparent_age, corrected_age_value);
  const int64_t resident_time = std::max<int64_t>(0, now_ms - response.response_time_ms);
  return corrected_initial_age + resident_time;
}

std::string_view storeRefusalCode(StoreRefusal refusal) {
  switch (refusal) {
    case StoreRefusal::None:
      return "stored";
    case StoreRefusal::Method:
      return "method";
    case StoreRefusal::Status:
      return "status";
    case StoreRefusal::PartialContent:
      return "partial_content";
    case StoreRefusal::NoStore:
      return "no_store";
    case StoreRefusal::Private:
      return "private";
    case StoreRefusal::Authorization:
      return "authorization";
    case StoreRefusal::SetCookie:
      return "set_cookie";
    case StoreRefusal::VaryAny:
      return "vary_any";
    case StoreRefusal::NoFreshness:
      return "no_freshness";
  }
  return "unknown";
}

StoreDecision decideStore(const CacheRequestFacts& request, const CacheResponseFacts& response,
                          const CachePolicy& policy) {
  StoreDecision d;
  auto refuse = [&](StoreRefusal r) {
    d.store = false;
    d.refusal = r;
    return d;
  };
  const CacheControl& cc = response.cache_control;
  // A HEAD answer has no content to serve a later GET; HEAD requests are
  // answered from stored GET responses instead.
  if (request.method != HttpMethod::Get) return refuse(StoreRefusal::Method);
  if (response.status == 206) return refuse(StoreRefusal::PartialContent);
  const bool understood = isUnderstoodStatus(response.status);
  if (!understood) return refuse(StoreRefusal::Status);
  if (request.cache_control.no_store) return refuse(StoreRefusal::NoStore);
  if (response.surrogate.no_store) return refuse(StoreRefusal::NoStore);
  // A lifetime in Surrogate-Control is the origin telling its own surrogate
  // to keep the answer, whatever Cache-Control tells other caches.
  const bool surrogate_keeps = response.surrogate.max_age.has_value();
  // 5.2.2.3: a cache that understands the status ignores no-store beside
  // must-understand (the status is understood here, else refused above).
  if (cc.no_store && !cc.must_understand && !surrogate_keeps) {
    return refuse(StoreRefusal::NoStore);
  }
  if (cc.private_unqualified && !surrogate_keeps) return refuse(StoreRefusal::Private);
  if (request.has_authorization && !cc.is_public && !cc.s_maxage && !cc.must_revalidate) {
    return refuse(StoreRefusal::Authorization);
  }
  // Set-Cookie makes the answer one client's, unless the origin says the
  // response is shared anyway, or keeps the cookie out of the stored copy.
  if (response.has_set_cookie && !cc.is_public && !cc.s_maxage &&
      !containsFieldName(cc.private_fields, "set-cookie") &&
      !containsFieldName(cc.no_cache_fields, "set-cookie")) {
    return refuse(StoreRefusal::SetCookie);
  }
  if (response.vary_any) return refuse(StoreRefusal::VaryAny);

  d.lifetime = freshnessLifetime(response, policy);
  const bool explicit_freshness = d.lifetime.source == FreshnessSource::SurrogateMaxAge ||
                                  d.lifetime.source == FreshnessSource::SMaxAge ||
                                  d.lifetime.source == FreshnessSource::MaxAge ||
                                  d.lifetime.source == FreshnessSource::Expires;
  // RFC 9111 3: one of public, an explicit lifetime, or a heuristically
  // cacheable status.
  if (!explicit_freshness && !cc.is_public && !isHeuristicallyCacheableStatus(response.status)) {
    return refuse(StoreRefusal::NoFreshness);
  }
  const bool validator = response.has_etag || response.last_modified_s.has_value();
  const bool stale_use =
      !staleForbidden(cc) && (cc.stale_while_revalidate || cc.stale_if_error ||
                              policy.stale_while_revalidate_ms > 0 || policy.stale_if_error_ms > 0);
  const bool fresh_on_arrival = d.lifetime.ms > currentAgeMs(response, response.response_time_ms);
  if (!fresh_on_arrival && !validator && !stale_use) return refuse(StoreRefusal::NoFreshness);
  d.store = true;
  d.refusal = StoreRefusal::None;
  return d;
}

std::string_view reuseReasonCode(ReuseReason reason) {
  switch (reason) {
    case ReuseReason::Fresh:
      return "fresh";
    case ReuseReason::Stale:
      return "stale";
    case ReuseReason::RequestNoCache:
      return "request_no_cache";
    case ReuseReason::ResponseNoCache:
      return "response_no_cache";
    case ReuseReason::RequestMaxAge:
      return "request_max_age";
    case ReuseReason::MinFresh:
      return "min_fresh";
    case ReuseReason::MustRevalidate:
      return "must_revalidate";
    case ReuseReason::MaxStale:
      return "max_stale";
    case ReuseReason::StaleWhileRevalidate:
      return "stale_while_revalidate";
    case ReuseReason::Authorization:
      return "authorization";
  }
  return "unknown";
}

ReuseDecision decideReuse(const CacheRequestFacts& request, const CacheResponseFacts& stored,
                          int64_t now_ms, const CachePolicy& policy) {
  const CacheControl& req = request.cache_control;
  const CacheControl& res = stored.cache_control;
  ReuseDecision d;
  const int64_t age_ms = currentAgeMs(stored, now_ms);
  const int64_t lifetime_ms = freshnessLifetime(stored, policy).ms;
  d.age_s = std::min(msToSecondsFloor(age_ms), kDeltaSecondsMax);
  d.ttl_s = msToSecondsFloor(lifetime_ms - age_ms);
  d.fresh = lifetime_ms > age_ms;  // 4.2: fresh while lifetime > current age
  const int64_t staleness_ms = std::max<int64_t>(0, age_ms - lifetime_ms);

  auto decide = [&](ReuseAction action, ReuseReason reason) {
    // only-if-cached: whatever would reach the origin becomes a 504 (5.2.1.7).
    if (req.only_if_cached &&
        (action == ReuseAction::Revalidate || action == ReuseAction::Forward)) {
      action = ReuseAction::GatewayTimeout;
    }
    d.action = action;
    d.reason = reason;
    return d;
  };

  // 3.5: a shared response to an authorised request only where the origin
  // said it may be shared.
  if (request.has_authorization && !res.is_public && !res.s_maxage && !res.must_revalidate) {
    return decide(ReuseAction::Forward, ReuseReason::Authorization);
  }
  // 5.2.1.4 / 5.2.2.4: no-cache on either side means revalidate every time.
  // A qualified response no-cache does not: its fields were not stored.
  if (req.no_cache || request.pragma_no_cache) {
    return decide(ReuseAction::Revalidate, ReuseReason::RequestNoCache);
  }
  if (res.no_cache_unqualified) {
    return decide(ReuseAction::Revalidate, ReuseReason::ResponseNoCache);
  }
  // 5.2.1.1: the client accepts nothing older than its max-age, stale or not.
  if (req.max_age && age_ms > secondsToMs(*req.max_age)) {
    return decide(ReuseAction::Revalidate, ReuseReason::RequestMaxAge);
  }
  if (d.fresh) {
    // 5.2.1.3: fresh for at least min-fresh more seconds.
    if (req.min_fresh && lifetime_ms - age_ms < secondsToMs(*req.min_fresh)) {
      return decide(ReuseAction::Revalidate, ReuseReason::MinFresh);
    }
    return decide(ReuseAction::ServeFresh, ReuseReason::Fresh);
  }
  if (staleForbidden(res)) return decide(ReuseAction::Revalidate, ReuseReason::MustRevalidate);
  // 5.2.1.2: max-stale, bare (any staleness) or bounded.
  if (req.max_stale &&
      (!req.max_stale_seconds || staleness_ms <= secondsToMs(*req.max_stale_seconds))) {
    return decide(ReuseAction::ServeStale, ReuseReason::MaxStale);
  }
  // RFC 5861 3. A request's min-fresh asks for freshness a stale answer
  // lacks, and a max-age without max-stale says the client wants no stale
  // answer (RFC 9111 5.2.1.1).
  // The route's window stands in for a response that states none.
  const int64_t swr_ms = res.stale_while_revalidate ? secondsToMs(*res.stale_while_revalidate)
                                                    : policy.stale_while_revalidate_ms;
  if (swr_ms > 0 && !req.min_fresh && !req.max_age && staleness_ms <= swr_ms) {
    return decide(ReuseAction::ServeStaleAndRefresh, ReuseReason::StaleWhileRevalidate);
  }
  return decide(ReuseAction::Revalidate, ReuseReason::Stale);
}

bool isStaleIfErrorStatus(int status) {
  return status == 500 || status == 502 || status == 503 || status == 504;
}

bool mayServeStaleOnError(const CacheRequestFacts& request, const CacheResponseFacts& stored,
                          int64_t now_ms, const CachePolicy& policy) {
  const CacheControl& res = stored.cache_control;
  if (staleForbidden(res)) return false;
  if (request.has_authorization && !res.is_public && !res.s_maxage && !res.must_revalidate) {
    return false;
  }
  const int64_t age_ms = currentAgeMs(stored, now_ms);
  const int64_t lifetime_ms = freshnessLifetime(stored, policy).ms;
  const int64_t staleness_ms = std::max<int64_t>(0, age_ms - lifetime_ms);
  // Either side may grant it (RFC 5861 4); the larger grant applies. The
  // route's window stands in for a response that states none.
  std::optional<int64_t> grant_ms;
  if (res.stale_if_error) {
    grant_ms = secondsToMs(*res.stale_if_error);
  } else if (policy.stale_if_error_ms > 0) {
    grant_ms = policy.stale_if_error_ms;
  }
  if (request.cache_control.stale_if_error) {
    grant_ms = std::max(grant_ms.value_or(0), secondsToMs(*request.cache_control.stale_if_error));
  }
  return grant_ms && staleness_ms <= *grant_ms;
}

}  // namespace redge
