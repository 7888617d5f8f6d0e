// Request framing, host rules and request-smuggling shapes (RFC 9112), one row
// per case, each run against every HTTP listener redge opens (app, admin and
// the cache proxy), because every listener shares the one HTTP core and each
// must refuse the same bytes the same way. Also: a body trickled below
// http.body_min_rate meets its deadline.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/framing_table.hpp"
#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// Every row on one listener, each on its own connection.
void runTable(int port, const char* listener, bool exact_status) {
  for (const FramingCase& row : framingTable()) {
    INFO("listener: " << listener << "; case: " << row.name);
    CHECK(checkFramingRow(port, row, exact_status) == "");
  }
}

}  // namespace

TEST_CASE("http framing: the RFC 9112 table on every HTTP listener", "[http][framing]") {
  TestStack s({}, {}, RedgeServices{.cache_proxy = true});
  // /healthz exists on admin only; the others answer 404 for it, which is
  // still an answer in step. Check the row status on admin, shape elsewhere.
  runTable(s.redge.adminPort(), "admin", true);
  runTable(s.redge.appPort(), "app", false);
  runTable(s.redge.cacheHttpPort(), "cacheproxy", false);
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
