// Invalidation on writes (RFC 9111 4.4) and cache tags: which methods and
// statuses invalidate, the target, Location and Content-Location resolved
// against the request (RFC 3986 5.2) and kept to the same origin, the
// parent collection, and the Cache-Tag / Surrogate-Key lists.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "services/gateway/cache/invalidation.hpp"

namespace redge {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;
using Scope = InvalidationTarget::Scope;
using Targets = std::vector<InvalidationTarget>;

std::vector<HttpHeaderField> views(const Fields& fields) {
  std::vector<HttpHeaderField> out;
  for (const auto& [n, v] : fields) out.push_back({n, v});
  return out;
}

const RequestOrigin kOrigin{"http", "shop.example"};

std::optional<std::string> resolve(std::string_view ref, std::string_view base = "/a/b/c?q=1") {
  return resolveSameOriginTarget(ref, base, kOrigin);
}

Targets targets(HttpMethod m, int status, std::string_view target, const Fields& response = {},
                bool parent = false) {
  return invalidationTargets(m, status, target, kOrigin, views(response), parent);
}

}  // namespace

TEST_CASE("cache invalidation: unsafe methods with non-error answers", "[gateway_cache]") {
  for (HttpMethod m : {HttpMethod::Post, HttpMethod::Put, HttpMethod::Patch, HttpMethod::Delete,
                       HttpMethod::Other}) {
    for (int s : {200, 201, 204, 301, 303, 399}) CHECK(invalidatesOnWrite(m, s));
    for (int s : {100, 400, 404, 409, 500, 503}) CHECK_FALSE(invalidatesOnWrite(m, s));
  }
  for (HttpMethod m : {HttpMethod::Get, HttpMethod::Head, HttpMethod::Options}) {
    CHECK_FALSE(invalidatesOnWrite(m, 200));
  }
  CHECK(targets(HttpMethod::Post, 500, "/courses").empty());
  CHECK(targets(HttpMethod::Get, 200, "/courses").empty());
}

TEST_CASE("cache invalidation: the target URI, exactly", "[gateway_cache]") {
  CHECK(targets(HttpMethod::Delete, 204, "/courses/7?lang=fr") ==
        Targets{{"/courses/7?lang=fr", Scope::Exact}});
  CHECK(targets(HttpMethod::Post, 200, "") == Targets{{"/", Scope::Exact}});
}

TEST_CASE("cache invalidation: Location and Content-Location of the same origin",
          "[gateway_cache]") {
  Targets t = targets(HttpMethod::Post, 201, "/courses",
                      {{"Location", "/courses/8"},
                       {"Content-Location", "http://SHOP.example:80/courses/8?v=1#top"}});
  CHECK(t == Targets{{"/courses", Scope::Exact},
                     {"/courses/8", Scope::Exact},
                     {"/courses/8?v=1", Scope::Exact}});
  // Another origin is never invalidated (4.4).
  t = targets(HttpMethod::Post, 201, "/courses",
              {{"Location", "http://evil.example/courses"},
               {"Content-Location", "https://shop.example/courses/8"}});
  CHECK(t == Targets{{"/courses", Scope::Exact}});
  // Duplicates collapse.
  t = targets(HttpMethod::Put, 200, "/courses/8", {{"Content-Location", "/courses/8"}});
  CHECK(t == Targets{{"/courses/8", Scope::Exact}});
}

TEST_CASE("cache invalidation: references resolve as RFC 3986 5.4.1 says", "[gateway_cache]") {
  // RFC 3986's examples, on base "/b/c/d;p?q" of the request's origin.
  const std::string_view base = "/b/c/d;p?q";
  CHECK(resolve("g", base) == "/b/c/g");
  CHECK(resolve("./g", base) == "/b/c/g");
  CHECK(resolve("g/", base) == "/b/c/g/");
  CHECK(resolve("/g", base) == "/g");
  CHECK(resolve("?y", base) == "/b/c/d;p?y");
  CHECK(resolve("g?y", base) == "/b/c/g?y");
  CHECK(resolve("#s", base) == "/b/c/d;p?q");
  CHECK(resolve("", base) == "/b/c/d;p?q");
  CHECK(resolve(".", base) == "/b/c/");
  CHECK(resolve("./", base) == "/b/c/");
  CHECK(resolve("..", base) == "/b/");
  CHECK(resolve("../g", base) == "/b/g");
  CHECK(resolve("../..", base) == "/");
  CHECK(resolve("../../g", base) == "/g");
  CHECK(resolve("../../../g", base) == "/g");
  CHECK(resolve("/./g", base) == "/g");
  CHECK(resolve("/../g", base) == "/g");
  CHECK(resolve("g.", base) == "/b/c/g.");
  CHECK(resolve("..g", base) == "/b/c/..g");
  CHECK(resolve("./../g", base) == "/b/g");
  CHECK(resolve("g/./h", base) == "/b/c/g/h");
  CHECK(resolve("g/../h", base) == "/b/c/h");
}

TEST_CASE("cache invalidation: absolute and network-path references must match the origin",
          "[gateway_cache]") {
  CHECK(resolve("http://shop.example/x") == "/x");
  CHECK(resolve("HTTP://Shop.Example:80/x?y") == "/x?y");
  CHECK(resolve("http://shop.example") == "/");
  CHECK(resolve("http://shop.example?a") == "/?a");
  CHECK(resolve("//shop.example/x") == "/x");
  CHECK(resolve("http://user@shop.example/x") == "/x");
  CHECK_FALSE(resolve("http://shop.example:8080/x"));
  CHECK_FALSE(resolve("https://shop.example/x"));
  CHECK_FALSE(resolve("//other.example/x"));
  CHECK_FALSE(resolve("http://shop.example.evil/x"));
  CHECK_FALSE(resolve("mailto:someone@shop.example"));
  CHECK_FALSE(resolve("http://[::1/x"));
  // A Host with its port, and IPv6.
  CHECK(resolveSameOriginTarget("http://shop.example:8080/x", "/", {"http", "shop.example:8080"}) ==
        "/x");
  CHECK(resolveSameOriginTarget("http://[::1]/x", "/", {"http", "[::1]:80"}) == "/x");
  CHECK(resolveSameOriginTarget("https://shop.example/x", "/", {"https", "shop.example:443"}) ==
        "/x");
}

TEST_CASE("cache invalidation: parent collections", "[gateway_cache]") {
  CHECK(parentCollectionPath("/courses/7") == "/courses");
  CHECK(parentCollectionPath("/courses/7/") == "/courses");
  CHECK(parentCollectionPath("/courses/7?x=1") == "/courses");
  CHECK(parentCollectionPath("/a/b/c") == "/a/b");
  CHECK(parentCollectionPath("/courses") == "/");
  CHECK_FALSE(parentCollectionPath("/"));
  CHECK_FALSE(parentCollectionPath(""));
  CHECK_FALSE(parentCollectionPath("///"));
}

TEST_CASE(
    "cache invalidation: invalidate_parent clears the path and its collection with every query",
    "[gateway_cache]") {
  CHECK(targets(HttpMethod::Put, 200, "/courses/7?draft=1", {}, true) ==
        Targets{{"/courses/7?draft=1", Scope::Exact},
                {"/courses/7", Scope::AnyQuery},
                {"/courses", Scope::AnyQuery}});
  CHECK(targets(HttpMethod::Post, 201, "/courses", {{"Location", "/courses/8"}}, true) ==
        Targets{{"/courses", Scope::Exact},
                {"/courses/8", Scope::Exact},
                {"/courses", Scope::AnyQuery},
                {"/", Scope::AnyQuery}});
  // Error answers invalidate nothing, the parent included.
  CHECK(targets(HttpMethod::Delete, 404, "/courses/7", {}, true).empty());
}

TEST_CASE("cache tags: Cache-Tag and Surrogate-Key, commas or spaces, deduplicated",
          "[gateway_cache]") {
  CHECK(cacheTags(views({{"Cache-Tag", "course-7, courses"},
                         {"Surrogate-Key", "courses  teacher-3\tcourse-7"},
                         {"cache-tag", ",,"}})) ==
        std::vector<std::string>{"course-7", "courses", "teacher-3"});
  CHECK(cacheTags(views({{"Content-Type", "x"}})).empty());
}

TEST_CASE("cache tags: bounded in count and length", "[gateway_cache]") {
  std::string many;
  for (int i = 0; i < 1000; ++i) {
    many += 't';
    many += std::to_string(i);
    many += ' ';
  }
  std::vector<std::string> tags = cacheTags(views({{"Cache-Tag", many}}));
  CHECK(tags.size() == kMaxCacheTags);
  CHECK(tags.front() == "t0");
  const std::string long_tag(kMaxCacheTagBytes + 1, 'x');
  const std::string max_tag(kMaxCacheTagBytes, 'y');
  CHECK(cacheTags(views({{"Cache-Tag", long_tag + "," + max_tag}})) ==
        std::vector<std::string>{max_tag});
}

}  // namespace redge
