// parseHttpUrl: the forms upstream URLs take, and every refusal.

#include "net/http/http_url.hpp"

#include <catch2/catch.hpp>

using redge::HttpUrl;
using redge::parseHttpUrl;

TEST_CASE("http url: host, port, path and query", "[http_url]") {
  HttpUrl u;
  REQUIRE(parseHttpUrl("http://127.0.0.1:9001/message", u).empty());
  CHECK(u.host == "127.0.0.1");
  CHECK(u.port == 9001);
  CHECK(u.target == "/message");
  CHECK(u.authority() == "127.0.0.1:9001");

  REQUIRE(parseHttpUrl("http://example.internal", u).empty());
  CHECK(u.port == 80);
  CHECK(u.target == "/");
  CHECK(u.authority() == "example.internal");

  REQUIRE(parseHttpUrl("http://h:/p", u).empty());  // an empty port is the default (RFC 3986)
  CHECK(u.port == 80);

  REQUIRE(parseHttpUrl("http://h:81?x=1", u).empty());
  CHECK(u.target == "/?x=1");

  REQUIRE(parseHttpUrl("http://[::1]:8080/a/b?c=d", u).empty());
  CHECK(u.host == "::1");
  CHECK(u.port == 8080);
  CHECK(u.target == "/a/b?c=d");
  CHECK(u.authority() == "[::1]:8080");
}

TEST_CASE("http url: refusals", "[http_url]") {
  HttpUrl u;
  CHECK_FALSE(parseHttpUrl("https://h/", u).empty());
  CHECK_FALSE(parseHttpUrl("ftp://h/", u).empty());
  CHECK_FALSE(parseHttpUrl("http:///x", u).empty());
  CHECK_FALSE(parseHttpUrl("http://h:0/", u).empty());
  CHECK_FALSE(parseHttpUrl("http://h:65536/", u).empty());
  CHECK_FALSE(parseHttpUrl("http://h:x/", u).empty());
  CHECK_FALSE(parseHttpUrl("http://[::1/", u).empty());
  CHECK_FALSE(parseHttpUrl("http://u:p@h/", u).empty());
  CHECK_FALSE(parseHttpUrl("http://h/a b", u).empty());
}
