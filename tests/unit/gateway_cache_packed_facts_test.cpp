// A stored response's cache facts packed into its entry: what unpacks is
// exactly what parsing its fields gives, and what cannot be packed exactly
// is refused (and then parsed on each use).

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "services/gateway/cache/packed_facts.hpp"

namespace redge {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

CacheResponseFacts parsed(int status, const Fields& fields) {
  std::vector<HttpHeaderField> views;
  for (const auto& [n, v] : fields) views.push_back({n, v});
  return cacheResponseFacts(status, views, 1'700'000'000'000, 1'700'000'000'250);
}

}  // namespace

TEST_CASE("cache packed facts: unpacked facts equal the parsed ones", "[gateway_cache]") {
  const std::vector<std::pair<int, Fields>> cases = {
      {200, {}},
      {200, {{"Cache-Control", "max-age=60"}}},
      {203, {{"Cache-Control", "public, s-maxage=2147483648, must-revalidate"}}},
      {200, {{"Cache-Control", "no-cache, no-store, private, proxy-revalidate, immutable"}}},
      {200, {{"Cache-Control", "max-age=60, max-age=70, no-transform, must-understand"}}},
      {200, {{"Cache-Control", "stale-while-revalidate=30, stale-if-error=600, max-age=5"}}},
      {404,
       {{"Date", "Tue, 14 Nov 2023 22:13:20 GMT"},
        {"Expires", "Tue, 14 Nov 2023 23:13:20 GMT"},
        {"Last-Modified", "Mon, 13 Nov 2023 22:13:20 GMT"},
        {"Age", "30"},
        {"ETag", "\"a\""},
        {"Set-Cookie", "a=b"},
        {"Vary", "*"}}},
      {200, {{"Expires", "0"}, {"Age", "7200,0"}}},
      {200, {{"Surrogate-Control", "max-age=10, no-store"}}},
      {301, {{"Date", "garbage"}, {"Last-Modified", "Wed, 01 Jan 2020 00:00:00 GMT"}}},
  };
  for (const auto& [status, fields] : cases) {
    INFO("status " << status << ", " << fields.size() << " fields");
    const CacheResponseFacts facts = parsed(status, fields);
    PackedResponseFacts packed;
    REQUIRE(packResponseFacts(facts, packed));
    CHECK(packed.flags != 0);
    CHECK(unpackResponseFacts(packed, facts.status, facts.request_time_ms,
                              facts.response_time_ms) == facts);
  }
}

TEST_CASE("cache packed facts: what does not fit exactly is refused", "[gateway_cache]") {
  PackedResponseFacts packed;
  CHECK_FALSE(
      packResponseFacts(parsed(200, {{"Cache-Control", "no-cache=\"set-cookie\""}}), packed));
  CHECK_FALSE(packResponseFacts(parsed(200, {{"Cache-Control", "private=\"x-user\""}}), packed));
  CHECK_FALSE(packResponseFacts(parsed(200, {{"Cache-Control", "max-stale=5"}}), packed));
  CHECK_FALSE(packResponseFacts(parsed(200, {{"Cache-Control", "min-fresh=5"}}), packed));
  CHECK_FALSE(packResponseFacts(parsed(200, {{"Cache-Control", "only-if-cached"}}), packed));
}

}  // namespace redge
