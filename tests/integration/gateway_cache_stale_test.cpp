// The gateway cache serving stale entries on purpose (RFC 5861) and keeping
// several Vary variants per URI, end to end: a real redge gateway with a
// cached route in front of a real fake_upstream whose echo answers carry
// the Cache-Control, ETag and Vary the query asks for. The member is made to
// fail through its control listener (connections refused, or every echo
// answered 503), and whether it was asked is read from its own counters.
//
// Entries are made stale at once with max-age=0: an answer stale on arrival
// is kept when stale-while-revalidate, stale-if-error or a validator can
// make use of it, so no test waits for an entry to age except the one that
// checks the end of a stale-if-error window.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/gateway_echo.hpp"
#include "support/metrics_text.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

double cacheMetric(const RedgeProcess& gw, const std::string& name, const std::string& route = "/",
                   const std::string& more_labels = "") {
  return scrapeMetric(
             gw, "redge_gateway_cache_" + name + "{route=\"" + route + "\"" + more_labels + "}")
      .value_or(0);
}

double refreshes(const RedgeProcess& gw, const std::string& result) {
  return cacheMetric(gw, "background_refreshes_total", "/", ",result=\"" + result + "\"");
}

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// "redge; fwd=stale; ttl=-N; detail=stale-if-error", with fwd-status=<status>
// after fwd=stale when the member answered.
bool isStaleIfError(const std::string& cache_status, int status) {
  const std::string head =
      status == 0 ? "redge; fwd=stale; ttl=-"
                  : "redge; fwd=stale; fwd-status=" + std::to_string(status) + "; ttl=-";
  return startsWith(cache_status, head) && cache_status.ends_with("; detail=stale-if-error");
}

HttpReply timedGet(const std::string& url, std::chrono::milliseconds& took,
                   const HeaderList& headers = {}) {
  auto start = std::chrono::steady_clock::now();
  HttpReply r = httpGet(url, headers);
  took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
  return r;
}

}  // namespace

TEST_CASE("gateway cache stale-if-error: a member that refuses connections gets the stale entry",
          "[gateway][cache][stale]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(cachedRoute(R"({"enabled": true})"), webPool(up), {"log.level=debug"}));
  const std::string url = gw.gatewayUrl("/sie?cc=max-age%3D0%2C%20stale-if-error%3D60&nocookie=1");

  HttpReply first = httpGet(url);
  REQUIRE(first.status == 200);
  REQUIRE(first.header("Cache-Status") == "redge; fwd=uri-miss; stored");

  // While the member is up, a stale entry is fetched again as any other.
  HttpReply refetched = httpGet(url);
  CHECK(refetched.header("Cache-Status") == "redge; fwd=stale; stored");
  CHECK(up.stats().echoed == 2);

  up.configure(R"({"down": true, "down_mode": "close"})");
  // Every request gets the stale entry, also once passive health has
  // ejected the member (503 no_healthy_upstream is an error like the rest).
  for (int i = 0; i < 8; ++i) {
    INFO(i);
    HttpReply stale = httpGet(url);
    CHECK(stale.status == 200);
    CHECK(stale.body == refetched.body);
    CHECK(isStaleIfError(stale.header("Cache-Status"), 0));
    CHECK_FALSE(stale.header("Age").empty());
    CHECK_FALSE(stale.hasHeader("Warning"));
    CHECK(stale.header("Cache-Control") == "max-age=0, stale-if-error=60");
  }
  CHECK(cacheMetric(gw, "stale_if_error_total") == 8);
  CHECK(gw.waitForLog("event=gateway_cache_stale_if_error", 2000ms));

  // A URI never stored has nothing to stand in: the gateway's own error.
  HttpReply none = httpGet(gw.gatewayUrl("/other?cc=max-age%3D0%2C%20stale-if-error%3D60"));
  CHECK(none.status >= 502);
  CHECK(none.status <= 503);
  CHECK(none.body.find("\"error\":") != std::string::npos);

  // Back up: the member answers again and its answer replaces the entry.
  up.configure(R"({"down": false})");
  HttpReply back;
  REQUIRE(waitUntil(
      [&] {
        back = httpGet(url);
        return back.header("Cache-Status") == "redge; fwd=stale; stored";
      },
      10000ms));
  CHECK(back.status == 200);
}

TEST_CASE("gateway cache stale-if-error: a member's 503 is absorbed and the stale entry served",
          "[gateway][cache][stale]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis,
                  gatewaySettings(cachedRoute(R"({"enabled": true})"), webPool(up),
                                  {"gateway.timeout_ms=1000"}));
  const std::string url = gw.gatewayUrl("/sie?cc=max-age%3D0%2C%20stale-if-error%3D60&nocookie=1");

  HttpReply first = httpGet(url);
  REQUIRE(first.header("Cache-Status") == "redge; fwd=uri-miss; stored");

  up.configure(R"({"echo_status": 503})");
  HttpReply stale = httpGet(url);
  CHECK(stale.status == 200);
  CHECK(stale.body == first.body);  // not the member's 503 body
  CHECK(isStaleIfError(stale.header("Cache-Status"), 503));
  CHECK(up.stats().echoed == 2);  // the member was asked, and said 503
  CHECK(cacheMetric(gw, "stale_if_error_total") == 1);

  // A member slower than gateway.timeout_ms: the timeout is an error too.
  up.configure(R"({"echo_status": 200, "echo_delay_ms": 3000})");
  std::chrono::milliseconds took{};
  HttpReply slow = timedGet(url, took);
  CHECK(slow.status == 200);
  CHECK(slow.body == first.body);
  CHECK(isStaleIfError(slow.header("Cache-Status"), 0));
  CHECK(took < 2500ms);
  CHECK(cacheMetric(gw, "stale_if_error_total") == 2);
  up.configure(R"({"echo_delay_ms": 0})");

  // The client may ask for it too, for an entry that did not say so: its
  // own stale-if-error (RFC 5861 4).
  const std::string plain = gw.gatewayUrl("/plain?cc=max-age%3D0&etag=p1&nocookie=1");
  up.configure(R"({"echo_status": 200})");
  REQUIRE(httpGet(plain).header("Cache-Status") == "redge; fwd=uri-miss; stored");
  up.configure(R"({"down": true, "down_mode": "close"})");
  HttpReply refused = httpGet(plain);
  CHECK(refused.status == 502);
  CHECK(contains(refused.body, "\"error\":\"upstream_connect_failed\""));
  HttpReply asked = httpGet(plain, {"Cache-Control: stale-if-error=60"});
  CHECK(asked.status == 200);
  CHECK(isStaleIfError(asked.header("Cache-Status"), 0));
  CHECK(cacheMetric(gw, "stale_if_error_total") == 3);
}

TEST_CASE("gateway cache stale-if-error: not past its window", "[gateway][cache][stale]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis, gatewaySettings(cachedRoute(R"({"enabled": true})"), webPool(up)));
  // Two seconds: the Date has whole seconds, so an answer may be up to one
  // second old on arrival.
  const std::string url = gw.gatewayUrl("/sie?cc=max-age%3D0%2C%20stale-if-error%3D2&nocookie=1");
  REQUIRE(httpGet(url).header("Cache-Status") == "redge; fwd=uri-miss; stored");
  up.configure(R"({"echo_status": 503})");
  HttpReply within = httpGet(url);
  CHECK(within.status == 200);
  CHECK(isStaleIfError(within.header("Cache-Status"), 503));
  // Past the window, the member's own 503 goes to the client.
  HttpReply past;
  REQUIRE(waitUntil(
      [&] {
        past = httpGet(url);
        return past.status == 503;
      },
      6000ms));
  CHECK(contains(past.header("Cache-Status"), "fwd=stale"));
  CHECK_FALSE(contains(past.header("Cache-Status"), "stale-if-error"));
}

TEST_CASE("gateway cache stale-if-error: must-revalidate forbids it, the route window grants it",
          "[gateway][cache][stale]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(R"([{"prefix": "/plain/", "pool": "web", "cache": {"enabled": true}},
                          {"prefix": "/grace/", "pool": "web",
                           "cache": {"enabled": true, "stale_if_error_ms": 60000}}])",
                      webPool(up)));
  // Each stored with an ETag (kept for revalidation), stale at once.
  const std::string strict =
      "?cc=max-age%3D0%2C%20must-revalidate%2C%20stale-if-error%3D60&etag=m1";
  const std::string silent = "?cc=max-age%3D0&etag=s1&nocookie=1";
  for (const std::string& t : {"/plain/m" + strict + "&nocookie=1", "/plain/s" + silent,
                               "/grace/m" + strict + "&nocookie=1", "/grace/s" + silent}) {
    INFO(t);
    REQUIRE(httpGet(gw.gatewayUrl(t)).header("Cache-Status") == "redge; fwd=uri-miss; stored");
  }
  up.configure(R"({"down": true, "down_mode": "close"})");

  // must-revalidate: the error, even with stale-if-error and a route window.
  for (const char* route : {"/plain/m", "/grace/m"}) {
    INFO(route);
    HttpReply r = httpGet(gw.gatewayUrl(route + strict + "&nocookie=1"));
    CHECK(r.status == 502);
    CHECK(contains(r.body, "\"error\":\"upstream_connect_failed\""));
  }
  // An answer that says nothing: the error without a route window, the
  // stale entry with one.
  HttpReply plain = httpGet(gw.gatewayUrl("/plain/s" + silent));
  CHECK(plain.status == 502);
  HttpReply grace = httpGet(gw.gatewayUrl("/grace/s" + silent));
  CHECK(grace.status == 200);
  CHECK(grace.header("ETag") == "\"s1\"");
  CHECK(isStaleIfError(grace.header("Cache-Status"), 0));
  CHECK(cacheMetric(gw, "stale_if_error_total", "/grace/") == 1);
  CHECK(cacheMetric(gw, "stale_if_error_total", "/plain/") == 0);
}

TEST_CASE("gateway cache stale-while-revalidate: the stale entry at once, one refresh behind it",
          "[gateway][cache][stale]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(cachedRoute(R"({"enabled": true})"), webPool(up), {"log.level=debug"}));
  // The member takes 1.5 s for every answer: a client answered sooner was
  // answered from the store.
  const std::string url = gw.gatewayUrl(
      "/swr?cc=max-age%3D0%2C%20stale-while-revalidate%3D60&nocookie=1&delay_ms=1500");
  HttpReply first = httpGet(url, {"X-Client: first"});
  REQUIRE(first.header("Cache-Status") == "redge; fwd=uri-miss; stored");
  REQUIRE(up.stats().echoed == 1);
  REQUIRE(parseEcho(first.body).has("X-Client"));

  std::chrono::milliseconds took{};
  HttpReply stale = timedGet(url, took);
  CHECK(stale.status == 200);
  CHECK(took < 1000ms);
  CHECK(stale.body == first.body);
  const std::string cs = stale.header("Cache-Status");
  CHECK(startsWith(cs, "redge; hit; ttl=-"));
  CHECK(cs.ends_with("; detail=stale-while-revalidate"));
  CHECK_FALSE(stale.header("Age").empty());
  // More clients while the refresh runs: all answered at once, none starts
  // another refresh.
  std::vector<HttpReply> more(4);
  std::vector<std::chrono::milliseconds> times(4);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < more.size(); ++i) {
    clients.emplace_back([&, i] { more[i] = timedGet(url, times[i]); });
  }
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < more.size(); ++i) {
    INFO(i);
    CHECK(more[i].status == 200);
    CHECK(times[i] < 1000ms);
    CHECK(contains(more[i].header("Cache-Status"), "detail=stale-while-revalidate"));
  }
  CHECK(refreshes(gw, "replaced") == 0);  // still under way

  // The one refresh ends and replaces the entry.
  REQUIRE(waitUntil([&] { return refreshes(gw, "replaced") == 1; }, 5000ms));
  CHECK(up.stats().echoed == 2);
  CHECK(gw.waitForLog("event=gateway_cache_refreshed", 2000ms));
  CHECK(cacheMetric(gw, "stale_served_total") == 5);
  // What the next client gets is the refresh's answer: the member saw a
  // request of the gateway's own (none of the first client's fields).
  HttpReply after = timedGet(url, took);
  CHECK(took < 1000ms);
  EchoedRequest seen = parseEcho(after.body);
  REQUIRE(seen.valid);
  CHECK(after.body != first.body);
  CHECK_FALSE(seen.has("X-Client"));
  CHECK(seen.target ==
        "/swr?cc=max-age%3D0%2C%20stale-while-revalidate%3D60&nocookie=1&"
        "delay_ms=1500");

  // With a validator the refresh is conditional: a 304 refreshes the entry.
  const std::string tagged =
      gw.gatewayUrl("/tag?cc=max-age%3D0%2C%20stale-while-revalidate%3D60&etag=t1&nocookie=1");
  HttpReply t1 = httpGet(tagged);
  REQUIRE(t1.header("Cache-Status") == "redge; fwd=uri-miss; stored");
  HttpReply t2 = httpGet(tagged);
  CHECK(contains(t2.header("Cache-Status"), "detail=stale-while-revalidate"));
  REQUIRE(waitUntil([&] { return refreshes(gw, "not_modified") == 1; }, 5000ms));
  CHECK(up.stats().not_modified == 1);
  CHECK(httpGet(tagged).body == t1.body);

  // A refresh that fails keeps the stale entry: every answer is still it.
  up.configure(R"({"down": true, "down_mode": "close"})");
  int answered = 0;
  REQUIRE(waitUntil(
      [&] {
        HttpReply t = httpGet(tagged);
        if (t.status == 200 && t.body == t1.body &&
            contains(t.header("Cache-Status"), "detail=stale-while-revalidate")) {
          ++answered;
        }
        return refreshes(gw, "error") >= 1;
      },
      5000ms));
  HttpReply t4 = httpGet(tagged);
  CHECK(t4.status == 200);
  CHECK(t4.body == t1.body);
  CHECK(answered >= 1);
}

TEST_CASE(
    "gateway cache stale-while-revalidate: the route window, and a close with a refresh "
    "under way",
    "[gateway][cache][stale]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(cachedRoute(R"({"enabled": true, "stale_while_revalidate_ms": 60000})"),
                      webPool(up)));
  // The answer says nothing of stale-while-revalidate, and has no
  // validator: the route's window is what keeps it.
  const std::string url = gw.gatewayUrl("/slow?cc=max-age%3D0&nocookie=1");
  REQUIRE(httpGet(url).header("Cache-Status") == "redge; fwd=uri-miss; stored");
  // The member becomes slow: the refresh waits (gateway.timeout_ms 30 s).
  up.configure(R"({"echo_delay_ms": 20000})");
  std::chrono::milliseconds took{};
  HttpReply stale = timedGet(url, took);
  CHECK(stale.status == 200);
  CHECK(took < 1000ms);
  CHECK(contains(stale.header("Cache-Status"), "detail=stale-while-revalidate"));
  REQUIRE(waitUntil([&] { return up.stats().pending == 1; }, 5000ms));
  // Closing with the refresh in flight: it is dropped, nothing waits for
  // it, nothing touches the cache after (under ASan too).
  CHECK(gw.stop(5s) == 0);
}

TEST_CASE("gateway cache Vary: several variants per URI all hit, a write clears them all",
          "[gateway][cache][stale]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web", "cache": {"enabled": true}},
                          {"prefix": "/two/", "pool": "web",
                           "cache": {"enabled": true, "max_variants": 2}}])",
                                  webPool(up)));
  const std::string q = "?cc=max-age%3D60&vary=Accept-Encoding&nocookie=1";
  const std::string url = gw.gatewayUrl("/v" + q);
  auto get = [&](const std::string& u, const std::string& encoding) {
    return httpGet(u, {"Accept-Encoding: " + encoding});
  };

  HttpReply gzip = get(url, "gzip");
  CHECK(gzip.header("Cache-Status") == "redge; fwd=uri-miss; stored");
  HttpReply identity = get(url, "identity");
  CHECK(identity.header("Cache-Status") == "redge; fwd=vary-miss; stored");
  CHECK(gzip.body != identity.body);  // each the member's answer to its own request
  CHECK(up.stats().echoed == 2);
  // Both stay: each client hits its own.
  for (int i = 0; i < 2; ++i) {
    HttpReply g = get(url, "GZIP");  // normalised: the same selection
    CHECK(startsWith(g.header("Cache-Status"), "redge; hit; ttl="));
    CHECK(g.body == gzip.body);
    HttpReply id = get(url, "identity");
    CHECK(startsWith(id.header("Cache-Status"), "redge; hit; ttl="));
    CHECK(id.body == identity.body);
  }
  CHECK(up.stats().echoed == 2);
  // HEAD finds its variant too.
  CHECK(startsWith(httpHead(url, {"Accept-Encoding: identity"}).header("Cache-Status"),
                   "redge; hit"));
  // A plain URI beside it is still one entry under its URI.
  REQUIRE(httpGet(gw.gatewayUrl("/plain?cc=max-age%3D60&nocookie=1")).status == 200);
  CHECK(
      startsWith(httpGet(gw.gatewayUrl("/plain?cc=max-age%3D60&nocookie=1")).header("Cache-Status"),
                 "redge; hit"));
  // The record, two variants, the plain entry.
  CHECK(cacheMetric(gw, "entries") == 4);

  // A write to the URI clears every variant.
  REQUIRE(httpPost(url, "{}").status == 200);
  CHECK(get(url, "gzip").header("Cache-Status") == "redge; fwd=uri-miss; stored");
  CHECK(get(url, "identity").header("Cache-Status") == "redge; fwd=vary-miss; stored");

  // max_variants 2: a third selection drops the oldest.
  const std::string two = gw.gatewayUrl("/two/v" + q);
  for (const char* e : {"gzip", "br", "identity"}) {
    INFO(e);
    CHECK(get(two, e).header("Cache-Status") != "");
  }
  CHECK(startsWith(get(two, "br").header("Cache-Status"), "redge; hit"));
  CHECK(startsWith(get(two, "identity").header("Cache-Status"), "redge; hit"));
  CHECK(get(two, "gzip").header("Cache-Status") == "redge; fwd=vary-miss; stored");
}
