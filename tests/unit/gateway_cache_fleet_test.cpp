// The pure parts of the shared gateway cache: the fleet's messages in text
// and back, an operator's purge request read from JSON and matched against
// cache keys, the host part of a key, and how long an entry is kept in Redis.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "services/gateway/cache/fleet_event.hpp"
#include "services/gateway/cache/purge_request.hpp"
#include "services/gateway/cache/retention.hpp"

namespace redge {
namespace {

using Kind = FleetEvent::Kind;

std::vector<HttpHeaderField> fieldViews(const std::vector<std::pair<std::string, std::string>>& f) {
  std::vector<HttpHeaderField> out;
  for (const auto& [n, v] : f) out.push_back({n, v});
  return out;
}

}  // namespace

TEST_CASE("cache fleet: every event kind survives its text form", "[gateway_cache]") {
  const std::vector<FleetEvent> events = {
      {"12-ab", Kind::Filled, "/", "http://shop/a?x=1", ""},
      {"12-ab", Kind::Uri, "shop/api/", "http://shop/api/7", ""},
      {"12-ab", Kind::Collection, "/", "http://shop/courses", ""},
      {"12-ab", Kind::PurgeUrl, "", "shop", "/a?b"},
      {"12-ab", Kind::PurgeUrl, "", "", "/a"},
      {"12-ab", Kind::PurgePrefix, "", "", "/courses"},
      {"12-ab", Kind::PurgeTag, "", "course-7", ""},
  };
  for (const FleetEvent& e : events) {
    auto back = decodeFleetEvent(encodeFleetEvent(e));
    REQUIRE(back.has_value());
    CHECK(*back == e);
  }
  CHECK(encodeFleetEvent(events[3]) == "12-ab\npurge-url\n\nshop\n/a?b");
}

TEST_CASE("cache fleet: messages of another form are ignored", "[gateway_cache]") {
  CHECK_FALSE(decodeFleetEvent(""));
  CHECK_FALSE(decodeFleetEvent("hello"));
  CHECK_FALSE(decodeFleetEvent("\nuri\n/\nhttp://a/"));        // no origin
  CHECK_FALSE(decodeFleetEvent("id\nexplode\n/\nhttp://a/"));  // unknown verb
  CHECK_FALSE(decodeFleetEvent("id\nuri\n/"));                 // missing argument
  CHECK_FALSE(decodeFleetEvent("id\nuri\n/\na\nb"));           // one too many
  CHECK_FALSE(decodeFleetEvent("id\npurge-url\n\nhost"));      // one too few
}

TEST_CASE("cache purge: a url, a prefix, tags and a host are read", "[gateway_cache]") {
  PurgeParse p = parsePurgeRequest(R"({"url": "http://Shop.Example:8080/a/b?x=1#frag"})");
  REQUIRE(p.request);
  CHECK(p.request->host == "shop.example");
  CHECK(p.request->target == "/a/b?x=1");
  CHECK_FALSE(p.request->prefix);

  p = parsePurgeRequest(R"({"url": "https://shop"})");
  REQUIRE(p.request);
  CHECK(p.request->target == "/");

  p = parsePurgeRequest(R"({"url": "/courses/7", "host": "Shop"})");
  REQUIRE(p.request);
  CHECK(p.request->host == "shop");
  CHECK(p.request->target == "/courses/7");

  p = parsePurgeRequest(R"({"prefix": "/courses", "tags": ["a", "course-7"]})");
  REQUIRE(p.request);
  CHECK(p.request->host.empty());
  CHECK(p.request->prefix == "/courses");
  CHECK(p.request->tags == std::vector<std::string>{"a", "course-7"});
}

TEST_CASE("cache purge: what is not a purge is refused with a code and a reason",
          "[gateway_cache]") {
  struct Row {
    const char* body;
    const char* code;
  };
  const Row rows[] = {
      {"", "invalid_json"},
      {"{", "invalid_json"},
      {"[]", "invalid_purge"},
      {"{}", "invalid_purge"},
      {R"({"tags": []})", "invalid_purge"},
      {R"({"urls": "/a"})", "invalid_purge"},
      {R"({"url": 7})", "invalid_purge"},
      {R"({"url": "ftp://a/b"})", "invalid_purge"},
      {R"({"url": "a/b"})", "invalid_purge"},
      {R"({"url": "http:///b"})", "invalid_purge"},
      {R"({"url": "/a b"})", "invalid_purge"},
      {R"({"url": "/a\nb"})", "invalid_purge"},
      {R"({"prefix": "courses"})", "invalid_purge"},
      {R"({"tags": "courses"})", "invalid_purge"},
      {R"({"tags": ["a,b"]})", "invalid_purge"},
      {R"({"tags": [7]})", "invalid_purge"},
      {R"({"tags": [""]})", "invalid_purge"},
      {R"({"url": "http://a/x", "host": "b"})", "invalid_purge"},
  };
  for (const Row& r : rows) {
    INFO(r.body);
    PurgeParse p = parsePurgeRequest(r.body);
    CHECK_FALSE(p.request);
    CHECK(p.error == r.code);
    CHECK_FALSE(p.message.empty());
  }
  std::string many = R"({"tags": [)";
  for (int i = 0; i < 257; ++i) many += std::string(i ? "," : "") + "\"t\"";
  CHECK(parsePurgeRequest(many + "]}").error == "invalid_purge");
}

TEST_CASE("cache purge: keys match a url or a prefix, on one host or any", "[gateway_cache]") {
  CHECK(purgeUrlMatches("http://shop/a?x=1", "", "/a?x=1"));
  CHECK(purgeUrlMatches("http://shop/a?x=1", "shop", "/a?x=1"));
  CHECK_FALSE(purgeUrlMatches("http://shop/a?x=1", "other", "/a?x=1"));
  CHECK_FALSE(purgeUrlMatches("http://shop/a?x=1", "", "/a"));
  CHECK_FALSE(purgeUrlMatches("not a key", "", "/a"));
  CHECK(purgePrefixMatches("http://shop/courses/7", "", "/courses"));
  CHECK(purgePrefixMatches("http://shop/courses?page=2", "shop", "/courses"));
  CHECK_FALSE(purgePrefixMatches("http://shop/course", "", "/courses"));
  CHECK_FALSE(purgePrefixMatches("http://shop/courses", "other", "/courses"));
}

TEST_CASE("cache key host: the Host field without its port", "[gateway_cache]") {
  CHECK(cacheKeyHost("shop.example") == "shop.example");
  CHECK(cacheKeyHost("shop.example:8080") == "shop.example");
  CHECK(cacheKeyHost("[::1]") == "[::1]");
  CHECK(cacheKeyHost("[::1]:8080") == "[::1]");
  CHECK(cacheKeyHost("") == "");
}

TEST_CASE("cache retention: fresh time, then stale permissions and revalidation",
          "[gateway_cache]") {
  const int64_t t0 = 1'700'000'000'000;
  CachePolicy policy;
  auto facts = [&](std::vector<std::pair<std::string, std::string>> f) {
    f.emplace_back("Date", "Tue, 14 Nov 2023 22:13:20 GMT");  // t0
    return cacheResponseFacts(200, fieldViews(f), t0, t0);
  };
  // Fresh for 60 s, nothing to serve or revalidate it by afterwards.
  CHECK(retentionMs(facts({{"Cache-Control", "max-age=60"}}), policy, t0) == 60'000);
  CHECK(retentionMs(facts({{"Cache-Control", "max-age=60"}}), policy, t0 + 20'000) == 40'000);
  CHECK(retentionMs(facts({{"Cache-Control", "max-age=60"}}), policy, t0 + 61'000) <= 0);
  // stale-while-revalidate / stale-if-error extend it.
  CHECK(retentionMs(facts({{"Cache-Control", "max-age=60, stale-while-revalidate=30"}}), policy,
                    t0) == 90'000);
  CHECK(retentionMs(facts({{"Cache-Control", "max-age=60, stale-if-error=600"}}), policy,
                    t0 + 100'000) == 600'000);
  // A validator keeps it for revalidation: at least a minute, as long again
  // as it was fresh, at most an hour.
  CHECK(retentionMs(facts({{"Cache-Control", "max-age=10"}, {"ETag", "\"a\""}}), policy, t0) ==
        10'000 + kRevalidationKeepMinMs);
  CHECK(retentionMs(facts({{"Cache-Control", "max-age=600"}, {"ETag", "\"a\""}}), policy, t0) ==
        1'200'000);
  CHECK(retentionMs(facts({{"Cache-Control", "max-age=86400"}, {"ETag", "\"a\""}}), policy, t0) ==
        86'400'000 + kRevalidationKeepMaxMs);
  CHECK(retentionMs(facts({{"Cache-Control", "no-cache"}, {"ETag", "\"a\""}}), policy, t0) ==
        kRevalidationKeepMinMs);
}

}  // namespace redge
