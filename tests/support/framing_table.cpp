// The request-framing table and its row check, shared by the integration
// test that runs it once per listener and the chaos suite that runs it on
// every listener from several threads under a steady load.

#include "support/framing_table.hpp"

#include <chrono>
#include <exception>

#include "support/json_fields.hpp"
#include "support/raw_connection.hpp"

namespace redge_test {

using namespace std::chrono_literals;

const std::string kFramingFollowUp = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

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

std::string checkFramingRow(int port, const FramingCase& row, bool exact_status) {
  try {
    RawConnection c(port);
    if (!c.send(row.request + kFramingFollowUp)) return "the request could not be sent";
    auto r = c.readResponse(3000ms);
    if (!r) return "no answer within 3 s";
    bool status_matters = row.closes || exact_status;
    if (status_matters && r->status != row.status) {
      return "status " + std::to_string(r->status) + ", expected " + std::to_string(row.status);
    }
    if (status_matters && row.code[0] != '\0' && errorCode(r->body) != row.code) {
      return "error code \"" + errorCode(r->body) + "\", expected \"" + row.code + "\"";
    }
    if (row.closes) {
      if (!c.waitForClose(3000ms)) return "the connection stayed open after the refusal";
      // Nothing after the refused request was taken as a request.
      if (!c.pending().empty()) return "bytes after the refusal: " + c.pending().substr(0, 80);
      return "";
    }
    if (r->status == 400) return "an accepted shape was answered 400";
    auto follow = c.readResponse(3000ms);
    if (!follow) return "the follow-up request got no answer";
    if (follow->status == 400) return "the follow-up request was answered 400 (out of step)";
    return "";
  } catch (const std::exception& e) {
    return std::string("client error: ") + e.what();
  }
}

}  // namespace redge_test
