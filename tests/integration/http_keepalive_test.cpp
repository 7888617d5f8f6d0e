// Connection reuse and request framing done right: pipelining, HTTP/1.0
// keep-alive rules, Expect: 100-continue and chunked request bodies.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>

#include "support/image_fixtures.hpp"
#include "support/json_fields.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

TEST_CASE("http: 1000 pipelined requests are answered in order", "[http][pipeline]") {
  TestStack s;
  // Alternate a 200 and a 404 so any reordering or loss shows in the statuses.
  std::string batch;
  std::vector<int> expected;
  for (int i = 0; i < 1000; ++i) {
    if (i % 2 == 0) {
      batch += "GET /?i=" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
      expected.push_back(200);
    } else {
      batch += "GET /nonexistent-" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
      expected.push_back(404);
    }
  }
  RawConnection c(s.redge.appPort());
  REQUIRE(c.send(batch));
  std::vector<int> statuses;
  int bad_bodies = 0;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (statuses.size() < expected.size() && std::chrono::steady_clock::now() < deadline) {
    auto r = c.readResponse(3000ms);
    if (!r) break;
    statuses.push_back(r->status);
    if (r->status == 200 && r->body != "hello world") ++bad_bodies;
    if (r->status == 404 && errorCode(r->body) != "not_found") ++bad_bodies;
  }
  REQUIRE(statuses.size() == expected.size());
  CHECK(statuses == expected);
  CHECK(bad_bodies == 0);
  // Nothing extra after the last answer, and the connection is still usable.
  CHECK(c.pending().empty());
  REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto last = c.readResponse();
  REQUIRE(last);
  CHECK(last->status == 200);
}

TEST_CASE("http: pipelined Redis-backed requests keep their order", "[http][pipeline]") {
  TestStack s;
  std::string batch;
  for (int i = 0; i < 50; ++i) {
    batch += "GET /get HTTP/1.1\r\nHost: x\r\n\r\n";
    batch += "GET /set HTTP/1.1\r\nHost: x\r\n\r\n";
    batch += "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  RawConnection c(s.redge.appPort());
  REQUIRE(c.send(batch));
  std::vector<std::string> kinds;
  for (int i = 0; i < 150; ++i) {
    auto r = c.readResponse(3000ms);
    REQUIRE(r);
    if (r->body == "hello world")
      kinds.push_back("hello");
    else if (r->status == 200 && r->body == "this message will self-destruct in 10 seconds")
      kinds.push_back("get");
    else if (r->status == 404)
      kinds.push_back("get-empty");
    else if (r->status == 200)
      kinds.push_back("set");
    else
      kinds.push_back("status " + std::to_string(r->status));
  }
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    expected.push_back(i == 0 ? "get-empty" : "get");
    expected.push_back("set");
    expected.push_back("hello");
  }
  CHECK(kinds == expected);
}

TEST_CASE("http: HTTP/1.0 without keep-alive gets its answer and a close", "[http]") {
  TestStack s;
  RawConnection c(s.redge.appPort());
  REQUIRE(c.send("GET / HTTP/1.0\r\n\r\n"));
  auto r = c.readResponse();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "hello world");
  CHECK(c.waitForClose(2000ms));
}

TEST_CASE("http: HTTP/1.0 with Connection: keep-alive stays open", "[http]") {
  TestStack s;
  RawConnection c(s.redge.appPort());
  REQUIRE(c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto first = c.readResponse();
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(equalsIgnoreCase(first->header("Connection"), "keep-alive"));
  CHECK_FALSE(c.peerClosed());
  REQUIRE(c.send("GET /nope HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  auto second = c.readResponse();
  REQUIRE(second);
  CHECK(second->status == 404);
}

TEST_CASE("http: HTTP/1.1 with Connection: close gets its answer and a close", "[http]") {
  TestStack s;
  RawConnection c(s.redge.appPort());
  REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c.readResponse();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(c.waitForClose(2000ms));
}

TEST_CASE("http: Expect: 100-continue is answered before the body is sent", "[http][upload]") {
  TestStack s;
  std::string image = pngImage(2048, 5);
  std::string body = multipartBody("c0ntinue", {{"image", image, "cat.png", "image/png"}});
  RawConnection c(s.redge.appPort());
  REQUIRE(
      c.send("POST /upload HTTP/1.1\r\nHost: x\r\n"
             "Content-Type: multipart/form-data; boundary=c0ntinue\r\n"
             "Content-Length: " +
             std::to_string(body.size()) +
             "\r\n"
             "Expect: 100-continue\r\n\r\n"));
  auto interim = c.readResponse(2000ms);
  REQUIRE(interim);
  CHECK(interim->status == 100);
  // No final answer may come before the body.
  c.readFor(200ms);
  CHECK(c.pending().empty());
  CHECK_FALSE(c.peerClosed());

  REQUIRE(c.send(body));
  auto final_answer = c.readResponse();
  REQUIRE(final_answer);
  CHECK(final_answer->status == 201);
  CHECK(jsonInt(final_answer->body, "bytes") == static_cast<int64_t>(image.size()));
  CHECK(jsonString(final_answer->body, "content_type") == std::string("image/png"));
}

TEST_CASE("http: a chunked multipart upload is accepted", "[http][upload]") {
  TestStack s;
  std::string image = jpegImage(3000, 9);
  std::string body = multipartBody("chunky", {{"image", image, "cat.jpg", "image/jpeg"}});
  std::string request =
      "POST /upload HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: multipart/form-data; boundary=chunky\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  // Uneven chunk sizes put chunk edges inside the multipart delimiters too.
  size_t at = 0;
  size_t step = 1;
  while (at < body.size()) {
    size_t n = std::min(step, body.size() - at);
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%zx\r\n", n);
    request += size_line;
    request += body.substr(at, n) + "\r\n";
    at += n;
    step = step * 3 % 701 + 1;
  }
  request += "0\r\n\r\n";
  RawConnection c(s.redge.appPort());
  REQUIRE(c.send(request));
  auto r = c.readResponse();
  REQUIRE(r);
  CHECK(r->status == 201);
  CHECK(jsonInt(r->body, "bytes") == static_cast<int64_t>(image.size()));
  CHECK(jsonString(r->body, "content_type") == std::string("image/jpeg"));

  HttpReply back = httpGet(s.app("/meow"), {"Accept: image/*"});
  REQUIRE(back.status == 200);
  CHECK(back.body == image);
}

TEST_CASE("http: a request split into single bytes is parsed", "[http]") {
  TestStack s;
  RawConnection c(s.redge.appPort());
  std::string request = "GET /?split=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
  for (char ch : request) REQUIRE(c.send(std::string(1, ch)));
  auto r = c.readResponse();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "hello world");
}

TEST_CASE("http: an Upgrade request is answered and the connection closes instead of stalling",
          "[http]") {
  // redge upgrades nothing; llhttp stops parsing after an upgrade request, so
  // the answer says Connection: close and the server closes (a pipelined
  // request behind it is not left hanging until the idle timeout).
  TestStack s;
  RawConnection c(s.redge.appPort());
  REQUIRE(
      c.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
             "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto r = c.readResponse();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("Connection") == "close");
  CHECK(c.waitForClose(3000ms));
  CHECK(stillServes(s.redge));
}
