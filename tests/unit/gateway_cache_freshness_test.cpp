// The gateway cache's freshness model: storability (RFC 9111 3, 3.5,
// 5.2.2.3 and the gateway's Set-Cookie rule), freshness lifetime (4.2.1,
// 4.2.2, 5.3), age (4.2.3, 5.1), and the decision for a stored response
// (4.2.4, 5.2.1, 5.2.2, RFC 5861), with time passed in by hand.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "net/http/http_date.hpp"
#include "services/gateway/cache/field_values.hpp"
#include "services/gateway/cache/freshness.hpp"

namespace redge {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

// 2026-11-29 07:00:00 UTC, in milliseconds: the time of every exchange below
// unless a test moves it.
constexpr int64_t kT0 = 1795935600000;
constexpr int64_t kSecond = 1000;

std::string dateAt(int64_t ms) {
  return formatHttpDate(ms / 1000);
}

std::vector<HttpHeaderField> views(const Fields& fields) {
  std::vector<HttpHeaderField> out;
  for (const auto& [n, v] : fields) out.push_back({n, v});
  return out;
}

// A response received at kT0 for a request sent at kT0, with Date kT0
// unless the fields give one ("Date" set to "" drops it).
CacheResponseFacts responseFacts(int status, Fields fields, int64_t request_ms = kT0,
                                 int64_t response_ms = kT0) {
  bool has_date = false;
  Fields kept;
  for (auto& [n, v] : fields) {
    if (n == "Date") {
      has_date = true;
      if (v.empty()) continue;
    }
    kept.emplace_back(n, v);
  }
  if (!has_date) kept.emplace_back("Date", dateAt(response_ms));
  return cacheResponseFacts(status, views(kept), request_ms, response_ms);
}

CacheResponseFacts responseFacts(Fields fields) {
  return responseFacts(200, std::move(fields));
}

CacheRequestFacts requestFacts(Fields fields = {}, HttpMethod method = HttpMethod::Get) {
  return cacheRequestFacts(method, views(fields));
}

const CachePolicy kNoDefaults{};

StoreDecision store(const CacheResponseFacts& response,
                    const CacheRequestFacts& request = requestFacts(),
                    const CachePolicy& policy = kNoDefaults) {
  return decideStore(request, response, policy);
}

ReuseDecision reuse(const CacheResponseFacts& stored, int64_t now_ms,
                    const CacheRequestFacts& request = requestFacts(),
                    const CachePolicy& policy = kNoDefaults) {
  return decideReuse(request, stored, now_ms, policy);
}

}  // namespace

// --- freshness lifetime (4.2.1) ---

TEST_CASE("cache freshness: s-maxage wins over max-age, max-age over Expires", "[gateway_cache]") {
  const std::string expires = dateAt(kT0 + 500 * kSecond);
  FreshnessLifetime l = freshnessLifetime(
      responseFacts({{"Cache-Control", "max-age=60, s-maxage=120"}, {"Expires", expires}}),
      kNoDefaults);
  CHECK(l.ms == 120 * kSecond);
  CHECK(l.source == FreshnessSource::SMaxAge);
  l = freshnessLifetime(responseFacts({{"Cache-Control", "max-age=60"}, {"Expires", expires}}),
                        kNoDefaults);
  CHECK(l.ms == 60 * kSecond);
  CHECK(l.source == FreshnessSource::MaxAge);
  l = freshnessLifetime(responseFacts({{"Expires", expires}}), kNoDefaults);
  CHECK(l.ms == 500 * kSecond);
  CHECK(l.source == FreshnessSource::Expires);
}

TEST_CASE("cache freshness: Expires is measured from Date, not from arrival", "[gateway_cache]") {
  // The origin's clock is 1000 s behind: Date and Expires 100 s apart still
  // mean 100 s of freshness.
  FreshnessLifetime l = freshnessLifetime(responseFacts({{"Date", dateAt(kT0 - 1000 * kSecond)},
                                                         {"Expires", dateAt(kT0 - 900 * kSecond)}}),
                                          kNoDefaults);
  CHECK(l.ms == 100 * kSecond);
  // No Date: the arrival time stands in.
  l = freshnessLifetime(responseFacts({{"Date", ""}, {"Expires", dateAt(kT0 + 30 * kSecond)}}),
                        kNoDefaults);
  CHECK(l.ms == 30 * kSecond);
  // Expires before Date: 0, not negative.
  l = freshnessLifetime(responseFacts({{"Expires", dateAt(kT0 - 30 * kSecond)}}), kNoDefaults);
  CHECK(l.ms == 0);
}

TEST_CASE("cache freshness: an invalid Expires means already expired", "[gateway_cache]") {
  for (const char* bad : {"0", "-1", "never", "", "Sun, 06 Nov 1994 08:49:37"}) {
    INFO(bad);
    CacheResponseFacts r =
        responseFacts({{"Expires", bad}, {"Last-Modified", dateAt(kT0 - 86400000)}});
    CHECK(r.expires_present);
    FreshnessLifetime l = freshnessLifetime(r, CachePolicy{.default_ttl_ms = 60000});
    CHECK(l.ms == 0);
    CHECK(l.source == FreshnessSource::Expires);  // no heuristic, no route default
  }
}

TEST_CASE("cache freshness: two different Expires make the response stale", "[gateway_cache]") {
  CacheResponseFacts r = responseFacts(
      {{"Expires", dateAt(kT0 + 100 * kSecond)}, {"Expires", dateAt(kT0 + 200 * kSecond)}});
  CHECK(freshnessLifetime(r, kNoDefaults).ms == 0);
  r = responseFacts(
      {{"Expires", dateAt(kT0 + 100 * kSecond)}, {"Expires", dateAt(kT0 + 100 * kSecond)}});
  CHECK(freshnessLifetime(r, kNoDefaults).ms == 100 * kSecond);
}

TEST_CASE("cache freshness: invalid or conflicting max-age gives 0 even beside Expires",
          "[gateway_cache]") {
  const std::string expires = dateAt(kT0 + 500 * kSecond);
  CHECK(freshnessLifetime(responseFacts({{"Cache-Control", "max-age=abc"}, {"Expires", expires}}),
                          kNoDefaults)
            .ms == 0);
  CHECK(freshnessLifetime(responseFacts({{"Cache-Control", "max-age=10, max-age=20"}}), kNoDefaults)
            .ms == 0);
}

TEST_CASE("cache freshness: 10% of the time since Last-Modified, capped", "[gateway_cache]") {
  CacheResponseFacts r = responseFacts({{"Last-Modified", dateAt(kT0 - 1000 * kSecond)}});
  FreshnessLifetime l = freshnessLifetime(r, kNoDefaults);
  CHECK(l.ms == 100 * kSecond);
  CHECK(l.source == FreshnessSource::Heuristic);
  // A year-old resource: capped at the policy's maximum (a day by default).
  r = responseFacts({{"Last-Modified", dateAt(kT0 - 365LL * 86400 * kSecond)}});
  CHECK(freshnessLifetime(r, kNoDefaults).ms == 86400 * kSecond);
  CHECK(freshnessLifetime(r, CachePolicy{.heuristic_max_ms = 5000}).ms == 5000);
  // Switched off, or a Last-Modified in the future: none.
  CHECK(freshnessLifetime(r, CachePolicy{.heuristic_max_ms = 0}).ms == 0);
  r = responseFacts({{"Last-Modified", dateAt(kT0 + 1000 * kSecond)}});
  CHECK(freshnessLifetime(r, kNoDefaults).source == FreshnessSource::None);
  // A Last-Modified in 1601 must not overflow.
  r = responseFacts({{"Last-Modified", "Mon, 01 Jan 1601 00:00:00 GMT"}});
  CHECK(freshnessLifetime(r, kNoDefaults).ms == 86400 * kSecond);
}

TEST_CASE("cache freshness: heuristics only for heuristically cacheable statuses or public",
          "[gateway_cache]") {
  const Fields lm = {{"Last-Modified", dateAt(kT0 - 1000 * kSecond)}};
  for (int status : {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501}) {
    INFO(status);
    CHECK(freshnessLifetime(responseFacts(status, lm), kNoDefaults).ms == 100 * kSecond);
  }
  for (int status : {201, 302, 303, 307, 400, 403, 500, 503}) {
    INFO(status);
    CHECK(freshnessLifetime(responseFacts(status, lm), kNoDefaults).ms == 0);
  }
  Fields public_lm = lm;
  public_lm.emplace_back("Cache-Control", "public");
  CHECK(freshnessLifetime(responseFacts(302, public_lm), kNoDefaults).ms == 100 * kSecond);
}

TEST_CASE("cache freshness: the route default applies only where the response says nothing",
          "[gateway_cache]") {
  const CachePolicy policy{.default_ttl_ms = 300000};
  FreshnessLifetime l = freshnessLifetime(responseFacts({}), policy);
  CHECK(l.ms == 300000);
  CHECK(l.source == FreshnessSource::RouteDefault);
  // It replaces the Last-Modified heuristic...
  l = freshnessLifetime(responseFacts({{"Last-Modified", dateAt(kT0 - 1000 * kSecond)}}), policy);
  CHECK(l.ms == 300000);
  // ...but never an explicit lifetime, even a zero one.
  CHECK(freshnessLifetime(responseFacts({{"Cache-Control", "max-age=0"}}), policy).ms == 0);
  CHECK(freshnessLifetime(responseFacts({{"Cache-Control", "max-age=5"}}), policy).ms == 5000);
  CHECK(freshnessLifetime(responseFacts({{"Expires", dateAt(kT0 + 9 * kSecond)}}), policy).ms ==
        9000);
  // Nor for a status that allows no heuristic.
  CHECK(freshnessLifetime(responseFacts(302, {}), policy).ms == 0);
}

TEST_CASE("cache freshness: huge max-age stays representable", "[gateway_cache]") {
  CacheResponseFacts r = responseFacts({{"Cache-Control", "max-age=9999999999999999999999"}});
  CHECK(freshnessLifetime(r, kNoDefaults).ms == kDeltaSecondsMax * 1000);
  ReuseDecision d = reuse(r, kT0 + 3600 * kSecond);
  CHECK(d.action == ReuseAction::ServeFresh);
  CHECK(d.ttl_s == kDeltaSecondsMax - 3600);
}

// --- age (4.2.3, 5.1) ---

TEST_CASE("cache age: resident time, apparent age, Age and the response delay", "[gateway_cache]") {
  // Fetched at kT0, no Age, Date now: age grows with resident time only.
  CacheResponseFacts r = responseFacts({});
  CHECK(currentAgeMs(r, kT0) == 0);
  CHECK(currentAgeMs(r, kT0 + 42 * kSecond) == 42 * kSecond);
  // Date 10 s before arrival: apparent age 10 s.
  r = responseFacts({{"Date", dateAt(kT0 - 10 * kSecond)}});
  CHECK(currentAgeMs(r, kT0 + 5 * kSecond) == 15 * kSecond);
  // Age 30 from an upstream cache, the request took 2 s: 32 s beats the
  // apparent 0.
  r = responseFacts(200, {{"Age", "30"}}, kT0 - 2 * kSecond, kT0);
  CHECK(currentAgeMs(r, kT0) == 32 * kSecond);
  // A Date in the future (clock skew) adds nothing.
  r = responseFacts({{"Date", dateAt(kT0 + 3600 * kSecond)}});
  CHECK(currentAgeMs(r, kT0 + kSecond) == kSecond);
}

TEST_CASE("cache age: one delta-seconds is the Age, anything else is as old as can be",
          "[gateway_cache]") {
  CHECK(responseFacts({{"Age", "20"}}).age_s == 20);
  CHECK(responseFacts({{"Age", " 20 "}}).age_s == 20);
  CHECK(responseFacts({}).age_s == 0);
  CHECK(responseFacts({{"Age", "20, 40"}}).age_s == kDeltaSecondsMax);
  CHECK(responseFacts({{"Age", "0, 7200"}}).age_s == kDeltaSecondsMax);
  CHECK(responseFacts({{"Age", "20"}, {"Age", "40"}}).age_s == kDeltaSecondsMax);
  for (const char* bad : {"-5", "abc", "1.5", "", "0x10", "7200;foo=1"}) {
    INFO(bad);
    CHECK(responseFacts({{"Age", bad}}).age_s == kDeltaSecondsMax);
  }
  CHECK(responseFacts({{"Age", "999999999999999999999"}}).age_s == kDeltaSecondsMax);
  // So a response whose Age cannot be read is stale on arrival.
  CacheResponseFacts r = responseFacts({{"Cache-Control", "max-age=3600"}, {"Age", "abc"}});
  CHECK_FALSE(reuse(r, kT0).fresh);
}

TEST_CASE("cache age: an Age at least the lifetime makes a response stale on arrival",
          "[gateway_cache]") {
  CacheResponseFacts r = responseFacts({{"Cache-Control", "max-age=60"}, {"Age", "60"}});
  ReuseDecision d = reuse(r, kT0);
  CHECK_FALSE(d.fresh);
  CHECK(d.age_s == 60);
  CHECK(d.ttl_s == 0);
  r = responseFacts({{"Cache-Control", "max-age=60"}, {"Age", "59"}});
  CHECK(reuse(r, kT0).fresh);
}

// --- storing (3) ---

TEST_CASE("cache store: a plain fresh 200 to a GET is stored", "[gateway_cache]") {
  StoreDecision d = store(responseFacts({{"Cache-Control", "max-age=60"}}));
  CHECK(d.store);
  CHECK(d.refusal == StoreRefusal::None);
  CHECK(d.lifetime.ms == 60000);
  CHECK(storeRefusalCode(d.refusal) == "stored");
}

TEST_CASE("cache store: only GET responses", "[gateway_cache]") {
  const CacheResponseFacts r = responseFacts({{"Cache-Control", "max-age=60"}});
  for (HttpMethod m : {HttpMethod::Head, HttpMethod::Post, HttpMethod::Put, HttpMethod::Delete,
                       HttpMethod::Patch, HttpMethod::Options, HttpMethod::Other}) {
    StoreDecision d = store(r, requestFacts({}, m));
    CHECK_FALSE(d.store);
    CHECK(d.refusal == StoreRefusal::Method);
  }
}

TEST_CASE("cache store: statuses the cache does not understand, 206 and 304 are refused",
          "[gateway_cache]") {
  const Fields fresh = {{"Cache-Control", "max-age=60"}};
  CHECK(store(responseFacts(206, fresh)).refusal == StoreRefusal::PartialContent);
  for (int status : {100, 101, 304, 299, 418, 599, 999}) {
    INFO(status);
    CHECK(store(responseFacts(status, fresh)).refusal == StoreRefusal::Status);
  }
  for (int status : {200, 203, 204, 301, 302, 307, 308, 404, 410, 500, 503}) {
    INFO(status);
    CHECK(store(responseFacts(status, fresh)).store);
  }
}

TEST_CASE("cache store: no-store on either side", "[gateway_cache]") {
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60, no-store"}})).refusal ==
        StoreRefusal::NoStore);
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60"}}),
              requestFacts({{"Cache-Control", "no-store"}}))
            .refusal == StoreRefusal::NoStore);
  CHECK(storeRefusalCode(StoreRefusal::NoStore) == "no_store");
}

TEST_CASE("cache store: must-understand overrides no-store for an understood status",
          "[gateway_cache]") {
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60, no-store, must-understand"}})).store);
  CHECK(store(responseFacts(299, {{"Cache-Control", "max-age=60, no-store, must-understand"}}))
            .refusal == StoreRefusal::Status);
}

TEST_CASE("cache store: private keeps a response out, qualified private does not",
          "[gateway_cache]") {
  CHECK(store(responseFacts({{"Cache-Control", "private, max-age=60"}})).refusal ==
        StoreRefusal::Private);
  CHECK(store(responseFacts({{"Cache-Control", "PRIVATE"}, {"Cache-Control", "max-age=60"}}))
            .refusal == StoreRefusal::Private);
  CHECK(store(responseFacts({{"Cache-Control", "private=\"X-User\", max-age=60"}})).store);
}

TEST_CASE("cache store: Authorization needs public, s-maxage or must-revalidate (3.5)",
          "[gateway_cache]") {
  const CacheRequestFacts authorised = requestFacts({{"Authorization", "Bearer x"}});
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60"}}), authorised).refusal ==
        StoreRefusal::Authorization);
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60, public"}}), authorised).store);
  CHECK(store(responseFacts({{"Cache-Control", "s-maxage=60"}}), authorised).store);
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60, must-revalidate"}}), authorised).store);
}

TEST_CASE("cache store: Set-Cookie only with public or s-maxage, or kept out of the copy",
          "[gateway_cache]") {
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60"}, {"Set-Cookie", "sid=1"}})).refusal ==
        StoreRefusal::SetCookie);
  CHECK(store(responseFacts({{"Set-Cookie", "sid=1"}}), requestFacts(),
              CachePolicy{.default_ttl_ms = 60000})
            .refusal == StoreRefusal::SetCookie);
  CHECK(store(responseFacts({{"Cache-Control", "public, max-age=60"}, {"Set-Cookie", "sid=1"}}))
            .store);
  CHECK(store(responseFacts({{"Cache-Control", "s-maxage=60"}, {"set-cookie", "sid=1"}})).store);
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60, private=\"Set-Cookie\""},
                             {"Set-Cookie", "sid=1"}}))
            .store);
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60, no-cache=\"set-cookie\""},
                             {"Set-Cookie", "sid=1"}}))
            .store);
}

TEST_CASE("cache store: Vary: * is never stored", "[gateway_cache]") {
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60"}, {"Vary", "Accept, *"}})).refusal ==
        StoreRefusal::VaryAny);
  CHECK(store(responseFacts({{"Cache-Control", "max-age=60"}, {"Vary", "Accept"}})).store);
}

TEST_CASE("cache store: without freshness, validators or stale permission, nothing to keep",
          "[gateway_cache]") {
  // 302 with nothing explicit: not storable at all (3).
  CHECK(store(responseFacts(302, {})).refusal == StoreRefusal::NoFreshness);
  // 200 without freshness or validator: useless.
  CHECK(store(responseFacts({})).refusal == StoreRefusal::NoFreshness);
  CHECK(store(responseFacts({{"Cache-Control", "max-age=0"}})).refusal ==
        StoreRefusal::NoFreshness);
  // The same with a validator is kept for revalidation.
  CHECK(store(responseFacts({{"Cache-Control", "max-age=0"}, {"ETag", "\"v1\""}})).store);
  CHECK(store(responseFacts({{"Cache-Control", "no-cache"}, {"ETag", "\"v1\""}})).store);
  // Or with stale-if-error, which may serve it when the origin fails.
  CHECK(store(responseFacts({{"Cache-Control", "max-age=0, stale-if-error=60"}})).store);
  // A route default gives a lifetime.
  CHECK(store(responseFacts({}), requestFacts(), CachePolicy{.default_ttl_ms = 1000}).store);
  // Explicit freshness makes any understood status storable.
  CHECK(store(responseFacts(302, {{"Cache-Control", "max-age=10"}})).store);
  CHECK(store(responseFacts(302, {{"Cache-Control", "public"}, {"ETag", "\"a\""}})).store);
}

// --- reuse (4, 4.2.4, 5.2.1, 5.2.2, RFC 5861) ---

TEST_CASE("cache reuse: fresh then stale", "[gateway_cache]") {
  const CacheResponseFacts r = responseFacts({{"Cache-Control", "max-age=60"}});
  ReuseDecision d = reuse(r, kT0 + 18 * kSecond);
  CHECK(d.action == ReuseAction::ServeFresh);
  CHECK(d.reason == ReuseReason::Fresh);
  CHECK(d.age_s == 18);
  CHECK(d.ttl_s == 42);
  d = reuse(r, kT0 + 60 * kSecond);  // lifetime == age: stale
  CHECK(d.action == ReuseAction::Revalidate);
  CHECK(d.reason == ReuseReason::Stale);
  CHECK(d.ttl_s == 0);
  d = reuse(r, kT0 + 61500);
  CHECK(d.ttl_s == -2);  // floor of -1.5 s
  CHECK(reuseReasonCode(d.reason) == "stale");
}

TEST_CASE("cache reuse: an invalid freshness lifetime is stale at once", "[gateway_cache]") {
  const CacheResponseFacts r =
      responseFacts({{"Cache-Control", "max-age=60, max-age=120"}, {"ETag", "\"x\""}});
  CHECK(reuse(r, kT0).action == ReuseAction::Revalidate);
}

TEST_CASE("cache reuse: no-cache on either side revalidates even when fresh", "[gateway_cache]") {
  const CacheResponseFacts fresh = responseFacts({{"Cache-Control", "max-age=600"}});
  ReuseDecision d = reuse(fresh, kT0, requestFacts({{"Cache-Control", "no-cache"}}));
  CHECK(d.action == ReuseAction::Revalidate);
  CHECK(d.reason == ReuseReason::RequestNoCache);
  d = reuse(responseFacts({{"Cache-Control", "no-cache, max-age=600"}}), kT0);
  CHECK(d.action == ReuseAction::Revalidate);
  CHECK(d.reason == ReuseReason::ResponseNoCache);
  // Qualified no-cache: its fields were not stored, the rest is served.
  CHECK(
      reuse(responseFacts({{"Cache-Control", "no-cache=\"X-Secret\", max-age=600"}}), kT0).action ==
      ReuseAction::ServeFresh);
}

TEST_CASE("cache reuse: Pragma: no-cache counts only without Cache-Control", "[gateway_cache]") {
  const CacheResponseFacts fresh = responseFacts({{"Cache-Control", "max-age=600"}});
  CHECK(reuse(fresh, kT0, requestFacts({{"Pragma", "no-cache"}})).action ==
        ReuseAction::Revalidate);
  CHECK(reuse(fresh, kT0, requestFacts({{"Pragma", "no-cache"}, {"Cache-Control", "max-stale"}}))
            .action == ReuseAction::ServeFresh);
}

TEST_CASE("cache reuse: the request's max-age bounds the age", "[gateway_cache]") {
  const CacheResponseFacts r = responseFacts({{"Cache-Control", "max-age=600"}});
  CHECK(reuse(r, kT0 + 30 * kSecond, requestFacts({{"Cache-Control", "max-age=30"}})).action ==
        ReuseAction::ServeFresh);
  ReuseDecision d = reuse(r, kT0 + 31 * kSecond, requestFacts({{"Cache-Control", "max-age=30"}}));
  CHECK(d.action == ReuseAction::Revalidate);
  CHECK(d.reason == ReuseReason::RequestMaxAge);
  CHECK(reuse(r, kT0 + 1, requestFacts({{"Cache-Control", "max-age=0"}})).action ==
        ReuseAction::Revalidate);
  // An invalid request max-age reads as 0.
  CHECK(reuse(r, kT0 + 1, requestFacts({{"Cache-Control", "max-age=x"}})).action ==
        ReuseAction::Revalidate);
}

TEST_CASE("cache reuse: min-fresh asks for freshness left", "[gateway_cache]") {
  const CacheResponseFacts r = responseFacts({{"Cache-Control", "max-age=100"}});
  CHECK(reuse(r, kT0 + 50 * kSecond, requestFacts({{"Cache-Control", "min-fresh=50"}})).action ==
        ReuseAction::ServeFresh);
  ReuseDecision d = reuse(r, kT0 + 51 * kSecond, requestFacts({{"Cache-Control", "min-fresh=50"}}));
  CHECK(d.action == ReuseAction::Revalidate);
  CHECK(d.reason == ReuseReason::MinFresh);
  CHECK(reuse(r, kT0, requestFacts({{"Cache-Control", "min-fresh=bogus"}})).action ==
        ReuseAction::Revalidate);
}

TEST_CASE("cache reuse: max-stale serves stale answers within its bound", "[gateway_cache]") {
  const CacheResponseFacts r = responseFacts({{"Cache-Control", "max-age=60"}});
  ReuseDecision d = reuse(r, kT0 + 90 * kSecond, requestFacts({{"Cache-Control", "max-stale=30"}}));
  CHECK(d.action == ReuseAction::ServeStale);
  CHECK(d.reason == ReuseReason::MaxStale);
  CHECK(d.ttl_s == -30);
  CHECK(reuse(r, kT0 + 91 * kSecond, requestFacts({{"Cache-Control", "max-stale=30"}})).action ==
        ReuseAction::Revalidate);
  CHECK(reuse(r, kT0 + 86400 * kSecond, requestFacts({{"Cache-Control", "max-stale"}})).action ==
        ReuseAction::ServeStale);
}

TEST_CASE("cache reuse: must-revalidate, proxy-revalidate and s-maxage forbid stale answers",
          "[gateway_cache]") {
  const CacheRequestFacts lenient =
      requestFacts({{"Cache-Control", "max-stale, stale-if-error=9999"}});
  for (const char* cc :
       {"max-age=60, must-revalidate", "max-age=60, proxy-revalidate", "s-maxage=60"}) {
    INFO(cc);
    const CacheResponseFacts r =
        responseFacts({{"Cache-Control", std::string(cc) + ", stale-while-revalidate=600"}});
    CHECK(reuse(r, kT0 + 30 * kSecond, lenient).action == ReuseAction::ServeFresh);
    ReuseDecision d = reuse(r, kT0 + 61 * kSecond, lenient);
    CHECK(d.action == ReuseAction::Revalidate);
    CHECK(d.reason == ReuseReason::MustRevalidate);
    CHECK_FALSE(mayServeStaleOnError(lenient, r, kT0 + 61 * kSecond, kNoDefaults));
  }
}

TEST_CASE("cache reuse: stale-while-revalidate serves and refreshes within its window",
          "[gateway_cache]") {
  const CacheResponseFacts r =
      responseFacts({{"Cache-Control", "max-age=60, stale-while-revalidate=30"}});
  ReuseDecision d = reuse(r, kT0 + 75 * kSecond);
  CHECK(d.action == ReuseAction::ServeStaleAndRefresh);
  CHECK(d.reason == ReuseReason::StaleWhileRevalidate);
  CHECK(reuse(r, kT0 + 90 * kSecond).action == ReuseAction::ServeStaleAndRefresh);
  CHECK(reuse(r, kT0 + 91 * kSecond).action == ReuseAction::Revalidate);
  // A client asking for min-fresh does not get a stale answer.
  CHECK(reuse(r, kT0 + 75 * kSecond, requestFacts({{"Cache-Control", "min-fresh=1"}})).action ==
        ReuseAction::Revalidate);
  // Nor one whose max-age says it wants no stale answer, even one within it.
  CHECK(reuse(r, kT0 + 75 * kSecond, requestFacts({{"Cache-Control", "max-age=3600"}})).action ==
        ReuseAction::Revalidate);
  // Nor one asking for no-cache.
  CHECK(reuse(r, kT0 + 75 * kSecond, requestFacts({{"Cache-Control", "no-cache"}})).action ==
        ReuseAction::Revalidate);
}

TEST_CASE("cache reuse: only-if-cached serves what it can and 504 otherwise", "[gateway_cache]") {
  const CacheRequestFacts only = requestFacts({{"Cache-Control", "only-if-cached"}});
  CHECK(onlyIfCached(only));
  CHECK_FALSE(onlyIfCached(requestFacts()));
  const CacheResponseFacts r = responseFacts({{"Cache-Control", "max-age=60"}});
  CHECK(reuse(r, kT0 + kSecond, only).action == ReuseAction::ServeFresh);
  CHECK(reuse(r, kT0 + 61 * kSecond, only).action == ReuseAction::GatewayTimeout);
  CHECK(reuse(r, kT0 + 61 * kSecond,
              requestFacts({{"Cache-Control", "only-if-cached, max-stale=100"}}))
            .action == ReuseAction::ServeStale);
  CHECK(reuse(r, kT0, requestFacts({{"Cache-Control", "only-if-cached, no-cache"}})).action ==
        ReuseAction::GatewayTimeout);
}

TEST_CASE("cache reuse: a request with Authorization uses only shareable entries",
          "[gateway_cache]") {
  const CacheRequestFacts authorised = requestFacts({{"Authorization", "Basic eDp5"}});
  ReuseDecision d = reuse(responseFacts({{"Cache-Control", "max-age=60"}}), kT0, authorised);
  CHECK(d.action == ReuseAction::Forward);
  CHECK(d.reason == ReuseReason::Authorization);
  CHECK(reuse(responseFacts({{"Cache-Control", "max-age=60, public"}}), kT0, authorised).action ==
        ReuseAction::ServeFresh);
  // must-revalidate allows it, and still revalidates once stale.
  const CacheResponseFacts mr = responseFacts({{"Cache-Control", "max-age=60, must-revalidate"}});
  CHECK(reuse(mr, kT0, authorised).action == ReuseAction::ServeFresh);
  CHECK(reuse(mr, kT0 + 61 * kSecond, authorised).action == ReuseAction::Revalidate);
}

TEST_CASE("cache reuse: the route default and the heuristic give hits", "[gateway_cache]") {
  const CachePolicy policy{.default_ttl_ms = 10000};
  CHECK(reuse(responseFacts({}), kT0 + 9999, requestFacts(), policy).action ==
        ReuseAction::ServeFresh);
  CHECK(reuse(responseFacts({}), kT0 + 10000, requestFacts(), policy).action ==
        ReuseAction::Revalidate);
  const CacheResponseFacts lm = responseFacts({{"Last-Modified", dateAt(kT0 - 100 * kSecond)}});
  CHECK(reuse(lm, kT0 + 9 * kSecond).action == ReuseAction::ServeFresh);
  CHECK(reuse(lm, kT0 + 10 * kSecond).action == ReuseAction::Revalidate);
}

TEST_CASE("cache stale-if-error: within the response's or the request's grant", "[gateway_cache]") {
  const CacheResponseFacts r = responseFacts({{"Cache-Control", "max-age=60, stale-if-error=100"}});
  const CacheRequestFacts plain = requestFacts();
  CHECK(mayServeStaleOnError(plain, r, kT0 + 160 * kSecond, kNoDefaults));
  CHECK_FALSE(mayServeStaleOnError(plain, r, kT0 + 161 * kSecond, kNoDefaults));
  CHECK(mayServeStaleOnError(requestFacts({{"Cache-Control", "stale-if-error=500"}}), r,
                             kT0 + 500 * kSecond, kNoDefaults));
  const CacheResponseFacts none = responseFacts({{"Cache-Control", "max-age=60"}});
  CHECK_FALSE(mayServeStaleOnError(plain, none, kT0 + 61 * kSecond, kNoDefaults));
  CHECK(mayServeStaleOnError(requestFacts({{"Cache-Control", "stale-if-error=10"}}), none,
                             kT0 + 70 * kSecond, kNoDefaults));
  // no-cache forbids serving it unvalidated.
  CHECK_FALSE(mayServeStaleOnError(
      plain, responseFacts({{"Cache-Control", "no-cache, stale-if-error=100"}}), kT0, kNoDefaults));
}

TEST_CASE("cache stale-if-error: the statuses that count as an origin error", "[gateway_cache]") {
  for (int s : {500, 502, 503, 504}) CHECK(isStaleIfErrorStatus(s));
  for (int s : {200, 304, 404, 501, 429}) CHECK_FALSE(isStaleIfErrorStatus(s));
}

TEST_CASE("cache route windows: stale-while-revalidate for answers that state none",
          "[gateway_cache]") {
  const CachePolicy route{.stale_while_revalidate_ms = 30 * kSecond};
  const CacheResponseFacts silent = responseFacts({{"Cache-Control", "max-age=60"}});
  CHECK(reuse(silent, kT0 + 75 * kSecond).action == ReuseAction::Revalidate);
  CHECK(reuse(silent, kT0 + 75 * kSecond, requestFacts(), route).action ==
        ReuseAction::ServeStaleAndRefresh);
  CHECK(reuse(silent, kT0 + 90 * kSecond, requestFacts(), route).action ==
        ReuseAction::ServeStaleAndRefresh);
  CHECK(reuse(silent, kT0 + 91 * kSecond, requestFacts(), route).action == ReuseAction::Revalidate);
  // The response's own window, shorter or longer, is its word.
  const CacheResponseFacts own =
      responseFacts({{"Cache-Control", "max-age=60, stale-while-revalidate=5"}});
  CHECK(reuse(own, kT0 + 66 * kSecond, requestFacts(), route).action == ReuseAction::Revalidate);
  // must-revalidate still forbids it.
  const CacheResponseFacts strict =
      responseFacts({{"Cache-Control", "max-age=60, must-revalidate"}});
  CHECK(reuse(strict, kT0 + 61 * kSecond, requestFacts(), route).reason ==
        ReuseReason::MustRevalidate);
  // And a client's min-fresh still gets no stale answer.
  CHECK(reuse(silent, kT0 + 75 * kSecond, requestFacts({{"Cache-Control", "min-fresh=1"}}), route)
            .action == ReuseAction::Revalidate);
}

TEST_CASE("cache route windows: stale-if-error for answers that state none", "[gateway_cache]") {
  const CachePolicy route{.stale_if_error_ms = 100 * kSecond};
  const CacheRequestFacts plain = requestFacts();
  const CacheResponseFacts silent = responseFacts({{"Cache-Control", "max-age=60"}});
  CHECK_FALSE(mayServeStaleOnError(plain, silent, kT0 + 61 * kSecond, kNoDefaults));
  CHECK(mayServeStaleOnError(plain, silent, kT0 + 61 * kSecond, route));
  CHECK(mayServeStaleOnError(plain, silent, kT0 + 160 * kSecond, route));
  CHECK_FALSE(mayServeStaleOnError(plain, silent, kT0 + 161 * kSecond, route));
  // The response's own window is its word, even a shorter one.
  const CacheResponseFacts own =
      responseFacts({{"Cache-Control", "max-age=60, stale-if-error=10"}});
  CHECK(mayServeStaleOnError(plain, own, kT0 + 70 * kSecond, route));
  CHECK_FALSE(mayServeStaleOnError(plain, own, kT0 + 71 * kSecond, route));
  // The request may still widen it.
  CHECK(mayServeStaleOnError(requestFacts({{"Cache-Control", "stale-if-error=300"}}), silent,
                             kT0 + 300 * kSecond, route));
  // Nothing serves past must-revalidate, proxy-revalidate, s-maxage or no-cache.
  for (const char* cc :
       {"max-age=60, must-revalidate", "max-age=60, proxy-revalidate", "s-maxage=60", "no-cache"}) {
    INFO(cc);
    CHECK_FALSE(mayServeStaleOnError(plain, responseFacts({{"Cache-Control", cc}}),
                                     kT0 + 61 * kSecond, route));
  }
  // An answer stale on arrival without validators is kept for such use.
  const CacheResponseFacts bare = responseFacts({{"Cache-Control", "max-age=0"}});
  CHECK(store(bare).refusal == StoreRefusal::NoFreshness);
  CHECK(store(bare, requestFacts(), route).store);
  CHECK(store(bare, requestFacts(), CachePolicy{.stale_while_revalidate_ms = 1}).store);
}

}  // namespace redge
