// The gateway's response cache end to end: a real redge gateway with a
// cached route in front of a real fake_upstream whose echo answers carry
// the Cache-Control, ETag and Vary the query asks for (its README), spoken
// to with libcurl. Whether the member was contacted is read from its own
// counters (/stats echoed, not_modified), so a hit is proven by the member
// not seeing the request. Fresh hits, Age and Cache-Status, max-age expiry
// and 304 revalidation, the client's own conditional request, Vary, what
// is never stored (no-store, private, Authorization, too large), HEAD from
// a stored GET, only-if-cached, invalidation by writes, and concurrent
// misses for one URI coalesced into one member request.

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/gateway_echo.hpp"
#include "support/metrics_text.hpp"
#include "support/raw_connection.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

double cacheMetric(const RedgeProcess& gw, const std::string& name,
                   const std::string& more_labels = "") {
  return scrapeMetric(gw, "redge_gateway_cache_" + name + "{route=\"/\"" + more_labels + "}")
      .value_or(0);
}

// The Age a reply carries, or -1.
long ageOf(const HttpReply& r) {
  std::string a = r.header("Age");
  return a.empty() ? -1 : std::stol(a);
}

}  // namespace

TEST_CASE("gateway cache: a fresh hit is served from memory with Age and Cache-Status",
          "[gateway][cache]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis, gatewaySettings(cachedRoute(R"({"enabled": true})"), webPool(up)));
  const std::string url = gw.gatewayUrl("/items?cc=max-age%3D60&nocookie=1");

  HttpReply first = httpGet(url);
  REQUIRE(first.status == 200);
  CHECK(first.header("Cache-Status") == "redge; fwd=uri-miss; stored");
  CHECK(up.stats().echoed == 1);

  HttpReply second = httpGet(url);
  REQUIRE(second.status == 200);
  CHECK(second.body == first.body);  // the stored echo, not a new one
  CHECK(up.stats().echoed == 1);     // the member was not contacted
  std::string cs = second.header("Cache-Status");
  CHECK(cs.rfind("redge; hit; ttl=", 0) == 0);
  long ttl = std::stol(cs.substr(std::string("redge; hit; ttl=").size()));
  CHECK(ttl > 55);
  CHECK(ttl <= 60);
  CHECK(ageOf(second) >= 0);
  CHECK(ageOf(second) <= 2);
  CHECK(second.header("Cache-Control") == "max-age=60");
  CHECK(second.header("Content-Type") == first.header("Content-Type"));
  CHECK(second.header("X-Upstream") == "up");
  // The stored answer keeps the origin's Date (RFC 9111 4: a cache does not
  // update it), once; Age says how old it is.
  RawConnection raw(gw.gatewayPort());
  REQUIRE(raw.send("GET /items?cc=max-age%3D60&nocookie=1 HTTP/1.1\r\nHost: 127.0.0.1:" +
                   std::to_string(gw.gatewayPort()) + "\r\n\r\n"));
  auto third = raw.readResponse();
  REQUIRE(third);
  int dates = 0;
  for (const auto& [name, value] : third->headers) {
    if (equalsIgnoreCase(name, "Date")) ++dates;
  }
  CHECK(dates == 1);
  CHECK(third->header("Date") == first.header("Date"));
  CHECK(third->header("Cache-Status").rfind("redge; hit", 0) == 0);

  // HEAD is answered from the stored GET: same head, no body, no member.
  HttpReply head = httpHead(url);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.header("Content-Length") == std::to_string(first.body.size()));
  CHECK(head.header("Cache-Status").rfind("redge; hit", 0) == 0);
  CHECK(up.stats().echoed == 1);

  // Another query is another URI.
  CHECK(httpGet(gw.gatewayUrl("/items?cc=max-age%3D60&nocookie=1&x=2")).status == 200);
  CHECK(up.stats().echoed == 2);

  CHECK(cacheMetric(gw, "hits_total") == 3);  // two GETs and a HEAD
  CHECK(cacheMetric(gw, "misses_total") == 2);
  CHECK(cacheMetric(gw, "stores_total") == 2);
  CHECK(cacheMetric(gw, "entries") == 2);
  CHECK(cacheMetric(gw, "bytes") > static_cast<double>(2 * first.body.size()));
}

TEST_CASE("gateway cache: only what RFC 9111 lets a shared cache store is stored",
          "[gateway][cache]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(cachedRoute(R"({"enabled": true, "max_object_bytes": 2048})"), webPool(up)));
  // Each is asked twice; every request reaches the member.
  auto twice = [&](const std::string& target, HeaderList headers = {}) {
    int64_t before = up.stats().echoed;
    HttpReply a = httpGet(gw.gatewayUrl(target), headers);
    HttpReply b = httpGet(gw.gatewayUrl(target), headers);
    CHECK(a.status == 200);
    CHECK(b.status == 200);
    CHECK(up.stats().echoed == before + 2);
    return b;
  };
  HttpReply no_store = twice("/n?cc=no-store%2C%20max-age%3D60&nocookie=1");
  CHECK(no_store.header("Cache-Status") == "redge; fwd=uri-miss; detail=no_store");
  HttpReply priv = twice("/p?cc=private%2C%20max-age%3D60&nocookie=1");
  CHECK(priv.header("Cache-Status") == "redge; fwd=uri-miss; detail=private");
  // Set-Cookie without public: not shared.
  HttpReply cookie = twice("/c?cc=max-age%3D60");
  CHECK(cookie.header("Cache-Status") == "redge; fwd=uri-miss; detail=set_cookie");
  // A request with Authorization is not stored unless the answer allows it.
  HttpReply auth = twice("/a?cc=max-age%3D60&nocookie=1", {"Authorization: Bearer x"});
  CHECK(auth.header("Cache-Status").find("stored") == std::string::npos);
  // A body over max_object_bytes streams through and is not kept.
  std::string big(3000, 'x');
  HttpReply large = twice("/l?cc=max-age%3D60&nocookie=1&pad=" + big);
  CHECK(large.header("Cache-Status") == "redge; fwd=uri-miss; detail=too_large");
  CHECK(large.body.size() > 3000);

  CHECK(cacheMetric(gw, "stores_total") == 0);
  CHECK(cacheMetric(gw, "entries") == 0);
  CHECK(cacheMetric(gw, "store_refusals_total", ",reason=\"no_store\"") == 2);
  CHECK(cacheMetric(gw, "store_refusals_total", ",reason=\"private\"") == 2);
  CHECK(cacheMetric(gw, "store_refusals_total", ",reason=\"too_large\"") == 2);
}

TEST_CASE("gateway cache: a stale entry is revalidated, a 304 refreshes it", "[gateway][cache]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis, gatewaySettings(cachedRoute(R"({"enabled": true})"), webPool(up)));
  const std::string url = gw.gatewayUrl("/r?cc=max-age%3D1&etag=v1&nocookie=1");

  HttpReply first = httpGet(url);
  REQUIRE(first.status == 200);
  CHECK(first.header("ETag") == "\"v1\"");
  CHECK(first.header("Cache-Status") == "redge; fwd=uri-miss; stored");

  // The client's own conditional request against the fresh entry: 304 from
  // the cache, with the validators, and no member.
  HttpReply conditional = httpGet(url, {"If-None-Match: \"v1\""});
  CHECK(conditional.status == 304);
  CHECK(conditional.body.empty());
  CHECK(conditional.header("ETag") == "\"v1\"");
  CHECK(conditional.header("Cache-Status").rfind("redge; hit", 0) == 0);
  HttpReply other_tag = httpGet(url, {"If-None-Match: \"v0\""});
  CHECK(other_tag.status == 200);
  CHECK(other_tag.body == first.body);
  CHECK(up.stats().echoed == 1);

  // Past max-age the entry is stale: the next request asks the member with
  // the entry's ETag; its 304 refreshes the entry and the client gets the
  // stored answer.
  HttpReply revalidated;
  REQUIRE(waitUntil(
      [&] {
        revalidated = httpGet(url);
        return revalidated.header("Cache-Status").find("fwd=stale") != std::string::npos;
      },
      5000ms));
  CHECK(revalidated.status == 200);
  CHECK(revalidated.body == first.body);
  CHECK(revalidated.header("Cache-Status").find("fwd-status=304") != std::string::npos);
  CHECK(up.stats().not_modified == 1);
  CHECK(up.stats().echoed == 2);
  // Fresh again: a hit.
  HttpReply after = httpGet(url);
  CHECK(after.header("Cache-Status").rfind("redge; hit", 0) == 0);
  CHECK(after.body == first.body);
  CHECK(up.stats().echoed == 2);
  CHECK(cacheMetric(gw, "revalidations_total", ",result=\"not_modified\"") == 1);

  // A stale entry without a validator is fetched again and replaced.
  const std::string plain = gw.gatewayUrl("/plain?cc=max-age%3D1&nocookie=1");
  HttpReply p1 = httpGet(plain);
  CHECK(p1.header("Cache-Status") == "redge; fwd=uri-miss; stored");
  int64_t before = up.stats().echoed;
  HttpReply p2;
  REQUIRE(waitUntil(
      [&] {
        p2 = httpGet(plain);
        return p2.header("Cache-Status").find("fwd=stale") != std::string::npos;
      },
      5000ms));
  CHECK(p2.header("Cache-Status") == "redge; fwd=stale; stored");
  CHECK(up.stats().echoed == before + 1);
  CHECK(cacheMetric(gw, "revalidations_total", ",result=\"replaced\"") == 1);
}

TEST_CASE("gateway cache: Vary selects the stored answer, only-if-cached misses are 504",
          "[gateway][cache]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis, gatewaySettings(cachedRoute(R"({"enabled": true})"), webPool(up)));
  const std::string url = gw.gatewayUrl("/v?cc=max-age%3D60&vary=Accept-Language&nocookie=1");

  HttpReply en = httpGet(url, {"Accept-Language: en"});
  CHECK(en.header("Cache-Status") == "redge; fwd=uri-miss; stored");
  HttpReply en2 = httpGet(url, {"Accept-Language: EN"});  // normalised: same selection
  CHECK(en2.header("Cache-Status").rfind("redge; hit", 0) == 0);
  CHECK(en2.body == en.body);
  HttpReply fr = httpGet(url, {"Accept-Language: fr"});
  CHECK(fr.header("Cache-Status") == "redge; fwd=vary-miss; stored");
  CHECK(fr.body.find("\"fr\"") != std::string::npos);  // the member saw the French request
  CHECK(up.stats().echoed == 2);

  HttpReply none = httpGet(gw.gatewayUrl("/never"), {"Cache-Control: only-if-cached"});
  CHECK(none.status == 504);
  CHECK(none.body.find("\"error\":\"not_cached\"") != std::string::npos);
  CHECK(up.stats().echoed == 2);
  HttpReply have = httpGet(url, {"Accept-Language: fr", "Cache-Control: only-if-cached"});
  CHECK(have.status == 200);
  CHECK(up.stats().echoed == 2);
}

TEST_CASE("gateway cache: a write clears its target, and with invalidate_parent its collection",
          "[gateway][cache]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(R"([{"prefix": "/plain/", "pool": "web", "cache": {"enabled": true}},
                          {"prefix": "/tree/", "pool": "web",
                           "cache": {"enabled": true, "invalidate_parent": true}}])",
                      webPool(up), {"log.level=debug"}));
  const std::string q = "?cc=max-age%3D60&nocookie=1";
  auto status = [&](const std::string& target) {
    return httpGet(gw.gatewayUrl(target)).header("Cache-Status");
  };
  for (const char* t : {"/plain/c/7", "/plain/c", "/tree/c/7", "/tree/c", "/tree/d"}) {
    REQUIRE(status(std::string(t) + q).find("stored") != std::string::npos);
    REQUIRE(status(std::string(t) + q).rfind("redge; hit", 0) == 0);
  }
  // The target itself is cleared; on /plain/ its collection stays.
  REQUIRE(httpPost(gw.gatewayUrl("/plain/c/7" + q), "{}").status == 200);
  CHECK(status("/plain/c/7" + q).find("fwd=uri-miss") != std::string::npos);
  CHECK(status("/plain/c" + q).rfind("redge; hit", 0) == 0);
  // With invalidate_parent, /tree/c/7 clears /tree/c with any query too.
  REQUIRE(httpPost(gw.gatewayUrl("/tree/c/7"), "{}").status == 200);
  CHECK(status("/tree/c/7" + q).find("fwd=uri-miss") != std::string::npos);
  CHECK(status("/tree/c" + q).find("fwd=uri-miss") != std::string::npos);
  CHECK(status("/tree/d" + q).rfind("redge; hit", 0) == 0);
  // A same-origin Location in a write's answer is cleared too; another
  // origin's is not.
  REQUIRE(status("/plain/c" + q).rfind("redge; hit", 0) == 0);
  REQUIRE(status("/plain/e" + q).find("stored") != std::string::npos);
  REQUIRE(httpPost(gw.gatewayUrl(
                       "/plain/new?location=%2Fplain%2Fc%3Fcc%3Dmax-age%253D60%26nocookie%3D1"),
                   "{}")
              .status == 200);
  CHECK(status("/plain/c" + q).find("fwd=uri-miss") != std::string::npos);
  REQUIRE(httpPost(gw.gatewayUrl("/plain/"
                                 "new?location=http%3A%2F%2Felsewhere.test%2Fplain%2Fe%3Fcc%3Dmax-"
                                 "age%253D60%26nocookie%3D1"),
                   "{}")
              .status == 200);
  CHECK(status("/plain/e" + q).rfind("redge; hit", 0) == 0);
  // An error answer clears nothing.
  REQUIRE(httpPost(gw.gatewayUrl("/tree/d?status=500"), "{}").status == 500);
  CHECK(status("/tree/d" + q).rfind("redge; hit", 0) == 0);
  CHECK(gw.waitForLog("event=gateway_cache_invalidated", 2000ms));
  CHECK(scrapeMetric(
            gw, "redge_gateway_cache_invalidations_total{route=\"/tree/\",cause=\"write\"}") == 2);
  CHECK(scrapeMetric(
            gw, "redge_gateway_cache_invalidations_total{route=\"/plain/\",cause=\"write\"}") == 2);
}

TEST_CASE("gateway cache: a route without cache answers as before, with no Cache-Status",
          "[gateway][cache]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis, gatewaySettings(R"([{"prefix": "/", "pool": "web"}])", webPool(up)));
  const std::string url = gw.gatewayUrl("/x?cc=max-age%3D60&nocookie=1");
  CHECK(httpGet(url).status == 200);
  HttpReply again = httpGet(url);
  CHECK_FALSE(again.hasHeader("Cache-Status"));
  CHECK(up.stats().echoed == 2);
}

TEST_CASE("gateway cache: concurrent misses for one URI make one member request",
          "[gateway][cache]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis, gatewaySettings(cachedRoute(R"({"enabled": true})"), webPool(up)));
  // The member takes 600 ms, so every client asks while the first fetch is
  // under way.
  auto together = [&](const std::string& target, int n) {
    std::vector<HttpReply> replies(static_cast<size_t>(n));
    std::vector<std::thread> clients;
    for (int i = 0; i < n; ++i) {
      clients.emplace_back(
          [&, i] { replies[static_cast<size_t>(i)] = httpGet(gw.gatewayUrl(target)); });
    }
    for (auto& t : clients) t.join();
    return replies;
  };

  std::vector<HttpReply> replies = together("/slow?cc=max-age%3D60&nocookie=1&delay_ms=600", 8);
  CHECK(up.stats().echoed == 1);
  int stored = 0;
  int collapsed = 0;
  for (const HttpReply& r : replies) {
    CHECK(r.status == 200);
    CHECK(r.body == replies[0].body);
    std::string cs = r.header("Cache-Status");
    if (cs == "redge; fwd=uri-miss; stored") ++stored;
    if (cs.rfind("redge; hit; ttl=", 0) == 0 && cs.find("; collapsed") != std::string::npos) {
      ++collapsed;
    }
  }
  CHECK(stored == 1);
  CHECK(collapsed == 7);
  CHECK(cacheMetric(gw, "coalesced_total") == 7);

  // An answer that may not be stored leaves the waiters to ask for
  // themselves: each gets its own answer.
  replies = together("/slow?cc=no-store&nocookie=1&delay_ms=600", 4);
  CHECK(up.stats().echoed == 1 + 4);
  for (const HttpReply& r : replies) {
    CHECK(r.status == 200);
    CHECK(r.header("Cache-Status").find("detail=no_store") != std::string::npos);
  }
}
