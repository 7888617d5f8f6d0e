// Request framing, host rules and request-smuggling shapes (RFC 9112), one row
// per case, each run against every HTTP listener redge opens (app, admin and
// the cache proxy), because every listener shares the one HTTP core and each
// must refuse the same bytes the same way. Also: a body trickled below
// http.body_min_rate meets its deadline.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

struct FramingCase {
  const char* name;
  std::string request;
  int status;        // the first answer's status
  const char* code;  // its error code, or "" for a success
  bool closes;       // the connection ends after it
};

// Every row ends with a second request on the same connection: a row that
// must close proves nothing after it is answered (no smuggled request), and
// a row that keeps the connection proves it is still in step.
const std::string kFollowUp = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

std::vector<FramingCase> framingTable() {
  return {
      {"Transfer-Encoding: gzip, chunked is 501 (a coding redge does not implement)",
       "POST /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501,
       "unsupported_transfer_coding", true},
      {"Transfer-Encoding split over two lines, gzip then chunked, is 501",
       "POST /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       501, "unsupported_transfer_coding", true},
      {"Transfer-Encoding: gzip alone (chunked not final) is 400",
       "POST /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400, "bad_request",
       true},
      {"chunked twice is 400",
       "POST /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
       400, "bad_request", true},
      {"Content-Length with Transfer-Encoding is 400",
       "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: "
       "chunked\r\n\r\n0\r\n\r\n",
       400, "bad_request", true},
      {"two different Content-Lengths are 400",
       "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400,
       "bad_request", true},
      {"a Content-Length that is not a number is 400",
       "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 3x\r\n\r\nabc", 400, "bad_request", true},
      {"whitespace before a header's colon is 400 (Host)", "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
       400, "bad_request", true},
      {"whitespace before a header's colon is 400 (any header)",
       "GET / HTTP/1.1\r\nHost: x\r\nX-Any : y\r\n\r\n", 400, "bad_request", true},
      {"a tab before a header's colon is 400", "GET / HTTP/1.1\r\nHost: x\r\nX-Any\t: y\r\n\r\n",
       400, "bad_request", true},
      {"HTTP/1.1 without Host is 400", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "bad_request",
       true},
      {"two Host headers are 400", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
       "bad_request", true},
      {"HTTP/1.0 with two Host headers is 400", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400,
       "bad_request", true},
      {"a bare LF line ending is 400", "GET / HTTP/1.1\nHost: x\n\n", 400, "bad_request", true},
      {"an obsolete line folding is read as one space (RFC 9112 5.2)",
       "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 200, "", false},
      {"a chunk size that is not hex is 400",
       "POST /nope HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
       400, "bad_request", true},
      {"an Expect other than 100-continue is 417",
       "GET / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", 417, "expectation_failed", true},
      // Accepted shapes: the connection stays in step for the follow-up.
      {"an absolute-form target is routed by its path (RFC 9112 3.2.2)",
       "GET http://example.test/healthz HTTP/1.1\r\nHost: example.test\r\n\r\n", 200, "", false},
      {"an absolute-form target with a query is routed by its path",
       "GET http://example.test/healthz?x=1 HTTP/1.1\r\nHost: example.test\r\n\r\n", 200, "",
       false},
      {"HTTP/1.0 without Host is served", "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
       200, "", false},
      {"plain chunked is read as chunked",
       "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
       "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
       405, "method_not_allowed", false},
      {"Transfer-Encoding is matched without regard to case",
       "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n", 405,
       "method_not_allowed", false},
  };
}

void runTable(int port, const char* listener) {
  for (const FramingCase& row : framingTable()) {
    INFO("listener: " << listener << "; case: " << row.name);
    RawConnection c(port);
    REQUIRE(c.send(row.request + kFollowUp));
    auto r = c.readResponse(3000ms);
    REQUIRE(r);
    CHECK(r->status == row.status);
    if (row.code[0] != '\0') CHECK(errorCode(r->body) == row.code);
    if (row.closes) {
      CHECK(c.waitForClose(3000ms));
      // Nothing after the refused request was taken as a request.
      CHECK(c.pending().empty());
    } else {
      auto follow = c.readResponse(3000ms);
      REQUIRE(follow);
      CHECK(follow->status != 400);
    }
  }
}

}  // namespace

TEST_CASE("http framing: the RFC 9112 table on every HTTP listener", "[http][framing]") {
  TestStack s({}, {}, RedgeServices{.cache_proxy = true});
  // /healthz exists on admin only; the others answer 404 for it, which is
  // still an answer in step. Check the row status on admin, shape elsewhere.
  runTable(s.redge.adminPort(), "admin");
  SECTION("app and cache proxy refuse the same shapes") {
    for (int port : {s.redge.appPort(), s.redge.cacheHttpPort()}) {
      for (const FramingCase& row : framingTable()) {
        if (!row.closes) continue;
        INFO("port " << port << "; case: " << row.name);
        RawConnection c(port);
        REQUIRE(c.send(row.request + kFollowUp));
        auto r = c.readResponse(3000ms);
        REQUIRE(r);
        CHECK(r->status == row.status);
        CHECK(errorCode(r->body) == row.code);
        CHECK(c.waitForClose(3000ms));
        CHECK(c.pending().empty());
      }
    }
  }
  CHECK(scrapeMetric(s.redge,
                     "redge_http_errors_total{service=\"admin\",code=\"unsupported_"
                     "transfer_coding\"}") >= 2);
  CHECK(s.redge.logText().find("error=unsupported_transfer_coding") != std::string::npos);
}

TEST_CASE("http framing: an absolute-form target reaches the app's routes", "[http][framing]") {
  TestStack s;
  RawConnection c(s.redge.appPort());
  REQUIRE(c.send("GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto r = c.readResponse();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "hello world");
}

TEST_CASE("http: a body trickled below body_min_rate gets 408 however often bytes come",
          "[http][slow]") {
  // The old rule restarted the body timer on every read, so a byte every
  // half second held the connection for ever.
  TestStack s({"http.header_timeout_ms=600", "http.body_min_rate=1024"});
  RawConnection c(s.redge.appPort());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(
      c.send("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 1000\r\n\r\n"));
  while (msSince(start) < 4000 && c.pending().empty() && !c.peerClosed()) {
    if (!c.send("a")) break;
    c.readFor(200ms);
  }
  auto r = c.readResponse(1000ms);
  REQUIRE(r);
  CHECK(r->status == 408);
  CHECK(errorCode(r->body) == "request_timeout");
  // The deadline: 600 ms plus 1 ms per byte received (a few dozen bytes).
  CHECK(msSince(start) < 1500);
  CHECK(stillServes(s.redge));
}

TEST_CASE("http: a body that keeps up body_min_rate outlives header_timeout_ms", "[http][slow]") {
  TestStack s({"http.header_timeout_ms=300", "http.body_min_rate=1000"});
  RawConnection c(s.redge.appPort());
  // 3 KB over about 900 ms: 3 s of credit at 1000 B/s, well ahead of the rate.
  const std::string body =
      "{\"destination\":\"sms:+15550100\",\"body\":\"" + std::string(2900, 'x') + "\"}";
  REQUIRE(c.send("POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n"));
  for (size_t i = 0; i + 1000 < body.size(); i += 1000) {
    REQUIRE(c.send(body.substr(i, 1000)));
    c.readFor(300ms);
    INFO("received: " << c.pending());
    REQUIRE(c.pending().empty());  // no 408 meanwhile
  }
  REQUIRE(c.send(body.substr(body.size() / 1000 * 1000)));
  auto r = c.readResponse();
  REQUIRE(r);
  CHECK(r->status == 404);  // routed and answered, not timed out
}

TEST_CASE("http: body_min_rate=0 gives the body one fixed deadline", "[http][slow]") {
  TestStack s({"http.header_timeout_ms=500", "http.body_min_rate=0"});
  RawConnection c(s.redge.appPort());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send("POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"));
  while (msSince(start) < 3000 && c.pending().empty() && !c.peerClosed()) {
    if (!c.send(std::string(1000, 'a'))) break;
    c.readFor(100ms);
  }
  auto r = c.readResponse(1000ms);
  REQUIRE(r);
  CHECK(r->status == 408);
  CHECK(msSince(start) < 1200);
}
