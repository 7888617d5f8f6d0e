// Packing a stored response's cache facts (see packed_facts.hpp). Every
// duration the parsers give is clamped to 2^31 (kDeltaSecondsMax), so it
// fits 32 unsigned bits.

#include "services/gateway/cache/packed_facts.hpp"

namespace redge {
namespace {

enum PackedFlag : uint32_t {
  kPacked = 1u << 0,
  kCcPresent = 1u << 1,
  kNoStore = 1u << 2,
  kNoCache = 1u << 3,
  kNoCacheUnqualified = 1u << 4,
  kPrivate = 1u << 5,
  kPrivateUnqualified = 1u << 6,
  kPublic = 1u << 7,
  kMustRevalidate = 1u << 8,
  kProxyRevalidate = 1u << 9,
  kMustUnderstand = 1u << 10,
  kNoTransform = 1u << 11,
  kImmutable = 1u << 12,
  kFreshnessInvalid = 1u << 13,
  kHasMaxAge = 1u << 14,
  kHasSMaxAge = 1u << 15,
  kHasStaleWhileRevalidate = 1u << 16,
  kHasStaleIfError = 1u << 17,
  kExpiresPresent = 1u << 18,
  kHasExpires = 1u << 19,
  kHasDate = 1u << 20,
  kHasLastModified = 1u << 21,
  kHasEtag = 1u << 22,
  kHasSetCookie = 1u << 23,
  kVaryAny = 1u << 24,
  kSurrogateNoStore = 1u << 25,
  kHasSurrogateMaxAge = 1u << 26,
};

bool fitsDuration(const std::optional<int64_t>& v) {
  return !v || (*v >= 0 && *v <= kDeltaSecondsMax);
}

}  // namespace

bool packResponseFacts(const CacheResponseFacts& facts, PackedResponseFacts& out) {
  const CacheControl& cc = facts.cache_control;
  if (!cc.no_cache_fields.empty() || !cc.private_fields.empty() || cc.min_fresh || cc.max_stale ||
      cc.max_stale_seconds || cc.only_if_cached) {
    return false;
  }
  if (!fitsDuration(cc.max_age) || !fitsDuration(cc.s_maxage) ||
      !fitsDuration(cc.stale_while_revalidate) || !fitsDuration(cc.stale_if_error) ||
      !fitsDuration(facts.surrogate.max_age) || facts.age_s < 0 || facts.age_s > kDeltaSecondsMax) {
    return false;
  }
  PackedResponseFacts p;
  uint32_t f = kPacked;
  auto flag = [&f](bool on, uint32_t bit) {
    if (on) f |= bit;
  };
  flag(cc.present, kCcPresent);
  flag(cc.no_store, kNoStore);
  flag(cc.no_cache, kNoCache);
  flag(cc.no_cache_unqualified, kNoCacheUnqualified);
  flag(cc.is_private, kPrivate);
  flag(cc.private_unqualified, kPrivateUnqualified);
  flag(cc.is_public, kPublic);
  flag(cc.must_revalidate, kMustRevalidate);
  flag(cc.proxy_revalidate, kProxyRevalidate);
  flag(cc.must_understand, kMustUnderstand);
  flag(cc.no_transform, kNoTransform);
  flag(cc.immutable, kImmutable);
  flag(cc.freshness_invalid, kFreshnessInvalid);
  auto duration = [&](const std::optional<int64_t>& v, uint32_t bit, uint32_t& slot) {
    if (!v) return;
    f |= bit;
    slot = static_cast<uint32_t>(*v);
  };
  duration(cc.max_age, kHasMaxAge, p.max_age);
  duration(cc.s_maxage, kHasSMaxAge, p.s_maxage);
  duration(cc.stale_while_revalidate, kHasStaleWhileRevalidate, p.stale_while_revalidate);
  duration(cc.stale_if_error, kHasStaleIfError, p.stale_if_error);
  duration(facts.surrogate.max_age, kHasSurrogateMaxAge, p.surrogate_max_age);
  flag(facts.surrogate.no_store, kSurrogateNoStore);
  flag(facts.expires_present, kExpiresPresent);
  auto time = [&](const std::optional<int64_t>& v, uint32_t bit, int64_t& slot) {
    if (!v) return;
    f |= bit;
    slot = *v;
  };
  time(facts.expires_s, kHasExpires, p.expires_s);
  time(facts.date_s, kHasDate, p.date_s);
  time(facts.last_modified_s, kHasLastModified, p.last_modified_s);
  p.age_s = static_cast<uint32_t>(facts.age_s);
  flag(facts.has_etag, kHasEtag);
  flag(facts.has_set_cookie, kHasSetCookie);
  flag(facts.vary_any, kVaryAny);
  p.flags = f;
  out = p;
  return true;
}

CacheResponseFacts unpackResponseFacts(const PackedResponseFacts& p, int status,
                                       int64_t request_time_ms, int64_t response_time_ms) {
  CacheResponseFacts facts;
  facts.status = status;
  facts.request_time_ms = request_time_ms;
  facts.response_time_ms = response_time_ms;
  const uint32_t f = p.flags;
  auto on = [f](uint32_t bit) { return (f & bit) != 0; };
  CacheControl& cc = facts.cache_control;
  cc.present = on(kCcPresent);
  cc.no_store = on(kNoStore);
  cc.no_cache = on(kNoCache);
  cc.no_cache_unqualified = on(kNoCacheUnqualified);
  cc.is_private = on(kPrivate);
  cc.private_unqualified = on(kPrivateUnqualified);
  cc.is_public = on(kPublic);
  cc.must_revalidate = on(kMustRevalidate);
  cc.proxy_revalidate = on(kProxyRevalidate);
  cc.must_understand = on(kMustUnderstand);
  cc.no_transform = on(kNoTransform);
  cc.immutable = on(kImmutable);
  cc.freshness_invalid = on(kFreshnessInvalid);
  if (on(kHasMaxAge)) cc.max_age = p.max_age;
  if (on(kHasSMaxAge)) cc.s_maxage = p.s_maxage;
  if (on(kHasStaleWhileRevalidate)) cc.stale_while_revalidate = p.stale_while_revalidate;
  if (on(kHasStaleIfError)) cc.stale_if_error = p.stale_if_error;
  if (on(kHasSurrogateMaxAge)) facts.surrogate.max_age = p.surrogate_max_age;
  facts.surrogate.no_store = on(kSurrogateNoStore);
  facts.expires_present = on(kExpiresPresent);
  if (on(kHasExpires)) facts.expires_s = p.expires_s;
  if (on(kHasDate)) facts.date_s = p.date_s;
  if (on(kHasLastModified)) facts.last_modified_s = p.last_modified_s;
  facts.age_s = p.age_s;
  facts.has_etag = on(kHasEtag);
  facts.has_set_cookie = on(kHasSetCookie);
  facts.vary_any = on(kVaryAny);
  return facts;
}

}  // namespace redge
