// The HTTP core's defences, from the wire: oversized heads and bodies,
// malformed and smuggling-shaped requests, the connection cap, slow and idle
// clients. Each answer is checked for its status and error code, the
// connection for being closed, and redge for still serving afterwards.

#include <catch2/catch.hpp>
#include <memory>

#include "support/json_fields.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

const std::string kHello = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

// Sends `request` on a fresh connection and returns the one answer, which
// must be followed by the server closing the connection.
RawResponse answerThenClose(int port, const std::string& request) {
  RawConnection c(port);
  REQUIRE(c.send(request));
  auto r = c.readResponse(3000ms);
  REQUIRE(r);
  CHECK(c.waitForClose(2000ms));
  return *r;
}

}  // namespace

TEST_CASE("http: a head over max_header_bytes is 431 headers_too_large and closes", "[http]") {
  TestStack s({"http.max_header_bytes=1024"});
  std::string request =
      "GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(2000, 'a') + "\r\n\r\n";
  RawResponse r = answerThenClose(s.redge.appPort(), request);
  CHECK(r.status == 431);
  CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(r.body) == "headers_too_large");
  CHECK(stillServes(s.redge));
}

TEST_CASE("http: a head under max_header_bytes is served", "[http]") {
  TestStack s({"http.max_header_bytes=1024"});
  RawConnection c(s.redge.appPort());
  REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(500, 'a') + "\r\n\r\n"));
  auto r = c.readResponse();
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("http: a declared body over max_body_bytes is 413 before it is sent", "[http]") {
  TestStack s({"http.max_body_bytes=100"});
  RawConnection c(s.redge.appPort());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(
      c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
             "Content-Length: 1000000\r\n\r\n"));
  auto r = c.readResponse(1000ms);
  REQUIRE(r);
  CHECK(msSince(start) < 1000);
  CHECK(r->status == 413);
  CHECK(errorCode(r->body) == "body_too_large");
  CHECK(c.waitForClose(2000ms));
  CHECK(stillServes(s.redge));
}

TEST_CASE("http: a chunked body over max_body_bytes is 413", "[http]") {
  TestStack s({"http.max_body_bytes=100"});
  std::string request = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) request += "40\r\n" + std::string(64, 'b') + "\r\n";
  request += "0\r\n\r\n";
  RawConnection c(s.redge.appPort());
  // The server may close as soon as the limit is crossed; what it sent must still be there.
  c.send(request);
  auto r = c.readResponse(3000ms);
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(errorCode(r->body) == "body_too_large");
  CHECK(c.waitForClose(2000ms));
  CHECK(stillServes(s.redge));
}

TEST_CASE("http: a malformed request is 400 bad_request and closes", "[http]") {
  TestStack s;
  RawResponse r = answerThenClose(s.redge.appPort(), "GARBAGE\r\n\r\n");
  CHECK(r.status == 400);
  CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(r.body) == "bad_request");
  CHECK(stillServes(s.redge));
}

TEST_CASE("http: binary noise is 400 and closes", "[http]") {
  TestStack s;
  std::string noise;
  for (int i = 0; i < 512; ++i) noise.push_back(static_cast<char>((i * 37 + 11) & 0xff));
  noise += "\r\n\r\n";
  RawResponse r = answerThenClose(s.redge.appPort(), noise);
  CHECK(r.status == 400);
  CHECK(stillServes(s.redge));
}

TEST_CASE("http: request smuggling shapes are 400 and close", "[http]") {
  TestStack s;
  std::string request;
  SECTION("Content-Length together with Transfer-Encoding: chunked") {
    request =
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n";
  }
  SECTION("two different Content-Length headers") {
    request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!";
  }
  SECTION("a Content-Length that is not a number") {
    request = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n";
  }
  // A smuggled second request must never be answered.
  request += kHello;
  RawConnection c(s.redge.appPort());
  c.send(request);
  auto r = c.readResponse(3000ms);
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(errorCode(r->body) == "bad_request");
  CHECK(c.waitForClose(2000ms));
  CHECK(c.pending().empty());
  CHECK(stillServes(s.redge));
}

TEST_CASE("http: connections beyond max_connections get 503 and are closed", "[http]") {
  TestStack s({"http.max_connections=3"});
  int port = s.redge.appPort();
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawConnection>(port));
    REQUIRE(held.back()->send(kHello));
    auto r = held.back()->readResponse();
    REQUIRE(r);
    CHECK(r->status == 200);
  }

  {
    RawConnection extra(port);
    extra.send(kHello);
    auto r = extra.readResponse(3000ms);
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(r->header("Content-Type").rfind("application/json", 0) == 0);
    CHECK(errorCode(r->body) == "too_many_connections");
    CHECK(extra.waitForClose(2000ms));
  }

  // The held connections are still good.
  REQUIRE(held[0]->send(kHello));
  auto again = held[0]->readResponse();
  REQUIRE(again);
  CHECK(again->status == 200);

  // Once one closes, its slot is free again (the server learns of the close
  // asynchronously, hence the retry).
  held.pop_back();
  RawResponse last;
  bool served = waitUntil(
      [&] {
        RawConnection c(port);
        c.send(kHello);
        auto r = c.readResponse(2000ms);
        if (!r) return false;
        last = *r;
        return r->status == 200;
      },
      3000ms, 50ms);
  CHECK(served);
  CHECK(last.status == 200);
  held.clear();
  CHECK(waitUntil([&] { return stillServes(s.redge); }, 3000ms, 50ms));
}

TEST_CASE("http: a head that never completes gets 408 request_timeout", "[http]") {
  TestStack s({"http.header_timeout_ms=500"});
  RawConnection c(s.redge.appPort());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\n"));
  auto r = c.readResponse(1500ms);
  REQUIRE(r);
  long long waited = msSince(start);
  CHECK(waited >= 400);
  CHECK(waited < 1500);
  CHECK(r->status == 408);
  CHECK(errorCode(r->body) == "request_timeout");
  CHECK(c.waitForClose(1000ms));
  CHECK(stillServes(s.redge));
}

TEST_CASE("http: a head trickled byte by byte still meets the header timeout", "[http]") {
  // Slowloris keeps a connection alive with a byte now and then; the timeout
  // covers the whole head, not the gap between bytes.
  TestStack s({"http.header_timeout_ms=500"});
  RawConnection c(s.redge.appPort());
  auto start = std::chrono::steady_clock::now();
  std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  size_t sent = 0;
  while (msSince(start) < 1500 && !c.peerClosed()) {
    if (sent < head.size() && !c.send(head.substr(sent++, 1))) break;
    c.readFor(100ms);
    if (!c.pending().empty()) break;
  }
  auto r = c.readResponse(500ms);
  REQUIRE(r);
  CHECK(r->status == 408);
  CHECK(msSince(start) < 1500);
  CHECK(c.waitForClose(1000ms));
  CHECK(stillServes(s.redge));
}

TEST_CASE("http: an idle keep-alive connection is closed quietly", "[http]") {
  TestStack s({"http.idle_timeout_ms=500"});
  RawConnection c(s.redge.appPort());
  REQUIRE(c.send(kHello));
  auto r = c.readResponse();
  REQUIRE(r);
  REQUIRE(r->status == 200);
  auto start = std::chrono::steady_clock::now();
  CHECK(c.waitForClose(1500ms));
  CHECK(msSince(start) >= 300);
  // Quietly: no 408 or other bytes for a client that was between requests.
  CHECK(c.pending().empty());
}
