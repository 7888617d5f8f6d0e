// The cache proxy's HTTP front, black box: keys are written straight into
// Redis with the test's own hiredis connection and read back through
// GET /{key}. What is checked is what a client can see: the value, the
// status and error codes, X-Cache and Age, and that a value keeps being served
// from the local cache (stale on purpose, invalidate=none) until it expires,
// is evicted, or the connection limit turns a client away.

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

TestStack cacheStack(std::vector<std::string> settings = {}) {
  return TestStack(std::move(settings), {}, RedgeServices{.cache_proxy = true});
}

void set(const TestStack& s, const std::string& key, const std::string& value) {
  RedisValue ok = s.redis.command({"SET", key, value});
  REQUIRE(ok.type == RedisValue::Type::Status);
}

double metric(const TestStack& s, const std::string& series) {
  return scrapeMetric(s.redge, series).value_or(-1);
}

}  // namespace

TEST_CASE("cacheproxy: GET /{key} answers Redis's value, MISS first and HIT after",
          "[cacheproxy][http]") {
  TestStack s = cacheStack();
  set(s, "greeting", "hello from redis");

  HttpReply first = httpGet(s.cache("/greeting"));
  REQUIRE(first.status == 200);
  CHECK(first.body == "hello from redis");
  CHECK(first.header("Content-Type") == "application/octet-stream");
  CHECK(first.header("X-Cache") == "MISS");
  CHECK(first.header("Age") == "0");

  HttpReply second = httpGet(s.cache("/greeting"));
  REQUIRE(second.status == 200);
  CHECK(second.body == "hello from redis");
  CHECK(second.header("Content-Type") == "application/octet-stream");
  CHECK(second.header("X-Cache") == "HIT");
  CHECK(second.header("Age") == "0");

  HttpReply head = httpHead(s.cache("/greeting"));
  REQUIRE(head.status == 200);
  CHECK(head.header("Content-Length") == std::to_string(std::string("hello from redis").size()));
  CHECK(head.body.empty());

  // HEAD over a raw socket: the head says how long the body would be, and
  // no body follows it (the next response on the connection starts at once).
  RawConnection c(s.redge.cacheHttpPort());
  REQUIRE(c.send(
      "HEAD /greeting HTTP/1.1\r\nHost: x\r\n\r\nGET /greeting HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto raw_head = c.readResponse(3000ms, /*head_request=*/true);
  REQUIRE(raw_head);
  CHECK(raw_head->status == 200);
  CHECK(raw_head->header("Content-Length") == "16");
  auto after_head = c.readResponse(3000ms);
  REQUIRE(after_head);
  CHECK(after_head->status == 200);
  CHECK(after_head->body == "hello from redis");

  HttpReply missing = httpGet(s.cache("/no-such-key"));
  REQUIRE(missing.status == 404);
  CHECK(missing.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(missing.body) == "not_found");
  CHECK(httpHead(s.cache("/no-such-key")).status == 404);

  // Absent keys are looked up again: one set a moment later is found.
  set(s, "no-such-key", "now it exists");
  HttpReply found = httpGet(s.cache("/no-such-key"));
  CHECK(found.status == 200);
  CHECK(found.body == "now it exists");
}

TEST_CASE("cacheproxy: keys are percent-decoded paths of any bytes, values are binary-safe",
          "[cacheproxy][http]") {
  TestStack s = cacheStack();
  const std::string binary_value = "x\0y\r\nz\xff\r\n\r\n"s;
  struct Case {
    std::string target;
    std::string key;
    std::string value;
  };
  const std::vector<Case> cases = {
      {"/a%20b%2Fc", "a b/c", "space and encoded slash"},
      {"/dir/sub/leaf", "dir/sub/leaf", "literal slashes"},
      {"/a%00b", "a\0b"s, "nul in the key"},
      {"/%C3%A9t%C3%A9", "\xC3\xA9t\xC3\xA9", "utf-8 key"},
      {"/a+b", "a+b", "plus is a plus in a path"},
      {"/bin", "bin", binary_value},
      {"/%01%02%7F%80%FE", "\x01\x02\x7f\x80\xfe", "control and high bytes"},
  };
  for (const auto& c : cases) set(s, c.key, c.value);
  for (const auto& c : cases) {
    INFO("target " << c.target);
    HttpReply miss = httpGet(s.cache(c.target));
    REQUIRE(miss.status == 200);
    CHECK(miss.body == c.value);
    CHECK(miss.header("X-Cache") == "MISS");
    HttpReply hit = httpGet(s.cache(c.target));
    REQUIRE(hit.status == 200);
    CHECK(hit.body == c.value);
    CHECK(hit.header("X-Cache") == "HIT");
    CHECK(hit.header("Content-Length") == std::to_string(c.value.size()));
  }
  // Lower-case hex names the same key as upper-case, so it is already cached.
  HttpReply lower = httpGet(s.cache("/%c3%a9t%c3%a9"));
  CHECK(lower.status == 200);
  CHECK(lower.body == "utf-8 key");
  CHECK(lower.header("X-Cache") == "HIT");
  // The raw value in Redis was not touched by the round trip.
  CHECK(s.redis.command({"GET", "bin"}).str == binary_value);
}

TEST_CASE("cacheproxy: POST, PUT and DELETE are 405 method_not_allowed with Allow",
          "[cacheproxy][http]") {
  TestStack s = cacheStack();
  set(s, "k", "v");

  HttpReply post = httpPost(s.cache("/k"), "new value");
  REQUIRE(post.status == 405);
  CHECK(errorCode(post.body) == "method_not_allowed");
  CHECK(post.header("Allow") == "GET, HEAD");
  CHECK(post.header("Content-Type").rfind("application/json", 0) == 0);

  for (const char* method : {"PUT", "DELETE"}) {
    INFO(method);
    RawConnection c(s.redge.cacheHttpPort());
    REQUIRE(c.send(std::string(method) + " /k HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
    auto r = c.readResponse();
    REQUIRE(r);
    CHECK(r->status == 405);
    CHECK(errorCode(r->body) == "method_not_allowed");
    CHECK(r->header("Allow") == "GET, HEAD");
  }
  // None of them wrote anything.
  CHECK(s.redis.command({"GET", "k"}).str == "v");
  CHECK(httpGet(s.cache("/k")).body == "v");
}

TEST_CASE("cacheproxy: malformed percent-encoding is 400 bad_key", "[cacheproxy][http]") {
  TestStack s = cacheStack();
  for (const char* target : {"/a%zz", "/a%2", "/a%", "/%g0"}) {
    INFO(target);
    HttpReply r = httpGet(s.cache(target));
    CHECK(r.status == 400);
    CHECK(errorCode(r.body) == "bad_key");
  }
  // Nothing went to Redis for them, and the proxy still serves.
  CHECK(metric(s, "redge_cache_misses_total") == 0);
  set(s, "a", "fine");
  CHECK(httpGet(s.cache("/a")).body == "fine");
}

TEST_CASE("cacheproxy: Age counts the whole seconds an entry has been cached",
          "[cacheproxy][http]") {
  TestStack s = cacheStack({"cacheproxy.ttl_ms=20000"});
  set(s, "aging", "v");
  auto before_miss = std::chrono::steady_clock::now();
  HttpReply miss = httpGet(s.cache("/aging"));
  REQUIRE(miss.status == 200);
  CHECK(miss.header("Age") == "0");

  // Poll (HITs, which must not reset the age) until Age turns 1.
  HttpReply last;
  bool aged = waitUntil(
      [&] {
        last = httpGet(s.cache("/aging"));
        return last.header("Age") != "0";
      },
      4000ms, 50ms);
  long long waited = msSince(before_miss);
  REQUIRE(aged);
  CHECK(last.header("Age") == "1");
  CHECK(last.header("X-Cache") == "HIT");
  // The entry was stored after the request went out, so a full second has
  // passed on the test's clock too (a little slack for clock granularity).
  CHECK(waited >= 990);
  CHECK(waited < 2500);
}

TEST_CASE("cacheproxy: after the first read the proxy serves its own copy, not Redis's",
          "[cacheproxy][http]") {
  TestStack s = cacheStack({"cacheproxy.invalidate=none"});
  set(s, "k", "old");
  HttpReply miss = httpGet(s.cache("/k"));
  REQUIRE(miss.status == 200);
  REQUIRE(miss.body == "old");
  REQUIRE(miss.header("X-Cache") == "MISS");

  set(s, "k", "new");
  for (int i = 0; i < 5; ++i) {
    HttpReply hit = httpGet(s.cache("/k"));
    REQUIRE(hit.status == 200);
    CHECK(hit.body == "old");
    CHECK(hit.header("X-Cache") == "HIT");
    std::this_thread::sleep_for(50ms);
  }
  // Even a deleted key stays served until its entry expires.
  REQUIRE(s.redis.command({"DEL", "k"}).integer == 1);
  HttpReply after_del = httpGet(s.cache("/k"));
  CHECK(after_del.status == 200);
  CHECK(after_del.body == "old");
}

TEST_CASE("cacheproxy: entries expire after cacheproxy.ttl_ms and are read again",
          "[cacheproxy][http]") {
  TestStack s = cacheStack({"cacheproxy.ttl_ms=500"});
  set(s, "k", "v1");
  auto stored = std::chrono::steady_clock::now();
  HttpReply miss = httpGet(s.cache("/k"));
  REQUIRE(miss.status == 200);
  REQUIRE(miss.header("X-Cache") == "MISS");

  set(s, "k", "v2");
  HttpReply hit = httpGet(s.cache("/k"));
  long long hit_at = msSince(stored);
  INFO("the HIT was read " << hit_at << " ms after the MISS was sent");
  CHECK(hit_at < 500);
  CHECK(hit.body == "v1");
  CHECK(hit.header("X-Cache") == "HIT");

  std::this_thread::sleep_until(stored + 700ms);
  HttpReply fresh = httpGet(s.cache("/k"));
  REQUIRE(fresh.status == 200);
  CHECK(fresh.body == "v2");
  CHECK(fresh.header("X-Cache") == "MISS");
  CHECK(fresh.header("Age") == "0");
  CHECK(metric(s, "redge_cache_expirations_total") >= 1);
  // And the new value is cached in turn.
  HttpReply again = httpGet(s.cache("/k"));
  CHECK(again.body == "v2");
  CHECK(again.header("X-Cache") == "HIT");
}

TEST_CASE("cacheproxy: at capacity the least recently read key is evicted", "[cacheproxy][http]") {
  TestStack s = cacheStack({"cacheproxy.capacity=3"});
  for (const char* k : {"k1", "k2", "k3", "k4"}) set(s, k, std::string("old-") + k);

  for (const char* k : {"k1", "k2", "k3"}) {
    INFO(k);
    HttpReply r = httpGet(s.cache(std::string("/") + k));
    CHECK(r.header("X-Cache") == "MISS");
    CHECK(r.body == std::string("old-") + k);
  }
  // k1 becomes the most recently read; k2 is now the least.
  CHECK(httpGet(s.cache("/k1")).header("X-Cache") == "HIT");
  HttpReply k4 = httpGet(s.cache("/k4"));
  CHECK(k4.header("X-Cache") == "MISS");
  CHECK(k4.body == "old-k4");
  CHECK(metric(s, "redge_cache_evictions_total") == 1);
  CHECK(metric(s, "redge_cache_entries") == 3);

  for (const char* k : {"k1", "k2", "k3", "k4"}) set(s, k, std::string("new-") + k);
  for (const char* k : {"k1", "k3", "k4"}) {
    INFO(k);
    HttpReply r = httpGet(s.cache(std::string("/") + k));
    CHECK(r.header("X-Cache") == "HIT");
    CHECK(r.body == std::string("old-") + k);
  }
  HttpReply k2 = httpGet(s.cache("/k2"));
  CHECK(k2.header("X-Cache") == "MISS");
  CHECK(k2.body == "new-k2");
}

TEST_CASE("cacheproxy: an HTTP connection past max_connections gets 503 too_many_connections",
          "[cacheproxy][http][limits]") {
  TestStack s = cacheStack({"cacheproxy.max_connections=3"});
  set(s, "k", "v");
  const std::string request = "GET /k HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 3; ++i) {
    INFO("connection " << i);
    open.push_back(std::make_unique<RawConnection>(s.redge.cacheHttpPort()));
    // Two requests each: the connections are kept alive.
    for (int j = 0; j < 2; ++j) {
      REQUIRE(open.back()->send(request));
      auto r = open.back()->readResponse();
      REQUIRE(r);
      CHECK(r->status == 200);
      CHECK(r->body == "v");
    }
  }

  RawConnection fourth(s.redge.cacheHttpPort());
  auto rejected = fourth.readResponse(3000ms);
  REQUIRE(rejected);
  CHECK(rejected->status == 503);
  CHECK(errorCode(rejected->body) == "too_many_connections");
  CHECK(rejected->header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(fourth.waitForClose(2000ms));
  fourth.close();  // a well-behaved client closes its side in turn

  // The three that were admitted still work.
  for (auto& c : open) {
    REQUIRE(c->send(request));
    auto r = c->readResponse();
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  // Closing one makes room again.
  open.front()->close();
  auto freed = std::chrono::steady_clock::now();
  bool admitted = waitUntil([&] { return httpGet(s.cache("/k")).status == 200; }, 3000ms, 20ms);
  CHECK(admitted);
  CHECK(msSince(freed) < 1000);
}

// A refused client that has read its 503 but not yet closed its socket is
// not being served; it must not keep one of the max_connections slots, or
// a slot freed by a served client stays unusable for as long as the server
// lingers on the refused one.
TEST_CASE("cacheproxy: a refused HTTP connection does not hold a connection slot",
          "[cacheproxy][http][limits]") {
  TestStack s = cacheStack({"cacheproxy.max_connections=2"});
  set(s, "k", "v");
  std::vector<std::unique_ptr<RawConnection>> served;
  for (int i = 0; i < 2; ++i) {
    served.push_back(std::make_unique<RawConnection>(s.redge.cacheHttpPort()));
    REQUIRE(served.back()->send("GET /k HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = served.back()->readResponse();
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
  RawConnection refused(s.redge.cacheHttpPort());
  auto rejected = refused.readResponse(3000ms);
  REQUIRE(rejected);
  REQUIRE(rejected->status == 503);
  REQUIRE(refused.waitForClose(2000ms));
  // `refused` stays open on the client side from here on.

  served.front()->close();
  auto freed = std::chrono::steady_clock::now();
  HttpReply last;
  bool admitted = waitUntil(
      [&] {
        last = httpGet(s.cache("/k"));
        return last.status == 200;
      },
      3000ms, 20ms);
  long long waited = msSince(freed);
  INFO("a new client was admitted " << waited << " ms after a served one closed (last status "
                                    << last.status << ")");
  CHECK(admitted);
  CHECK(waited < 500);
}

TEST_CASE("cacheproxy: /metrics counts hits, misses, entries and bytes", "[cacheproxy][metrics]") {
  TestStack s = cacheStack({"cacheproxy.capacity=2"});
  set(s, "alpha", "12345");
  set(s, "beta", "1234567890");
  set(s, "gamma", "xyz");

  REQUIRE(httpGet(s.cache("/alpha")).status == 200);    // miss
  REQUIRE(httpGet(s.cache("/alpha")).status == 200);    // hit
  REQUIRE(httpGet(s.cache("/beta")).status == 200);     // miss
  REQUIRE(httpGet(s.cache("/beta")).status == 200);     // hit
  REQUIRE(httpGet(s.cache("/beta")).status == 200);     // hit
  REQUIRE(httpGet(s.cache("/missing")).status == 404);  // miss, not stored
  REQUIRE(httpGet(s.cache("/gamma")).status == 200);    // miss, evicts alpha

  HttpReply r = httpGet(s.admin("/metrics"));
  REQUIRE(r.status == 200);
  INFO(r.body);
  CHECK(metricValue(r.body, "redge_cache_hits_total") == 3);
  CHECK(metricValue(r.body, "redge_cache_misses_total") == 4);
  CHECK(metricValue(r.body, "redge_cache_evictions_total") == 1);
  CHECK(metricValue(r.body, "redge_cache_expirations_total") == 0);
  CHECK(metricValue(r.body, "redge_cache_invalidations_total") == 0);
  CHECK(metricValue(r.body, "redge_cache_coalesced_total") == 0);
  CHECK(metricValue(r.body, "redge_cache_entries") == 2);
  // beta + gamma, keys and values.
  CHECK(metricValue(r.body, "redge_cache_bytes") == 4 + 10 + 5 + 3);
  CHECK(metricValue(r.body, "redge_cache_inflight") == 0);
  CHECK(metricValue(r.body, "redge_cache_waiting") == 0);
  CHECK(r.body.find("# TYPE redge_cache_hits_total counter") != std::string::npos);
  CHECK(r.body.find("# TYPE redge_cache_entries gauge") != std::string::npos);
}
