// The gateway's routing: longest prefix wins, routes naming the request's
// host before the others (nginx's server, then location), the first of
// equal prefixes, hosts compared without case or port, and no match.

#include <catch2/catch.hpp>

#include "services/gateway/route_table.hpp"

namespace redge {
namespace {

// The pool a request goes to, or -1.
int poolOf(const RouteTable& t, std::string_view host, std::string_view path) {
  const GatewayRoute* r = t.match(host, path);
  return r == nullptr ? -1 : static_cast<int>(r->pool);
}

}  // namespace

TEST_CASE("gateway routes: the longest prefix wins, whatever the order", "[gateway]") {
  RouteTable t;
  t.add("", "/", 0);
  t.add("", "/api/v2/", 2);
  t.add("", "/api/", 1);
  CHECK(poolOf(t, "x", "/") == 0);
  CHECK(poolOf(t, "x", "/index.html") == 0);
  CHECK(poolOf(t, "x", "/api/") == 1);
  CHECK(poolOf(t, "x", "/api/users") == 1);
  CHECK(poolOf(t, "x", "/api/v2/users") == 2);
  CHECK(poolOf(t, "x", "/api") == 0);  // "/api/" does not take "/api"
}

TEST_CASE("gateway routes: prefixes are plain string prefixes, byte for byte", "[gateway]") {
  RouteTable t;
  t.add("", "/api", 1);
  CHECK(poolOf(t, "", "/api") == 1);
  CHECK(poolOf(t, "", "/apix") == 1);
  CHECK(poolOf(t, "", "/API") == -1);
  CHECK(poolOf(t, "", "/%61pi") == -1);  // not decoded
  CHECK(poolOf(t, "", "/") == -1);       // no match: 404 no_route
}

TEST_CASE("gateway routes: equal prefixes go to the one listed first", "[gateway]") {
  RouteTable t;
  t.add("", "/a", 3);
  t.add("", "/a", 4);
  CHECK(poolOf(t, "", "/a/b") == 3);
}

TEST_CASE("gateway routes: routes naming the host come first", "[gateway]") {
  RouteTable t;
  t.add("", "/", 0);
  t.add("", "/api/", 1);
  t.add("admin.example", "/", 2);
  t.add("admin.example", "/metrics", 3);
  // The host's routes win even with a shorter prefix: the host picks first.
  CHECK(poolOf(t, "admin.example", "/api/users") == 2);
  CHECK(poolOf(t, "admin.example", "/metrics/x") == 3);
  CHECK(poolOf(t, "www.example", "/api/users") == 1);
  CHECK(poolOf(t, "", "/api/users") == 1);  // an HTTP/1.0 request without Host
}

TEST_CASE("gateway routes: a host route that does not match the path falls back", "[gateway]") {
  RouteTable t;
  t.add("", "/", 0);
  t.add("shop.example", "/cart", 1);
  CHECK(poolOf(t, "shop.example", "/cart/1") == 1);
  CHECK(poolOf(t, "shop.example", "/other") == 0);
}

TEST_CASE("gateway routes: hosts compare without case and without the port", "[gateway]") {
  RouteTable t;
  t.add("Shop.Example", "/", 1);
  CHECK(poolOf(t, "shop.example", "/") == 1);
  CHECK(poolOf(t, "SHOP.EXAMPLE:8080", "/") == 1);
  CHECK(poolOf(t, "shop.example.evil", "/") == -1);
  CHECK(poolOf(t, "shop", "/") == -1);

  CHECK(RouteTable::hostOf("example.com:8080") == "example.com");
  CHECK(RouteTable::hostOf("example.com") == "example.com");
  CHECK(RouteTable::hostOf("[::1]:8080") == "[::1]");
  CHECK(RouteTable::hostOf("[::1]") == "[::1]");
  CHECK(RouteTable::hostOf("") == "");
}

}  // namespace redge
