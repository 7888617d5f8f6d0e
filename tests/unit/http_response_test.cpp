// serializeResponse: the exact bytes on the wire for each framing (keep-alive,
// close, HTTP/1.0 keep-alive, HEAD) and for extra headers; errorBody as valid
// JSON with and without extra fields; the reason phrases redge answers with.

#include "net/http/http_response.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace redge {
namespace {

constexpr std::string_view kDate = "Sun, 06 Nov 1994 08:49:37 GMT";

std::string serialize(const HttpResponse& r, const ResponseFraming& framing = {}) {
  std::string out;
  serializeResponse(out, r, kDate, framing);
  return out;
}

std::string head(std::string_view status_line, std::string_view rest) {
  std::string s(status_line);
  s.append("\r\nServer: redge\r\nDate: ").append(kDate).append(rest);
  return s;
}

}  // namespace

TEST_CASE("http_response: defaults", "[http_response]") {
  const HttpResponse r;
  CHECK(r.status == 200);
  CHECK(r.content_type == "text/plain; charset=utf-8");
  CHECK(r.body.empty());
  CHECK(r.extra_count == 0);
  CHECK_FALSE(r.close);
  const ResponseFraming f;
  CHECK(f.keep_alive);
  CHECK_FALSE(f.http10);
  CHECK_FALSE(f.head);
}

TEST_CASE("http_response: a 200 on a keep-alive connection", "[http_response]") {
  const HttpResponse r(200, "text/plain; charset=utf-8", "hello");
  CHECK(serialize(r) == head("HTTP/1.1 200 OK",
                             "\r\nContent-Type: text/plain; charset=utf-8"
                             "\r\nContent-Length: 5"
                             "\r\n\r\nhello"));
}

TEST_CASE("http_response: appends to the output buffer", "[http_response]") {
  std::string out = "HTTP/1.1 100 Continue\r\n\r\n";
  serializeResponse(out, HttpResponse(201, "application/json", "{}"), kDate, {});
  serializeResponse(out, HttpResponse(202, "application/json", "[]"), kDate, {});
  CHECK(out == "HTTP/1.1 100 Continue\r\n\r\n" +
                   head("HTTP/1.1 201 Created",
                        "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}") +
                   head("HTTP/1.1 202 Accepted",
                        "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"));
}

TEST_CASE("http_response: Connection: close", "[http_response]") {
  const std::string expected = head("HTTP/1.1 404 Not Found",
                                    "\r\nContent-Type: application/json"
                                    "\r\nContent-Length: 2"
                                    "\r\nConnection: close"
                                    "\r\n\r\n{}");
  SECTION("when the connection will not be kept") {
    ResponseFraming f;
    f.keep_alive = false;
    CHECK(serialize(HttpResponse(404, "application/json", "{}"), f) == expected);
  }
  SECTION("when the response asks to close") {
    HttpResponse r(404, "application/json", "{}");
    r.close = true;
    CHECK(serialize(r) == expected);
  }
  SECTION("for an HTTP/1.0 client, close wins over keep-alive") {
    ResponseFraming f;
    f.http10 = true;
    f.keep_alive = false;
    CHECK(serialize(HttpResponse(404, "application/json", "{}"), f) == expected);
    HttpResponse r(404, "application/json", "{}");
    r.close = true;
    f.keep_alive = true;
    CHECK(serialize(r, f) == expected);
  }
}

TEST_CASE("http_response: HTTP/1.0 keep-alive is said explicitly", "[http_response]") {
  ResponseFraming f;
  f.http10 = true;
  CHECK(serialize(HttpResponse(200, "text/html; charset=utf-8", "<p>"), f) ==
        head("HTTP/1.1 200 OK",
             "\r\nContent-Type: text/html; charset=utf-8"
             "\r\nContent-Length: 3"
             "\r\nConnection: keep-alive"
             "\r\n\r\n<p>"));
}

TEST_CASE("http_response: HEAD keeps Content-Length and drops the body", "[http_response]") {
  ResponseFraming f;
  f.head = true;
  const HttpResponse r(200, "image/png", "0123456789");
  CHECK(serialize(r, f) == head("HTTP/1.1 200 OK",
                                "\r\nContent-Type: image/png"
                                "\r\nContent-Length: 10"
                                "\r\n\r\n"));
  f.keep_alive = false;
  CHECK(serialize(r, f) == head("HTTP/1.1 200 OK",
                                "\r\nContent-Type: image/png"
                                "\r\nContent-Length: 10"
                                "\r\nConnection: close"
                                "\r\n\r\n"));
}

TEST_CASE("http_response: extra headers follow the fixed ones, in order", "[http_response]") {
  HttpResponse r(503, "application/json", "{}");
  r.header("Retry-After", "1").header("Cache-Control", "no-store").header("X-Empty", "");
  CHECK(r.extra_count == 3);
  ResponseFraming f;
  f.keep_alive = false;
  CHECK(serialize(r, f) == head("HTTP/1.1 503 Service Unavailable",
                                "\r\nContent-Type: application/json"
                                "\r\nContent-Length: 2"
                                "\r\nConnection: close"
                                "\r\nRetry-After: 1"
                                "\r\nCache-Control: no-store"
                                "\r\nX-Empty: "
                                "\r\n\r\n{}"));
}

TEST_CASE("http_response: headers beyond the eighth are dropped", "[http_response]") {
  HttpResponse r(204, "", "");
  const char* names[] = {"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"};
  for (const char* n : names) r.header(n, "v");
  CHECK(r.extra_count == HttpResponse::kMaxExtraHeaders);
  const std::string out = serialize(r);
  CHECK(out.find("\r\nH: v\r\n") != std::string::npos);
  CHECK(out.find("\r\nI: v") == std::string::npos);
  CHECK(out.find("\r\nJ: v") == std::string::npos);
}

TEST_CASE("http_response: no Content-Type when it is empty", "[http_response]") {
  CHECK(serialize(HttpResponse(202, "", "")) ==
        head("HTTP/1.1 202 Accepted", "\r\nContent-Length: 0\r\n\r\n"));
}

TEST_CASE("http_response: large bodies and binary bytes", "[http_response]") {
  std::string body(100000, 'x');
  body[5] = '\0';
  body[6] = '\r';
  const std::string out = serialize(HttpResponse(200, "application/octet-stream", body));
  const std::string expected_head = head("HTTP/1.1 200 OK",
                                         "\r\nContent-Type: application/octet-stream"
                                         "\r\nContent-Length: 100000\r\n\r\n");
  CHECK(out.size() == expected_head.size() + body.size());
  CHECK(out.compare(0, expected_head.size(), expected_head) == 0);
  CHECK(out.compare(expected_head.size(), std::string::npos, body) == 0);
}

TEST_CASE("http_response: status text for the statuses redge uses", "[http_response]") {
  CHECK(httpStatusText(200) == "OK");
  CHECK(httpStatusText(201) == "Created");
  CHECK(httpStatusText(202) == "Accepted");
  CHECK(httpStatusText(400) == "Bad Request");
  CHECK(httpStatusText(404) == "Not Found");
  CHECK(httpStatusText(405) == "Method Not Allowed");
  CHECK(httpStatusText(408) == "Request Timeout");
  CHECK(httpStatusText(413) == "Content Too Large");
  CHECK(httpStatusText(415) == "Unsupported Media Type");
  CHECK(httpStatusText(417) == "Expectation Failed");
  CHECK(httpStatusText(431) == "Request Header Fields Too Large");
  CHECK(httpStatusText(500) == "Internal Server Error");
  CHECK(httpStatusText(502) == "Bad Gateway");
  CHECK(httpStatusText(503) == "Service Unavailable");
  CHECK(httpStatusText(504) == "Gateway Timeout");
  // Anything else still gets a reason phrase.
  CHECK(httpStatusText(599) == "Unknown");
  CHECK(httpStatusText(0) == "Unknown");
}

TEST_CASE("http_response: an unknown status still serializes", "[http_response]") {
  CHECK(serialize(HttpResponse(599, "", "")) ==
        head("HTTP/1.1 599 Unknown", "\r\nContent-Length: 0\r\n\r\n"));
}

TEST_CASE("http_response: errorBody is valid JSON", "[http_response]") {
  SECTION("plain") {
    const std::string body = errorBody("not_found", "No route matches this path.");
    CHECK(body == R"({"error":"not_found","message":"No route matches this path."})");
    rapidjson::Document doc;
    doc.Parse(body.c_str(), body.size());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    CHECK(doc.MemberCount() == 2);
    CHECK(std::string(doc["error"].GetString()) == "not_found");
    CHECK(std::string(doc["message"].GetString()) == "No route matches this path.");
  }
  SECTION("with characters that need escaping") {
    const std::string message = "Bad \"key\" \\ here\nline two \x01 caf\xC3\xA9 \xFF";
    const std::string body = errorBody("bad_\"code\"", message);
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.c_str(), body.size());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    CHECK(std::string(doc["error"].GetString()) == "bad_\"code\"");
    CHECK(std::string(doc["message"].GetString()) ==
          "Bad \"key\" \\ here\nline two \x01 caf\xC3\xA9 \xEF\xBF\xBD");
  }
  SECTION("with extra fields") {
    const std::string body = errorBody("queue_full", "The queue is full.",
                                       {{"queue_depth", 10},
                                        {"retry_after_s", -1},
                                        {"field", "a \"b\"\n\xFF"},
                                        {"big", INT64_MIN}});
    CHECK(body == R"({"error":"queue_full","message":"The queue is full.","queue_depth":10,)"
                  R"("retry_after_s":-1,"field":"a \"b\"\n)"
                  "\xEF\xBF\xBD"  // the invalid byte, replaced by U+FFFD
                  R"(","big":-9223372036854775808})");
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.c_str(), body.size());
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    CHECK(doc.MemberCount() == 6);
    CHECK(doc["queue_depth"].GetInt() == 10);
    CHECK(doc["retry_after_s"].GetInt() == -1);
    CHECK(std::string(doc["field"].GetString()) == "a \"b\"\n\xEF\xBF\xBD");
    CHECK(doc["big"].GetInt64() == INT64_MIN);
  }
  SECTION("empty strings") {
    const std::string body = errorBody("", "");
    CHECK(body == R"({"error":"","message":""})");
  }
}

}  // namespace redge
