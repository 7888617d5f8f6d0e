// The gateway's header rules, both ways: hop-by-hop fields removed (also
// those a Connection header names, on any of its lines), X-Forwarded-For
// appended, X-Forwarded-Proto/Host set, Via appended with the client's
// version, Host and the rest kept in order; on the way back Date, Server and
// Content-Length left to redge, repeated fields kept. Also the cookie
// lookup of hash_by and the target a member gets.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "net/http/http_request.hpp"
#include "services/gateway/forward_headers.hpp"
#include "services/gateway/gateway_forward.hpp"

namespace redge {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::vector<HttpHeaderField> viewsOf(const Fields& fields) {
  std::vector<HttpHeaderField> out;
  for (const auto& [n, v] : fields) out.push_back({n, v});
  return out;
}

Fields forward(const Fields& in, std::string_view client = "10.1.2.3", int minor = 1) {
  ForwardedContext c;
  c.client_address = client;
  c.version_minor = minor;
  return upstreamRequestHeaders(viewsOf(in), c);
}

Fields back(const Fields& in) {
  std::vector<HttpHeaderField> views = viewsOf(in);
  Fields out;
  for (const HttpHeaderField& f : clientResponseHeaders(views)) {
    out.emplace_back(std::string(f.name), std::string(f.value));
  }
  return out;
}

// Every value of `name` (case-insensitive), in order.
std::vector<std::string> valuesOf(const Fields& fields, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : fields) {
    if (headerNameIs(n, name)) out.push_back(v);
  }
  return out;
}

HttpRequest requestWithTarget(std::string_view target) {
  HttpRequest r;
  r.reset();
  r.appendTarget(target);
  r.finishHeaders();
  return r;
}

}  // namespace

TEST_CASE("gateway headers: a plain request gains the forwarded fields", "[gateway]") {
  Fields out = forward({{"Host", "shop.example"}, {"Accept", "*/*"}, {"User-Agent", "curl"}});
  CHECK(out == Fields{{"Host", "shop.example"},
                      {"Accept", "*/*"},
                      {"User-Agent", "curl"},
                      {"X-Forwarded-For", "10.1.2.3"},
                      {"X-Forwarded-Proto", "http"},
                      {"X-Forwarded-Host", "shop.example"},
                      {"Via", "1.1 redge"}});
}

TEST_CASE("gateway headers: hop-by-hop fields are removed", "[gateway]") {
  Fields out = forward({{"Host", "h"},
                        {"connection", "keep-alive, X-Secret"},
                        {"Keep-Alive", "timeout=5"},
                        {"Proxy-Connection", "keep-alive"},
                        {"TE", "trailers"},
                        {"Trailer", "X-Checksum"},
                        {"Transfer-Encoding", "chunked"},
                        {"Upgrade", "websocket"},
                        {"x-secret", "1"},
                        {"Connection", "x-other"},
                        {"X-Other", "2"},
                        {"X-Kept", "3"}});
  for (const char* gone : {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
                           "Transfer-Encoding", "Upgrade", "X-Secret", "X-Other"}) {
    INFO(gone);
    CHECK(valuesOf(out, gone).empty());
  }
  CHECK(valuesOf(out, "X-Kept") == std::vector<std::string>{"3"});
  CHECK(valuesOf(out, "Host") == std::vector<std::string>{"h"});
}

TEST_CASE("gateway headers: Connection cannot name Host away", "[gateway]") {
  Fields out = forward({{"Host", "h"}, {"Connection", "Host"}});
  CHECK(valuesOf(out, "Host") == std::vector<std::string>{"h"});
}

TEST_CASE("gateway headers: X-Forwarded-For is appended to, over every line", "[gateway]") {
  Fields out = forward(
      {{"X-Forwarded-For", "203.0.113.1"}, {"Host", "h"}, {"x-forwarded-for", " 198.51.100.2 "}},
      "::1");
  CHECK(valuesOf(out, "X-Forwarded-For") ==
        std::vector<std::string>{"203.0.113.1, 198.51.100.2, ::1"});
}

TEST_CASE("gateway headers: X-Forwarded-Proto and -Host say what this hop saw", "[gateway]") {
  Fields out = forward({{"Host", "real.example:8080"},
                        {"X-Forwarded-Proto", "https"},
                        {"X-Forwarded-Host", "spoofed.example"}});
  CHECK(valuesOf(out, "X-Forwarded-Proto") == std::vector<std::string>{"http"});
  CHECK(valuesOf(out, "X-Forwarded-Host") == std::vector<std::string>{"real.example:8080"});

  SECTION("no Host (HTTP/1.0): no X-Forwarded-Host, Via says 1.0") {
    Fields old = forward({{"Accept", "*/*"}}, "10.0.0.9", 0);
    CHECK(valuesOf(old, "X-Forwarded-Host").empty());
    CHECK(valuesOf(old, "Via") == std::vector<std::string>{"1.0 redge"});
  }
}

TEST_CASE("gateway headers: Via is appended to", "[gateway]") {
  Fields out = forward({{"Host", "h"}, {"Via", "1.1 edge-cdn"}, {"Via", "1.0 corp-proxy"}});
  CHECK(valuesOf(out, "Via") ==
        std::vector<std::string>{"1.1 edge-cdn, 1.0 corp-proxy, 1.1 redge"});
}

TEST_CASE("gateway headers: the response keeps the member's fields", "[gateway]") {
  Fields out = back({{"Content-Type", "application/json"},
                     {"Set-Cookie", "a=1"},
                     {"Date", "Mon, 01 Jan 2024 00:00:00 GMT"},
                     {"Server", "gunicorn"},
                     {"Content-Length", "12"},
                     {"Connection", "close, X-Hop"},
                     {"X-Hop", "1"},
                     {"Transfer-Encoding", "chunked"},
                     {"Keep-Alive", "timeout=5"},
                     {"Set-Cookie", "b=2"},
                     {"Cache-Control", "no-store"}});
  // Date and Server are the member's: an intermediary keeps the origin's
  // Date (RFC 9110 6.6.1; caches downstream compute ages from it).
  CHECK(out == Fields{{"Content-Type", "application/json"},
                      {"Set-Cookie", "a=1"},
                      {"Date", "Mon, 01 Jan 2024 00:00:00 GMT"},
                      {"Server", "gunicorn"},
                      {"Set-Cookie", "b=2"},
                      {"Cache-Control", "no-store"}});
}

TEST_CASE("gateway headers: a cookie's value for hash_by", "[gateway]") {
  CHECK(cookieValue("session=abc; theme=dark", "session") ==
        std::optional<std::string_view>("abc"));
  CHECK(cookieValue("session=abc; theme=dark", "theme") == std::optional<std::string_view>("dark"));
  CHECK(cookieValue("a=1;b=2", "b") == std::optional<std::string_view>("2"));
  CHECK(cookieValue("id=\"quoted\"", "id") == std::optional<std::string_view>("quoted"));
  CHECK(cookieValue("sessionx=1; xsession=2", "session") == std::nullopt);
  CHECK(cookieValue("Session=1", "session") == std::nullopt);  // names are case-sensitive
  CHECK(cookieValue("", "a") == std::nullopt);
  CHECK(cookieValue("empty=", "empty") == std::optional<std::string_view>(""));
}

TEST_CASE("gateway headers: the member gets the origin form of the target", "[gateway]") {
  CHECK(upstreamTarget(requestWithTarget("/a/b?x=1")) == "/a/b?x=1");
  CHECK(upstreamTarget(requestWithTarget("http://shop.example/a?x=1")) == "/a?x=1");
  CHECK(upstreamTarget(requestWithTarget("http://shop.example")) == "/");
  CHECK(upstreamTarget(requestWithTarget("*")) == "*");
}

}  // namespace redge
