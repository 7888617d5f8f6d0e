// The app service's plain routes against a real Redis: hello, the
// self-destructing message, the recent-URL list, and the error answers for
// unknown routes and wrong methods.

#include <catch2/catch.hpp>

#include "support/http_client.hpp"
#include "support/json_fields.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

const std::string kMessage = "this message will self-destruct in 10 seconds";

std::vector<std::string> listOf(const RedisValue& v) {
  std::vector<std::string> out;
  for (const auto& e : v.elements) out.push_back(e.str);
  return out;
}

std::vector<std::string> recentInRedis(const RedisServer& redis) {
  return listOf(redis.command({"LRANGE", "redge:app:recent", "0", "-1"}));
}

}  // namespace

TEST_CASE("app: GET / says hello world", "[app]") {
  TestStack s;
  HttpReply r = httpGet(s.app("/"));
  REQUIRE(r.status == 200);
  CHECK(r.body == "hello world");
  CHECK(r.header("Server") == "redge");
  CHECK(r.hasHeader("Date"));
  CHECK(r.header("Content-Type").rfind("text/plain", 0) == 0);
  CHECK(r.header("Content-Length") == "11");
}

TEST_CASE("app: a query string does not change the route of /", "[app]") {
  TestStack s;
  HttpReply r = httpGet(s.app("/?i=42"));
  REQUIRE(r.status == 200);
  CHECK(r.body == "hello world");
}

TEST_CASE("app: HEAD / has the length of hello world and no body", "[app]") {
  TestStack s;
  HttpReply curl = httpHead(s.app("/"));
  REQUIRE(curl.status == 200);
  CHECK(curl.header("Content-Length") == "11");
  CHECK(curl.body.empty());

  // On the wire: if any body bytes followed the HEAD answer, they would be
  // read as the start of the next response.
  RawConnection c(s.redge.appPort());
  REQUIRE(c.send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.readResponse(5s, /*head_request=*/true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("Content-Length") == "11");
  auto get = c.readResponse();
  REQUIRE(get);
  CHECK(get->status == 200);
  CHECK(get->body == "hello world");
}

TEST_CASE("app: GET /set stores the message with a TTL and GET /get reads it", "[app]") {
  TestStack s;
  HttpReply set = httpGet(s.app("/set"));
  REQUIRE(set.status == 200);
  CHECK(set.header("Content-Type").rfind("text/plain", 0) == 0);

  RedisValue stored = s.redis.command({"GET", "redge:app:message"});
  REQUIRE(stored.type == RedisValue::Type::String);
  CHECK(stored.str == kMessage);
  RedisValue ttl = s.redis.command({"TTL", "redge:app:message"});
  REQUIRE(ttl.type == RedisValue::Type::Integer);
  CHECK(ttl.integer > 0);
  CHECK(ttl.integer <= 10);

  HttpReply get = httpGet(s.app("/get"));
  REQUIRE(get.status == 200);
  CHECK(get.body == kMessage);
  CHECK(get.header("Content-Type").rfind("text/plain", 0) == 0);
}

TEST_CASE("app: GET /get before any /set is 404 not_found", "[app]") {
  TestStack s;
  HttpReply get = httpGet(s.app("/get"));
  REQUIRE(get.status == 404);
  CHECK(get.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(get.body) == "not_found");
}

TEST_CASE("app: the message self-destructs after app.message_ttl_s", "[app]") {
  TestStack s({"app.message_ttl_s=1"});
  auto start = std::chrono::steady_clock::now();
  REQUIRE(httpGet(s.app("/set")).status == 200);
  REQUIRE(httpGet(s.app("/get")).status == 200);

  HttpReply gone;
  bool expired = waitUntil(
      [&] {
        gone = httpGet(s.app("/get"));
        return gone.status == 404;
      },
      3000ms, 50ms);
  REQUIRE(expired);
  // Redis expires a 1 s key no earlier than about a second after it was set.
  CHECK(msSince(start) >= 900);
  CHECK(gone.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(gone.body) == "not_found");
  CHECK(jsonString(gone.body, "message").has_value());
}

TEST_CASE("app: every request is recorded newest first and trimmed to app.recent_size", "[app]") {
  TestStack s;
  const std::vector<std::string> targets = {"/one",  "/two?a=1&b=2", "/",   "/three",
                                            "/four", "/five?z",      "/six"};
  for (const auto& t : targets) {
    HttpReply r = httpGet(s.app(t));
    REQUIRE(r.status != 0);
  }
  const std::vector<std::string> expected = {"/six", "/five?z", "/four", "/three", "/"};
  // The record is written to Redis just after the response, so poll for it.
  bool recorded = waitUntil([&] { return recentInRedis(s.redis) == expected; }, 2000ms);
  CHECK(recorded);
  CHECK(recentInRedis(s.redis) == expected);

  HttpReply recent = httpGet(s.app("/recent"), {"Accept: application/json"});
  REQUIRE(recent.status == 200);
  CHECK(recent.header("Content-Type").rfind("application/json", 0) == 0);
  auto list = jsonStringArray(recent.body);
  REQUIRE(list);
  // /recent is recorded before the list is read, so it leads its own answer.
  const std::vector<std::string> with_self = {"/recent", "/six", "/five?z", "/four", "/three"};
  CHECK(*list == with_self);
}

TEST_CASE("app: app.recent_size sets how many URLs are kept", "[app]") {
  TestStack s({"app.recent_size=2"});
  for (const char* t : {"/a", "/b", "/c"}) REQUIRE(httpGet(s.app(t)).status == 404);
  const std::vector<std::string> expected = {"/c", "/b"};
  CHECK(waitUntil([&] { return recentInRedis(s.redis) == expected; }, 2000ms));
  HttpReply recent = httpGet(s.app("/recent"), {"Accept: application/json"});
  REQUIRE(recent.status == 200);
  auto list = jsonStringArray(recent.body);
  REQUIRE(list);
  CHECK(*list == std::vector<std::string>{"/recent", "/c"});
}

TEST_CASE("app: GET /recent is an HTML list with the URLs escaped", "[app]") {
  TestStack s;
  REQUIRE(httpGet(s.app("/p?s=%3Cscript%3Ealert(1)%3C/script%3E")).status == 404);
  {
    // curl will not send a raw '<' or '"' in a URL; a hostile client will.
    RawConnection c(s.redge.appPort());
    REQUIRE(c.send("GET /x?q=<b>&y=\"1\" HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.readResponse();
    REQUIRE(r);
    CHECK(r->status == 404);
  }
  HttpReply recent = httpGet(s.app("/recent"));
  REQUIRE(recent.status == 200);
  CHECK(recent.header("Content-Type").rfind("text/html", 0) == 0);
  CHECK(recent.body.find("<ol>") != std::string::npos);
  CHECK(recent.body.find("</ol>") != std::string::npos);
  CHECK(recent.body.find("/x?q=&lt;b&gt;&amp;y=&quot;1&quot;") != std::string::npos);
  CHECK(recent.body.find("<b>") == std::string::npos);
  CHECK(recent.body.find("/p?s=%3Cscript%3Ealert(1)%3C/script%3E") != std::string::npos);
  CHECK(recent.body.find("<script>") == std::string::npos);
  // Newest first: /recent, then the raw request, then the percent-encoded one.
  size_t self = recent.body.find("<li>/recent</li>");
  size_t raw = recent.body.find("/x?q=&lt;b&gt;");
  size_t encoded = recent.body.find("/p?s=%3C");
  REQUIRE(self != std::string::npos);
  CHECK(self < raw);
  CHECK(raw < encoded);
  CHECK(stillServes(s.redge));
}

TEST_CASE("app: an unknown route is 404 not_found in JSON", "[app]") {
  TestStack s;
  HttpReply r = httpGet(s.app("/no/such/route"));
  REQUIRE(r.status == 404);
  CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(r.body) == "not_found");
  CHECK(r.header("Server") == "redge");
}

TEST_CASE("app: POST /get is 405 method_not_allowed with Allow", "[app]") {
  TestStack s;
  HttpReply r = httpPost(s.app("/get"), "x=1", {"Content-Type: application/x-www-form-urlencoded"});
  REQUIRE(r.status == 405);
  CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(r.body) == "method_not_allowed");
  CHECK(r.header("Allow") == "GET, HEAD");
}
