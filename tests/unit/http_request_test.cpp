// HttpRequest and the request-target helpers of core/uri: the header arena
// (names and values in pieces, case-insensitive lookup, first value wins,
// reset), path()/query(), percentDecode and queryParam. Last, sample requests
// run through llhttp the way a connection drives it, whole and one byte at a
// time, and must give the same requests.

#include "net/http/http_request.hpp"

#include <llhttp.h>

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/uri.hpp"

namespace redge {
namespace {

void addHeader(HttpRequest& r, std::string_view name, std::string_view value) {
  r.appendHeaderName(name);
  r.appendHeaderValue(value);
}

}  // namespace

TEST_CASE("http_request: method names", "[http_request]") {
  CHECK(httpMethodName(HttpMethod::Get) == "GET");
  CHECK(httpMethodName(HttpMethod::Head) == "HEAD");
  CHECK(httpMethodName(HttpMethod::Post) == "POST");
  CHECK(httpMethodName(HttpMethod::Put) == "PUT");
  CHECK(httpMethodName(HttpMethod::Delete) == "DELETE");
  CHECK(httpMethodName(HttpMethod::Patch) == "PATCH");
  CHECK(httpMethodName(HttpMethod::Options) == "OPTIONS");
  CHECK(httpMethodName(HttpMethod::Other) == "OTHER");
}

TEST_CASE("http_request: a new request is empty", "[http_request]") {
  const HttpRequest r;
  CHECK(r.method == HttpMethod::Other);
  CHECK(r.method_text.empty());
  CHECK(r.version_major == 1);
  CHECK(r.version_minor == 1);
  CHECK(r.keep_alive);
  CHECK(r.started_us == 0);
  CHECK(r.target().empty());
  CHECK(r.path().empty());
  CHECK(r.query().empty());
  CHECK(r.headerCount() == 0);
  CHECK(r.header("Host").empty());
  CHECK_FALSE(r.hasHeader("Host"));
  CHECK(r.body().empty());
  CHECK(r.param(0).empty());
}

TEST_CASE("http_request: the target arrives in pieces", "[http_request]") {
  HttpRequest r;
  r.appendTarget("/ke");
  r.appendTarget("");
  r.appendTarget("ys/a?x");
  r.appendTarget("=1");
  CHECK(r.target() == "/keys/a?x=1");
  CHECK(r.path() == "/keys/a");
  CHECK(r.query() == "x=1");
}

TEST_CASE("http_request: path and query split at the first '?'", "[http_request]") {
  const std::pair<std::string_view, std::pair<std::string_view, std::string_view>> cases[] = {
      {"/", {"/", ""}},
      {"/a/b", {"/a/b", ""}},
      {"/a/b?x=1&y=2", {"/a/b", "x=1&y=2"}},
      {"/p?", {"/p", ""}},
      {"/p?a?b", {"/p", "a?b"}},
      {"?q", {"", "q"}},
      {"/p%3Fq?r", {"/p%3Fq", "r"}},
      {"*", {"*", ""}},
  };
  for (const auto& [target, parts] : cases) {
    HttpRequest r;
    r.appendTarget(target);
    INFO(target);
    CHECK(r.path() == parts.first);
    CHECK(r.query() == parts.second);
  }
}

TEST_CASE("http_request: an absolute-form target has the path and query of its origin form",
          "[http_request]") {
  const std::pair<std::string_view, std::pair<std::string_view, std::string_view>> cases[] = {
      {"http://example.test/a/b?x=1", {"/a/b", "x=1"}},
      {"HTTPS://example.test:8443/a", {"/a", ""}},
      {"http://example.test", {"/", ""}},
      {"http://example.test?q=1", {"/", "q=1"}},
      {"http://user@example.test:80/p?", {"/p", ""}},
      // Not absolute form: kept as sent.
      {"/http://x/y", {"/http://x/y", ""}},
      {"ftp://example.test/a", {"ftp://example.test/a", ""}},
  };
  for (const auto& [target, parts] : cases) {
    HttpRequest r;
    r.appendTarget(target);
    r.finishHeaders();
    INFO(target);
    CHECK(r.target() == target);
    CHECK(r.path() == parts.first);
    CHECK(r.query() == parts.second);
  }
}

TEST_CASE("http_request: header lines by index", "[http_request]") {
  HttpRequest r;
  addHeader(r, "Host", "x");
  r.endHeaderName();
  addHeader(r, "X-A ", "v \t");
  r.finishHeaders();
  REQUIRE(r.headerCount() == 2);
  CHECK(r.headerName(0) == "Host");
  CHECK(r.headerValue(0) == "x");
  CHECK(r.headerName(1) == "X-A ");
  CHECK(r.headerValue(1) == "v");
}

TEST_CASE("http_request: headers in pieces, looked up case-insensitively", "[http_request]") {
  HttpRequest r;
  r.appendHeaderName("Con");
  r.appendHeaderName("tent-");
  r.appendHeaderName("Type");
  r.appendHeaderValue("multipart/form-data; ");
  r.appendHeaderValue("boundary=");
  r.appendHeaderValue("AaB03x");
  r.appendHeaderName("H");
  r.appendHeaderName("ost");
  r.appendHeaderValue("example.com");
  r.finishHeaders();

  CHECK(r.headerCount() == 2);
  CHECK(r.header("Content-Type") == "multipart/form-data; boundary=AaB03x");
  CHECK(r.header("content-type") == "multipart/form-data; boundary=AaB03x");
  CHECK(r.header("CONTENT-TYPE") == "multipart/form-data; boundary=AaB03x");
  CHECK(r.header("host") == "example.com");
  CHECK(r.hasHeader("HoSt"));
  CHECK(r.hasHeader("content-TYPE"));

  // Neither a prefix nor an extension of a name matches it.
  CHECK_FALSE(r.hasHeader("Content"));
  CHECK_FALSE(r.hasHeader("Content-Type2"));
  CHECK_FALSE(r.hasHeader("Hos"));
  CHECK_FALSE(r.hasHeader(""));
  CHECK(r.header("Content").empty());
  CHECK(r.header("Accept").empty());
}

TEST_CASE("http_request: the first value of a repeated header wins", "[http_request]") {
  HttpRequest r;
  addHeader(r, "X-Dup", "first");
  addHeader(r, "Other", "o");
  addHeader(r, "x-dup", "second");
  addHeader(r, "X-DUP", "third");
  r.finishHeaders();
  CHECK(r.headerCount() == 4);
  CHECK(r.header("X-Dup") == "first");
  CHECK(r.header("other") == "o");
}

TEST_CASE("http_request: a header with an empty value", "[http_request]") {
  HttpRequest r;
  addHeader(r, "X-Empty", "");
  addHeader(r, "Host", "h");
  r.finishHeaders();
  CHECK(r.headerCount() == 2);
  CHECK(r.hasHeader("X-Empty"));
  CHECK(r.header("X-Empty").empty());
  CHECK(r.header("Host") == "h");
}

TEST_CASE("http_request: a value before any name is ignored", "[http_request]") {
  HttpRequest r;
  r.appendHeaderValue("orphan");
  CHECK(r.headerCount() == 0);
  addHeader(r, "A", "1");
  CHECK(r.headerCount() == 1);
  CHECK(r.header("A") == "1");
}

TEST_CASE("http_request: lookups stay right as the arena grows", "[http_request]") {
  HttpRequest r;
  for (int i = 0; i < 200; ++i) {
    const std::string name = "X-Header-" + std::to_string(i);
    r.appendHeaderName(name.substr(0, 3));
    r.appendHeaderName(name.substr(3));
    r.appendHeaderValue(std::string(static_cast<size_t>(i % 37), 'v'));
    r.appendHeaderValue(std::to_string(i));
  }
  r.finishHeaders();
  REQUIRE(r.headerCount() == 200);
  for (int i = 0; i < 200; ++i) {
    const std::string name = "x-header-" + std::to_string(i);
    INFO(name);
    CHECK(r.header(name) == std::string(static_cast<size_t>(i % 37), 'v') + std::to_string(i));
  }
}

TEST_CASE("http_request: reset() clears everything", "[http_request]") {
  HttpRequest r;
  r.method = HttpMethod::Post;
  r.method_text = "POST";
  r.version_minor = 0;
  r.keep_alive = false;
  r.started_us = 123;
  r.appendTarget("/a?b=c");
  addHeader(r, "Host", "h");
  addHeader(r, "Content-Length", "3");
  r.finishHeaders();
  r.mutableBody() = "abc";
  r.params().push_back("x");
  REQUIRE(r.param(0) == "x");

  r.reset();
  CHECK(r.method == HttpMethod::Other);
  CHECK(r.method_text.empty());
  CHECK(r.version_major == 1);
  CHECK(r.version_minor == 1);
  CHECK(r.keep_alive);
  CHECK(r.started_us == 0);
  CHECK(r.target().empty());
  CHECK(r.path().empty());
  CHECK(r.query().empty());
  CHECK(r.headerCount() == 0);
  CHECK_FALSE(r.hasHeader("Host"));
  CHECK(r.header("Content-Length").empty());
  CHECK(r.body().empty());
  CHECK(r.params().empty());
  CHECK(r.param(0).empty());

  SECTION("and the next request starts its own first header") {
    // A value was last delivered before reset; the next name must not extend
    // an old header.
    addHeader(r, "Accept", "*/*");
    CHECK(r.headerCount() == 1);
    CHECK(r.header("Accept") == "*/*");
  }
  SECTION("even when reset came in the middle of a name") {
    HttpRequest half;
    half.appendHeaderName("Partial");
    half.reset();
    addHeader(half, "Host", "x");
    CHECK(half.headerCount() == 1);
    CHECK(half.header("Host") == "x");
    CHECK_FALSE(half.hasHeader("PartialHost"));
  }
}

TEST_CASE("http_request: params by index", "[http_request]") {
  HttpRequest r;
  r.params().push_back("a");
  r.params().push_back("b");
  CHECK(r.param(0) == "a");
  CHECK(r.param(1) == "b");
  CHECK(r.param(2).empty());
  CHECK(r.param(1000).empty());
}

TEST_CASE("http_request: endHeaderName() closes a name delivered in pieces", "[http_request]") {
  HttpRequest r;
  r.appendHeaderName("X-");
  r.appendHeaderName("Id");
  r.endHeaderName();
  r.appendHeaderValue("4");
  r.appendHeaderValue("2");
  r.appendHeaderName("Acc");
  r.appendHeaderName("ept");
  r.endHeaderName();
  r.appendHeaderValue("*/*");
  r.finishHeaders();
  CHECK(r.headerCount() == 2);
  CHECK(r.header("x-id") == "42");
  CHECK(r.header("accept") == "*/*");
}

TEST_CASE("http_request: a name closed with no value has an empty value", "[http_request]") {
  HttpRequest r;
  r.appendHeaderName("X-Empty");
  r.endHeaderName();
  r.appendHeaderName("Host");
  r.endHeaderName();
  r.appendHeaderValue("h");
  r.appendHeaderName("X-Last");
  r.endHeaderName();
  r.finishHeaders();
  CHECK(r.headerCount() == 3);
  CHECK(r.hasHeader("X-Empty"));
  CHECK(r.header("X-Empty").empty());
  CHECK(r.header("Host") == "h");
  CHECK(r.hasHeader("X-Last"));
  CHECK(r.header("X-Last").empty());
  CHECK_FALSE(r.hasHeader("X-EmptyHost"));
}

TEST_CASE("http_request: endHeaderName() with no name open changes nothing", "[http_request]") {
  HttpRequest r;
  r.endHeaderName();
  CHECK(r.headerCount() == 0);
  addHeader(r, "A", "1");
  r.endHeaderName();
  r.endHeaderName();
  r.appendHeaderValue("2");  // more of A's value
  CHECK(r.headerCount() == 1);
  CHECK(r.header("A") == "12");
}

// Chunked requests end with a trailer section, which llhttp reports through
// the same header callbacks after on_headers_complete. The header section
// the handler reads must come out of that intact, and trailers are not kept.
TEST_CASE("http_request: header fields after finishHeaders() are not kept", "[http_request]") {
  HttpRequest r;
  addHeader(r, "Transfer-Encoding", "chunked");
  addHeader(r, "Content-Type", "text/plain");
  r.finishHeaders();
  r.appendHeaderName("X-Check");
  r.appendHeaderName("sum");
  r.endHeaderName();
  r.appendHeaderValue("abc");
  addHeader(r, "Content-Type", "text/evil");
  CHECK(r.headerCount() == 2);
  CHECK(r.header("Transfer-Encoding") == "chunked");
  CHECK(r.header("Content-Type") == "text/plain");
  CHECK_FALSE(r.hasHeader("X-Checksum"));

  SECTION("until reset() starts the next request") {
    r.reset();
    addHeader(r, "Host", "next");
    CHECK(r.headerCount() == 1);
    CHECK(r.header("Host") == "next");
  }
}

// ------------------------------------------------------------ percentDecode

TEST_CASE("uri: percentDecode decodes valid escapes", "[http_request][uri]") {
  std::string out;
  CHECK(percentDecode("", out));
  CHECK(out.empty());
  CHECK(percentDecode("plain/path", out));
  CHECK(out == "plain/path");
  CHECK(percentDecode("%41%62c", out));
  CHECK(out == "Abc");
  CHECK(percentDecode("a%2fb%2Fc", out));
  CHECK(out == "a/b/c");
  CHECK(percentDecode("%E2%82%ac", out));
  CHECK(out == "\xE2\x82\xAC");
  CHECK(percentDecode("%00", out));
  CHECK(out == std::string_view("\0", 1));
  CHECK(percentDecode("%FF", out));
  CHECK(out == "\xFF");
  CHECK(percentDecode("%25", out));
  CHECK(out == "%");
  CHECK(percentDecode("%2541", out));  // decoded once, not twice
  CHECK(out == "%41");
  CHECK(percentDecode("a%41", out));  // an escape that ends the input
  CHECK(out == "aA");
  CHECK(percentDecode("%20", out));
  CHECK(out == " ");
}

TEST_CASE("uri: percentDecode keeps '+' as '+'", "[http_request][uri]") {
  std::string out;
  CHECK(percentDecode("a+b", out));
  CHECK(out == "a+b");
  CHECK(percentDecode("+", out));
  CHECK(out == "+");
  CHECK(percentDecode("%2B", out));
  CHECK(out == "+");
}

TEST_CASE("uri: percentDecode refuses malformed escapes", "[http_request][uri]") {
  std::string out;
  for (std::string_view in :
       {"%zz", "%4", "%", "abc%", "abc%4", "%4g", "%g4", "%%41", "% 41", "a%-1", "%0x"}) {
    INFO(in);
    CHECK_FALSE(percentDecode(in, out));
  }
}

TEST_CASE("uri: percentDecode replaces the output", "[http_request][uri]") {
  std::string out = "left over";
  CHECK(percentDecode("new", out));
  CHECK(out == "new");
}

// -------------------------------------------------------------- queryParam

TEST_CASE("uri: queryParam", "[http_request][uri]") {
  CHECK(queryParam("a=1&b=2", "a") == "1");
  CHECK(queryParam("a=1&b=2", "b") == "2");
  CHECK(queryParam("a=1&b=2", "c").empty());
  CHECK(queryParam("", "a").empty());
  CHECK(queryParam("a=1&a=2", "a") == "1");  // first wins
  CHECK(queryParam("a=&b=2", "a").empty());
  CHECK(queryParam("a&b=2", "a").empty());
  CHECK(queryParam("a&b=2", "b") == "2");
  CHECK(queryParam("ab=1&a=2", "a") == "2");  // not a prefix match
  CHECK(queryParam("a=1", "ab").empty());
  CHECK(queryParam("&&a=1&", "a") == "1");
  CHECK(queryParam("a=b=c", "a") == "b=c");
  CHECK(queryParam("q=a%20b+c", "q") == "a%20b+c");  // not decoded
  CHECK(queryParam("A=1", "a").empty());             // case-sensitive
}

// ------------------------------------------------------ through llhttp

namespace {

// Drives llhttp (strict, the defaults) into one reused HttpRequest, as a
// connection does, and keeps a copy of each complete request.
class RequestReader {
 public:
  RequestReader() {
    llhttp_settings_init(&settings_);
    settings_.on_message_begin = [](llhttp_t* p) {
      self(p)->current_.reset();
      return 0;
    };
    settings_.on_url = [](llhttp_t* p, const char* at, size_t len) {
      self(p)->current_.appendTarget(std::string_view(at, len));
      return 0;
    };
    settings_.on_header_field = [](llhttp_t* p, const char* at, size_t len) {
      self(p)->current_.appendHeaderName(std::string_view(at, len));
      return 0;
    };
    settings_.on_header_field_complete = [](llhttp_t* p) {
      self(p)->current_.endHeaderName();
      return 0;
    };
    settings_.on_header_value = [](llhttp_t* p, const char* at, size_t len) {
      self(p)->current_.appendHeaderValue(std::string_view(at, len));
      return 0;
    };
    settings_.on_headers_complete = [](llhttp_t* p) {
      RequestReader* r = self(p);
      r->current_.finishHeaders();
      r->current_.method = httpMethodFromLlhttp(p->method);
      r->current_.version_major = p->http_major;
      r->current_.version_minor = p->http_minor;
      return 0;
    };
    settings_.on_body = [](llhttp_t* p, const char* at, size_t len) {
      self(p)->current_.mutableBody().append(at, len);
      return 0;
    };
    settings_.on_message_complete = [](llhttp_t* p) {
      RequestReader* r = self(p);
      r->current_.keep_alive = llhttp_should_keep_alive(p) != 0;
      r->done_.push_back(r->current_);
      return 0;
    };
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    parser_.data = this;
  }
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  llhttp_errno_t feed(std::string_view bytes) {
    return llhttp_execute(&parser_, bytes.data(), bytes.size());
  }
  const std::vector<HttpRequest>& requests() const { return done_; }

 private:
  static RequestReader* self(llhttp_t* p) { return static_cast<RequestReader*>(p->data); }

  llhttp_settings_t settings_;
  llhttp_t parser_;
  HttpRequest current_;
  std::vector<HttpRequest> done_;
};

struct ExpectedRequest {
  HttpMethod method;
  std::string_view target;
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // first of each name
  size_t header_count;
  std::string_view body;
  bool keep_alive = true;
  std::vector<std::string_view> absent = {};  // names that must not be found
};

void checkRequests(const std::vector<HttpRequest>& got, const std::vector<ExpectedRequest>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("request " << i);
    CHECK(got[i].method == want[i].method);
    CHECK(got[i].target() == want[i].target);
    CHECK(got[i].headerCount() == want[i].header_count);
    for (const auto& [name, value] : want[i].headers) {
      INFO("header " << name);
      CHECK(got[i].hasHeader(name));
      CHECK(got[i].header(name) == value);
    }
    for (std::string_view name : want[i].absent) {
      INFO("absent header " << name);
      CHECK_FALSE(got[i].hasHeader(name));
    }
    CHECK(got[i].body() == want[i].body);
    CHECK(got[i].keep_alive == want[i].keep_alive);
  }
}

// Parses `wire` whole and one byte at a time; both must give `want`.
void expectParsed(std::string_view wire, const std::vector<ExpectedRequest>& want) {
  {
    INFO("whole");
    RequestReader reader;
    REQUIRE(reader.feed(wire) == HPE_OK);
    checkRequests(reader.requests(), want);
  }
  {
    INFO("one byte at a time");
    RequestReader reader;
    for (size_t i = 0; i < wire.size(); ++i) REQUIRE(reader.feed(wire.substr(i, 1)) == HPE_OK);
    checkRequests(reader.requests(), want);
  }
}

}  // namespace

TEST_CASE("http_request: sample requests through llhttp, whole and bytewise", "[http_request]") {
  SECTION("a GET with a query") {
    expectParsed(
        "GET /get?key=a%20b&x=1 HTTP/1.1\r\n"
        "Host: example.com\r\n"
        "User-Agent: redge-test/1.0\r\n"
        "Accept: */*\r\n"
        "\r\n",
        {{HttpMethod::Get,
          "/get?key=a%20b&x=1",
          {{"host", "example.com"}, {"User-Agent", "redge-test/1.0"}, {"ACCEPT", "*/*"}},
          3,
          ""}});
  }
  SECTION("a POST with Content-Length") {
    expectParsed(
        "POST /messages HTTP/1.1\r\n"
        "Host: h\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 13\r\n"
        "\r\n"
        "{\"text\":\"hi\"}",
        {{HttpMethod::Post,
          "/messages",
          {{"Content-Type", "application/json"}, {"Content-Length", "13"}},
          3,
          "{\"text\":\"hi\"}"}});
  }
  SECTION("a chunked PUT") {
    expectParsed(
        "PUT /k/a HTTP/1.1\r\n"
        "Host: h\r\n"
        "Transfer-Encoding: chunked\r\n"
        "\r\n"
        "5\r\nhello\r\n"
        "7\r\n, world\r\n"
        "0\r\n\r\n",
        {{HttpMethod::Put, "/k/a", {{"Transfer-Encoding", "chunked"}}, 2, "hello, world"}});
  }
  SECTION("pipelined requests reuse one HttpRequest") {
    expectParsed(
        "GET /a HTTP/1.1\r\nHost: h\r\nX-Only-First: 1\r\n\r\n"
        "HEAD /b HTTP/1.1\r\nHost: h2\r\n\r\n"
        "DELETE /c?x HTTP/1.1\r\nHost: h3\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
        {{HttpMethod::Get, "/a", {{"Host", "h"}, {"X-Only-First", "1"}}, 2, ""},
         {HttpMethod::Head, "/b", {{"Host", "h2"}}, 1, ""},
         {HttpMethod::Delete,
          "/c?x",
          {{"Host", "h3"}, {"Connection", "close"}},
          3,
          "ok",
          /*keep_alive=*/false}});
  }
  SECTION("empty and repeated headers, leading whitespace") {
    expectParsed(
        "OPTIONS * HTTP/1.1\r\n"
        "X-Empty:\r\n"
        "Host:   spaced\r\n"
        "X-Dup: one\r\n"
        "x-dup: two\r\n"
        "\r\n",
        {{HttpMethod::Options,
          "*",
          {{"X-Empty", ""}, {"Host", "spaced"}, {"X-Dup", "one"}},
          4,
          ""}});
  }
  SECTION("HTTP/1.0 closes by default") {
    RequestReader reader;
    REQUIRE(reader.feed("GET / HTTP/1.0\r\n\r\n") == HPE_OK);
    REQUIRE(reader.requests().size() == 1);
    CHECK(reader.requests()[0].version_minor == 0);
    CHECK_FALSE(reader.requests()[0].keep_alive);
  }
}

// RFC 9110 section 5.5: a field value excludes leading and trailing
// whitespace. llhttp drops the leading OWS but hands the trailing OWS to the
// value callback; header() must not return it, since handlers compare values
// exactly (`Expect: 100-continue`).
TEST_CASE("http_request: header values exclude trailing whitespace", "[http_request]") {
  expectParsed(
      "POST /upload HTTP/1.1\r\n"
      "Host: h \t \r\n"
      "Expect: 100-continue \r\n"
      "Content-Type: text/plain\t\r\n"
      "X-Inner: a  b \r\n"
      "X-Blank:  \t \r\n"
      "Content-Length: 0\r\n"
      "\r\n",
      {{HttpMethod::Post,
        "/upload",
        {{"Host", "h"},
         {"Expect", "100-continue"},
         {"Content-Type", "text/plain"},
         {"X-Inner", "a  b"},
         {"X-Blank", ""}},
        6,
        ""}});
}

// The finishHeaders() case above, as a connection meets it: the trailer of a
// chunked request must not change the header section of that request, and
// is not kept.
TEST_CASE("http_request: a chunked request's trailer leaves its headers intact", "[http_request]") {
  expectParsed(
      "POST /upload HTTP/1.1\r\n"
      "Host: h\r\n"
      "Transfer-Encoding: chunked\r\n"
      "Content-Type: text/plain\r\n"
      "\r\n"
      "3\r\nabc\r\n"
      "0\r\n"
      "X-Checksum: 900150983cd24fb0\r\n"
      "Content-Type: text/evil\r\n"
      "\r\n"
      "GET /next HTTP/1.1\r\nX-Checksum: mine\r\n\r\n",
      {{HttpMethod::Post,
        "/upload",
        {{"Host", "h"}, {"Transfer-Encoding", "chunked"}, {"Content-Type", "text/plain"}},
        3,
        "abc",
        true,
        {"X-Checksum"}},
       {HttpMethod::Get, "/next", {{"X-Checksum", "mine"}}, 1, ""}});
}

}  // namespace redge
