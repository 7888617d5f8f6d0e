// Router: exact and captured patterns, their precedence, the HEAD fallback to
// GET, 405 with its Allow list, 404, and what is left in `params` after a
// match, a miss or a partial capture.

#include "net/http/router.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace redge {
namespace {

using Kind = RouteMatch::Kind;

// One match with a fresh params vector, kept for inspection.
struct Result {
  RouteMatch match;
  std::vector<std::string_view> params;
};

Result run(const Router& router, HttpMethod method, std::string_view path) {
  Result r;
  r.match = router.match(method, path, r.params);
  return r;
}

}  // namespace

TEST_CASE("router: route ids count up from 0 in order of addition", "[router]") {
  Router router;
  CHECK(router.add(HttpMethod::Get, "/a") == 0);
  CHECK(router.add(HttpMethod::Post, "/b/{id}") == 1);
  CHECK(router.add(HttpMethod::Get, "/{*rest}") == 2);
}

TEST_CASE("router: exact routes", "[router]") {
  Router router;
  const int get = router.add(HttpMethod::Get, "/get");
  const int post = router.add(HttpMethod::Post, "/post");
  const int deep = router.add(HttpMethod::Get, "/a/b/c");
  const int root = router.add(HttpMethod::Get, "/");

  Result r = run(router, HttpMethod::Get, "/get");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == get);
  CHECK(r.match.allow.empty());
  CHECK(r.params.empty());

  r = run(router, HttpMethod::Post, "/post");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == post);

  r = run(router, HttpMethod::Get, "/a/b/c");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == deep);

  r = run(router, HttpMethod::Get, "/");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == root);
  CHECK(r.params.empty());

  SECTION("prefixes and extensions of a route do not match it") {
    for (std::string_view path :
         {"/ge", "/gett", "/get/x", "/a/b", "/a/b/c/d", "/a/b/cd", "/A/b/c", "/GET"}) {
      INFO(path);
      r = run(router, HttpMethod::Get, path);
      CHECK(r.match.kind == Kind::NotFound);
      CHECK(r.match.route_id == -1);
      CHECK(r.match.allow.empty());
    }
  }

  SECTION("a path must start with a slash") {
    for (std::string_view path : {"", "get", "*", "a/b/c"}) {
      INFO(path);
      CHECK(run(router, HttpMethod::Get, path).match.kind == Kind::NotFound);
    }
  }
}

TEST_CASE("router: a pattern without its leading slash is the same pattern", "[router]") {
  Router router;
  const int id = router.add(HttpMethod::Get, "plain");
  const Result r = run(router, HttpMethod::Get, "/plain");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == id);
}

TEST_CASE("router: {id} captures one non-empty segment", "[router]") {
  Router router;
  const int one = router.add(HttpMethod::Get, "/messages/{id}");
  const int two = router.add(HttpMethod::Get, "/users/{user}/posts/{post}");

  Result r = run(router, HttpMethod::Get, "/messages/42");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == one);
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "42");

  r = run(router, HttpMethod::Get, "/users/ann/posts/7");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == two);
  REQUIRE(r.params.size() == 2);
  CHECK(r.params[0] == "ann");
  CHECK(r.params[1] == "7");

  SECTION("captures are views into the path, not copies") {
    const std::string path = "/messages/abc";
    std::vector<std::string_view> params;
    const RouteMatch m = router.match(HttpMethod::Get, path, params);
    REQUIRE(m.kind == Kind::Found);
    REQUIRE(params.size() == 1);
    CHECK(params[0].data() == path.data() + 10);
    CHECK(params[0].size() == 3);
  }

  SECTION("captures keep percent escapes and odd bytes as sent") {
    r = run(router, HttpMethod::Get, "/messages/a%2Fb");
    REQUIRE(r.params.size() == 1);
    CHECK(r.params[0] == "a%2Fb");
    r = run(router, HttpMethod::Get, "/messages/{id}");
    REQUIRE(r.params.size() == 1);
    CHECK(r.params[0] == "{id}");
  }

  SECTION("a capture never spans a slash or matches nothing") {
    for (std::string_view path : {"/messages/", "/messages", "/messages/1/2", "/messages//",
                                  "/messages/1/", "/users/ann/posts/", "/users//posts/7"}) {
      INFO(path);
      r = run(router, HttpMethod::Get, path);
      CHECK(r.match.kind == Kind::NotFound);
      CHECK(r.params.empty());
    }
  }
}

TEST_CASE("router: {*rest} captures the rest of the path, slashes included", "[router]") {
  Router router;
  const int files = router.add(HttpMethod::Get, "/files/{*path}");

  Result r = run(router, HttpMethod::Get, "/files/a");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == files);
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "a");

  r = run(router, HttpMethod::Get, "/files/a/b/c.txt");
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "a/b/c.txt");

  r = run(router, HttpMethod::Get, "/files/dir/");
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "dir/");

  r = run(router, HttpMethod::Get, "/files//x");
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "/x");

  SECTION("it needs at least one byte") {
    for (std::string_view path : {"/files/", "/files", "/file", "/filesx/a"}) {
      INFO(path);
      r = run(router, HttpMethod::Get, path);
      CHECK(r.match.kind == Kind::NotFound);
      CHECK(r.params.empty());
    }
  }
}

TEST_CASE("router: a root catch-all takes every non-root path", "[router]") {
  Router router;
  const int key = router.add(HttpMethod::Get, "/{*key}");
  Result r = run(router, HttpMethod::Get, "/k");
  CHECK(r.match.route_id == key);
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "k");

  r = run(router, HttpMethod::Get, "/a/b/");
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "a/b/");

  r = run(router, HttpMethod::Get, "//");
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "/");

  r = run(router, HttpMethod::Get, "/");
  CHECK(r.match.kind == Kind::NotFound);
  CHECK(r.params.empty());
}

TEST_CASE("router: a capture followed by a catch-all", "[router]") {
  Router router;
  const int id = router.add(HttpMethod::Put, "/buckets/{bucket}/{*key}");
  Result r = run(router, HttpMethod::Put, "/buckets/b1/x/y/z");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == id);
  REQUIRE(r.params.size() == 2);
  CHECK(r.params[0] == "b1");
  CHECK(r.params[1] == "x/y/z");

  // The capture matched, the catch-all had nothing: the partial capture is
  // not left behind.
  r = run(router, HttpMethod::Put, "/buckets/b1/");
  CHECK(r.match.kind == Kind::NotFound);
  CHECK(r.params.empty());
}

TEST_CASE("router: exact beats capture, whatever the order", "[router]") {
  Router router;
  const int capture = router.add(HttpMethod::Get, "/items/{id}");
  const int rest = router.add(HttpMethod::Get, "/{*key}");
  const int exact = router.add(HttpMethod::Get, "/items/new");
  const int exact_root = router.add(HttpMethod::Get, "/health");

  Result r = run(router, HttpMethod::Get, "/items/new");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == exact);
  CHECK(r.params.empty());

  r = run(router, HttpMethod::Get, "/health");
  CHECK(r.match.route_id == exact_root);
  CHECK(r.params.empty());

  r = run(router, HttpMethod::Get, "/items/7");
  CHECK(r.match.route_id == capture);
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "7");

  r = run(router, HttpMethod::Get, "/other/path");
  CHECK(r.match.route_id == rest);
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "other/path");
}

TEST_CASE("router: the earlier route wins among equals", "[router]") {
  Router router;
  const int first_capture = router.add(HttpMethod::Get, "/x/{a}");
  router.add(HttpMethod::Get, "/x/{b}");
  const int first_exact = router.add(HttpMethod::Get, "/y");
  router.add(HttpMethod::Get, "/y");
  // A capture pattern added before a catch-all that also matches.
  const int capture_before_rest = router.add(HttpMethod::Get, "/z/{id}");
  router.add(HttpMethod::Get, "/z/{*rest}");

  CHECK(run(router, HttpMethod::Get, "/x/1").match.route_id == first_capture);
  CHECK(run(router, HttpMethod::Get, "/y").match.route_id == first_exact);
  Result r = run(router, HttpMethod::Get, "/z/1");
  CHECK(r.match.route_id == capture_before_rest);
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "1");

  // Where the earlier capture fails, the later catch-all still matches.
  r = run(router, HttpMethod::Get, "/z/1/2");
  CHECK(r.match.route_id == capture_before_rest + 1);
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "1/2");
}

TEST_CASE("router: the same pattern with different methods", "[router]") {
  Router router;
  const int get = router.add(HttpMethod::Get, "/m/{id}");
  const int post = router.add(HttpMethod::Post, "/m/{id}");
  const int del = router.add(HttpMethod::Delete, "/m/{id}");
  CHECK(run(router, HttpMethod::Get, "/m/1").match.route_id == get);
  CHECK(run(router, HttpMethod::Post, "/m/1").match.route_id == post);
  CHECK(run(router, HttpMethod::Delete, "/m/1").match.route_id == del);
  Result r = run(router, HttpMethod::Delete, "/m/1");
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "1");
}

TEST_CASE("router: HEAD falls back to GET", "[router]") {
  Router router;
  const int get = router.add(HttpMethod::Get, "/page");
  const int get_capture = router.add(HttpMethod::Get, "/doc/{id}");

  Result r = run(router, HttpMethod::Head, "/page");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == get);

  r = run(router, HttpMethod::Head, "/doc/9");
  CHECK(r.match.kind == Kind::Found);
  CHECK(r.match.route_id == get_capture);
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "9");

  SECTION("but no other method falls back to GET") {
    for (HttpMethod m : {HttpMethod::Post, HttpMethod::Put, HttpMethod::Delete, HttpMethod::Patch,
                         HttpMethod::Options, HttpMethod::Other}) {
      INFO(httpMethodName(m));
      CHECK(run(router, m, "/page").match.kind == Kind::MethodNotAllowed);
    }
  }
}

TEST_CASE("router: a declared HEAD route takes HEAD from GET", "[router]") {
  SECTION("declared after the GET route") {
    Router router;
    const int get = router.add(HttpMethod::Get, "/page");
    const int head = router.add(HttpMethod::Head, "/page");
    CHECK(run(router, HttpMethod::Head, "/page").match.route_id == head);
    CHECK(run(router, HttpMethod::Get, "/page").match.route_id == get);
  }
  SECTION("declared before the GET route") {
    Router router;
    const int head = router.add(HttpMethod::Head, "/page");
    const int get = router.add(HttpMethod::Get, "/page");
    CHECK(run(router, HttpMethod::Head, "/page").match.route_id == head);
    CHECK(run(router, HttpMethod::Get, "/page").match.route_id == get);
  }
  SECTION("with captures") {
    Router router;
    const int get = router.add(HttpMethod::Get, "/obj/{*key}");
    const int head = router.add(HttpMethod::Head, "/obj/{*key}");
    Result r = run(router, HttpMethod::Head, "/obj/a/b");
    CHECK(r.match.route_id == head);
    REQUIRE(r.params.size() == 1);
    CHECK(r.params[0] == "a/b");
    CHECK(run(router, HttpMethod::Get, "/obj/a/b").match.route_id == get);
  }
  SECTION("a HEAD route elsewhere does not stop the fallback") {
    Router router;
    const int get = router.add(HttpMethod::Get, "/page");
    router.add(HttpMethod::Head, "/other");
    CHECK(run(router, HttpMethod::Head, "/page").match.route_id == get);
  }
}

TEST_CASE("router: 405 with the Allow list", "[router]") {
  Router router;
  router.add(HttpMethod::Get, "/get");
  router.add(HttpMethod::Post, "/post");
  router.add(HttpMethod::Get, "/multi");
  router.add(HttpMethod::Post, "/multi");
  router.add(HttpMethod::Delete, "/multi");
  router.add(HttpMethod::Put, "/put/{id}");
  router.add(HttpMethod::Get, "/both");
  router.add(HttpMethod::Head, "/both");
  router.add(HttpMethod::Head, "/head-only");

  SECTION("a GET-only path allows GET and HEAD") {
    const Result r = run(router, HttpMethod::Post, "/get");
    CHECK(r.match.kind == Kind::MethodNotAllowed);
    CHECK(r.match.route_id == -1);
    CHECK(r.match.allow == "GET, HEAD");
    CHECK(r.params.empty());
  }
  SECTION("a POST-only path allows POST, even to HEAD and GET") {
    CHECK(run(router, HttpMethod::Get, "/post").match.allow == "POST");
    const Result r = run(router, HttpMethod::Head, "/post");
    CHECK(r.match.kind == Kind::MethodNotAllowed);
    CHECK(r.match.allow == "POST");
  }
  SECTION("several methods, in order of declaration, HEAD last") {
    const Result r = run(router, HttpMethod::Put, "/multi");
    CHECK(r.match.kind == Kind::MethodNotAllowed);
    CHECK(r.match.allow == "GET, POST, DELETE, HEAD");
  }
  SECTION("a declared HEAD is listed once") {
    CHECK(run(router, HttpMethod::Post, "/both").match.allow == "GET, HEAD");
    CHECK(run(router, HttpMethod::Get, "/head-only").match.allow == "HEAD");
  }
  SECTION("captures: params stay empty") {
    const Result r = run(router, HttpMethod::Get, "/put/5");
    CHECK(r.match.kind == Kind::MethodNotAllowed);
    CHECK(r.match.allow == "PUT");
    CHECK(r.params.empty());
  }
  SECTION("the same method declared twice is listed once") {
    Router twice;
    twice.add(HttpMethod::Post, "/p");
    twice.add(HttpMethod::Post, "/p");
    CHECK(run(twice, HttpMethod::Get, "/p").match.allow == "POST");
  }
}

TEST_CASE("router: an exact path answered 405 does not fall through to a capture", "[router]") {
  Router router;
  router.add(HttpMethod::Get, "/get");
  router.add(HttpMethod::Post, "/{*key}");
  const Result r = run(router, HttpMethod::Post, "/get");
  CHECK(r.match.kind == Kind::MethodNotAllowed);
  CHECK(r.params.empty());
  // Another path still reaches the catch-all.
  CHECK(run(router, HttpMethod::Post, "/other").match.kind == Kind::Found);
}

// RFC 9110 section 15.5.6: Allow lists the methods the target resource
// supports. A method that is itself answered 405 on this path must not be
// listed, or a client that follows the header loops on 405s.
TEST_CASE("router: Allow lists only methods that the path accepts", "[router]") {
  Router router;
  router.add(HttpMethod::Get, "/get");
  router.add(HttpMethod::Post, "/{*key}");
  const Result put = run(router, HttpMethod::Put, "/get");
  REQUIRE(put.match.kind == Kind::MethodNotAllowed);
  const Result post = run(router, HttpMethod::Post, "/get");
  REQUIRE(post.match.kind == Kind::MethodNotAllowed);
  CHECK(put.match.allow == "GET, HEAD");
  CHECK(post.match.allow == "GET, HEAD");
}

TEST_CASE("router: 404", "[router]") {
  SECTION("an empty router") {
    Router router;
    const Result r = run(router, HttpMethod::Get, "/");
    CHECK(r.match.kind == Kind::NotFound);
    CHECK(r.match.route_id == -1);
    CHECK(r.match.allow.empty());
  }
  SECTION("no pattern matches, whatever the method") {
    Router router;
    router.add(HttpMethod::Get, "/a");
    router.add(HttpMethod::Post, "/b/{id}");
    for (HttpMethod m : {HttpMethod::Get, HttpMethod::Head, HttpMethod::Post}) {
      const Result r = run(router, m, "/c");
      CHECK(r.match.kind == Kind::NotFound);
      CHECK(r.match.allow.empty());
    }
  }
}

TEST_CASE("router: a trailing slash is a different path", "[router]") {
  Router router;
  const int bare = router.add(HttpMethod::Get, "/dir");
  CHECK(run(router, HttpMethod::Get, "/dir").match.route_id == bare);
  CHECK(run(router, HttpMethod::Get, "/dir/").match.kind == Kind::NotFound);

  const int slashed = router.add(HttpMethod::Get, "/dir/");
  CHECK(run(router, HttpMethod::Get, "/dir/").match.route_id == slashed);
  CHECK(run(router, HttpMethod::Get, "/dir").match.route_id == bare);

  const int capture = router.add(HttpMethod::Get, "/c/{id}/");
  Result r = run(router, HttpMethod::Get, "/c/1/");
  CHECK(r.match.route_id == capture);
  REQUIRE(r.params.size() == 1);
  CHECK(r.params[0] == "1");
  CHECK(run(router, HttpMethod::Get, "/c/1").match.kind == Kind::NotFound);
}

TEST_CASE("router: empty path segments are literal and never captured", "[router]") {
  Router router;
  const int doubled = router.add(HttpMethod::Get, "/a//b");
  const int capture = router.add(HttpMethod::Get, "/x/{id}/y");
  CHECK(run(router, HttpMethod::Get, "/a//b").match.route_id == doubled);
  CHECK(run(router, HttpMethod::Get, "/a/b").match.kind == Kind::NotFound);
  CHECK(run(router, HttpMethod::Get, "/a///b").match.kind == Kind::NotFound);
  CHECK(run(router, HttpMethod::Get, "/x/1/y").match.route_id == capture);
  Result r = run(router, HttpMethod::Get, "/x//y");
  CHECK(r.match.kind == Kind::NotFound);
  CHECK(r.params.empty());
  CHECK(run(router, HttpMethod::Get, "//a/b").match.kind == Kind::NotFound);
}

TEST_CASE("router: params from failed candidates are cleared", "[router]") {
  Router router;
  // Each of these captures a segment or two before failing on /p/1/2/3/x.
  router.add(HttpMethod::Get, "/p/{a}/{b}/{c}/y");
  router.add(HttpMethod::Get, "/p/{a}/{b}/z");
  router.add(HttpMethod::Get, "/p/{a}");
  const int last = router.add(HttpMethod::Get, "/p/{a}/{b}/{c}/x");

  Result r = run(router, HttpMethod::Get, "/p/1/2/3/x");
  CHECK(r.match.route_id == last);
  REQUIRE(r.params.size() == 3);
  CHECK(r.params[0] == "1");
  CHECK(r.params[1] == "2");
  CHECK(r.params[2] == "3");

  r = run(router, HttpMethod::Get, "/p/1/2/3/w");
  CHECK(r.match.kind == Kind::NotFound);
  CHECK(r.params.empty());

  SECTION("params already in the vector are kept, new ones appended") {
    std::vector<std::string_view> params{"before"};
    RouteMatch m = router.match(HttpMethod::Get, "/p/1/2/3/w", params);
    CHECK(m.kind == Kind::NotFound);
    REQUIRE(params.size() == 1);
    CHECK(params[0] == "before");
    m = router.match(HttpMethod::Get, "/p/9", params);
    CHECK(m.kind == Kind::Found);
    REQUIRE(params.size() == 2);
    CHECK(params[0] == "before");
    CHECK(params[1] == "9");
  }
}

TEST_CASE("router: braces that are not a whole segment are literal", "[router]") {
  Router router;
  const int a = router.add(HttpMethod::Get, "/{}");
  const int b = router.add(HttpMethod::Get, "/x{id}");
  const int c = router.add(HttpMethod::Get, "/{id");
  CHECK(run(router, HttpMethod::Get, "/{}").match.route_id == a);
  CHECK(run(router, HttpMethod::Get, "/x{id}").match.route_id == b);
  CHECK(run(router, HttpMethod::Get, "/x1").match.kind == Kind::NotFound);
  CHECK(run(router, HttpMethod::Get, "/{id").match.route_id == c);
}

}  // namespace redge
