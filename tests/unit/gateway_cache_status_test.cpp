// The Cache-Status field (RFC 9211) the gateway cache writes: its
// parameters in order, the detail as token or string, negative ttl, and
// appending after an upstream cache's members.

#include <catch2/catch.hpp>

#include "services/gateway/cache/cache_status.hpp"

namespace redge {

TEST_CASE("cache status: a hit with its ttl", "[gateway_cache]") {
  CHECK(cacheStatusValue({.hit = true, .ttl_s = 42}) == "redge; hit; ttl=42");
  CHECK(cacheStatusValue({.hit = true}) == "redge; hit");
  // A stale hit (max-stale, stale-while-revalidate): negative ttl.
  CHECK(cacheStatusValue({.hit = true, .ttl_s = -5}) == "redge; hit; ttl=-5");
}

TEST_CASE("cache status: every forward reason", "[gateway_cache]") {
  using R = CacheForwardReason;
  const std::pair<R, const char*> cases[] = {{R::Bypass, "bypass"},    {R::Method, "method"},
                                             {R::UriMiss, "uri-miss"}, {R::VaryMiss, "vary-miss"},
                                             {R::Miss, "miss"},        {R::Request, "request"},
                                             {R::Stale, "stale"},      {R::Partial, "partial"}};
  for (const auto& [reason, token] : cases) {
    CHECK(cacheForwardReasonToken(reason) == token);
    CHECK(cacheStatusValue({.forward = reason}) == std::string("redge; fwd=") + token);
  }
}

TEST_CASE("cache status: a miss stored, a revalidation, a collapsed request", "[gateway_cache]") {
  CHECK(cacheStatusValue({.forward = CacheForwardReason::Miss, .stored = true}) ==
        "redge; fwd=miss; stored");
  CHECK(cacheStatusValue({.forward = CacheForwardReason::Stale,
                          .forward_status = 304,
                          .ttl_s = 60,
                          .stored = true}) == "redge; fwd=stale; fwd-status=304; ttl=60; stored");
  CHECK(cacheStatusValue({.forward = CacheForwardReason::UriMiss, .collapsed = true}) ==
        "redge; fwd=uri-miss; collapsed");
}

TEST_CASE("cache status: detail as a token, else as an escaped string", "[gateway_cache]") {
  CHECK(cacheStatusValue({.forward = CacheForwardReason::Request, .detail = "no_store"}) ==
        "redge; fwd=request; detail=no_store");
  CHECK(cacheStatusValue({.hit = true, .detail = "stale-if-error"}) ==
        "redge; hit; detail=stale-if-error");
  CHECK(cacheStatusValue({.hit = true, .detail = "upstream down"}) ==
        "redge; hit; detail=\"upstream down\"");
  CHECK(cacheStatusValue({.hit = true, .detail = "say \"hi\"\\\n\x01"}) ==
        "redge; hit; detail=\"say \\\"hi\\\"\\\\\"");
  CHECK(cacheStatusValue({.hit = true, .detail = "1abc"}) == "redge; hit; detail=\"1abc\"");
}

TEST_CASE("cache status: hit wins over a forward reason given by mistake", "[gateway_cache]") {
  CHECK(cacheStatusValue({.hit = true, .forward = CacheForwardReason::Miss}) == "redge; hit");
}

TEST_CASE("cache status: huge ttl stays an sf-integer", "[gateway_cache]") {
  CHECK(cacheStatusValue({.hit = true, .ttl_s = INT64_MAX}) == "redge; hit; ttl=999999999999999");
}

TEST_CASE("cache status: appended after an upstream cache's members", "[gateway_cache]") {
  const CacheStatus hit{.hit = true, .ttl_s = 3};
  CHECK(appendCacheStatus("", hit) == "redge; hit; ttl=3");
  CHECK(appendCacheStatus("  ", hit) == "redge; hit; ttl=3");
  CHECK(appendCacheStatus("OriginCache; hit; ttl=1100", hit) ==
        "OriginCache; hit; ttl=1100, redge; hit; ttl=3");
}

}  // namespace redge
