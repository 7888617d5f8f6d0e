// Cache-Control parsing for the gateway cache (RFC 9111 5.2, 1.2.2, 4.2.1;
// RFC 5861): every directive, lines and lists joined, case, quoted
// arguments, qualified no-cache and private, invalid, duplicate and huge
// values, and junk that must not be mistaken for a directive.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "services/gateway/cache/cache_control.hpp"
#include "services/gateway/cache/field_values.hpp"

namespace redge {
namespace {

CacheControl parse(std::initializer_list<const char*> lines) {
  std::vector<HttpHeaderField> fields;
  for (const char* l : lines) fields.push_back({"Cache-Control", l});
  return parseCacheControl(fields);
}

}  // namespace

TEST_CASE("cache-control: no field, no directives", "[gateway_cache]") {
  std::vector<HttpHeaderField> fields = {{"Content-Type", "text/plain"}};
  CacheControl cc = parseCacheControl(fields);
  CHECK_FALSE(cc.present);
  CHECK_FALSE(cc.max_age);
  CHECK_FALSE(cc.no_store);
}

TEST_CASE("cache-control: every response directive", "[gateway_cache]") {
  CacheControl cc =
      parse({"public, max-age=60, s-maxage=120, must-revalidate, proxy-revalidate,"
             " must-understand, no-transform, immutable, no-store,"
             " stale-while-revalidate=30, stale-if-error=600"});
  CHECK(cc.present);
  CHECK(cc.is_public);
  CHECK(cc.max_age == 60);
  CHECK(cc.s_maxage == 120);
  CHECK(cc.must_revalidate);
  CHECK(cc.proxy_revalidate);
  CHECK(cc.must_understand);
  CHECK(cc.no_transform);
  CHECK(cc.immutable);
  CHECK(cc.no_store);
  CHECK(cc.stale_while_revalidate == 30);
  CHECK(cc.stale_if_error == 600);
  CHECK_FALSE(cc.freshness_invalid);
}

TEST_CASE("cache-control: every request directive", "[gateway_cache]") {
  CacheControl cc = parse({"max-age=0, max-stale=10, min-fresh=5, only-if-cached, no-cache"});
  CHECK(cc.max_age == 0);
  CHECK(cc.max_stale);
  CHECK(cc.max_stale_seconds == 10);
  CHECK(cc.min_fresh == 5);
  CHECK(cc.only_if_cached);
  CHECK(cc.no_cache);
  CHECK(cc.no_cache_unqualified);
}

TEST_CASE("cache-control: max-stale without a value accepts any staleness", "[gateway_cache]") {
  CacheControl cc = parse({"max-stale"});
  CHECK(cc.max_stale);
  CHECK_FALSE(cc.max_stale_seconds);
  // A bound given as well tightens it.
  cc = parse({"max-stale", "max-stale=7"});
  CHECK(cc.max_stale_seconds == 7);
  // A bad bound accepts no staleness.
  cc = parse({"max-stale=soon"});
  CHECK(cc.max_stale);
  CHECK(cc.max_stale_seconds == 0);
}

TEST_CASE("cache-control: several lines and list members join", "[gateway_cache]") {
  CacheControl cc = parse({"max-age=10", "private", ", , no-transform ,"});
  CHECK(cc.max_age == 10);
  CHECK(cc.is_private);
  CHECK(cc.private_unqualified);
  CHECK(cc.no_transform);
}

TEST_CASE("cache-control: directive names are case-insensitive", "[gateway_cache]") {
  CacheControl cc = parse({"MAX-AGE=5, No-Store, PUBLIC, S-MaxAge=9"});
  CHECK(cc.max_age == 5);
  CHECK(cc.no_store);
  CHECK(cc.is_public);
  CHECK(cc.s_maxage == 9);
  std::vector<HttpHeaderField> fields = {{"cache-CONTROL", "no-cache"}};
  CHECK(parseCacheControl(fields).no_cache);
}

TEST_CASE("cache-control: quoted arguments are accepted for every directive", "[gateway_cache]") {
  CacheControl cc = parse({"max-age=\"3600\", s-maxage=\"60\", stale-if-error=\"5\""});
  CHECK(cc.max_age == 3600);
  CHECK(cc.s_maxage == 60);
  CHECK(cc.stale_if_error == 5);
  CHECK_FALSE(cc.freshness_invalid);
}

TEST_CASE("cache-control: qualified no-cache and private keep their field names",
          "[gateway_cache]") {
  CacheControl cc = parse({"no-cache=\"Set-Cookie, X-Session\", private=\"X-User\""});
  CHECK(cc.no_cache);
  CHECK_FALSE(cc.no_cache_unqualified);
  CHECK(cc.no_cache_fields == std::vector<std::string>{"set-cookie", "x-session"});
  CHECK(cc.is_private);
  CHECK_FALSE(cc.private_unqualified);
  CHECK(cc.private_fields == std::vector<std::string>{"x-user"});
  // The token form of one name, too.
  cc = parse({"private=set-cookie"});
  CHECK(cc.private_fields == std::vector<std::string>{"set-cookie"});
  // An empty list, or a broken string, is the unqualified directive.
  cc = parse({"private=\"\""});
  CHECK(cc.private_unqualified);
  cc = parse({"no-cache=\"unterminated"});
  CHECK(cc.no_cache_unqualified);
}

TEST_CASE("cache-control: commas and escapes inside quotes do not split", "[gateway_cache]") {
  CacheControl cc = parse({"ext=\"a, max-age=5, \\\"no-store\\\"\", max-age=7"});
  CHECK(cc.max_age == 7);
  CHECK_FALSE(cc.no_store);
  CHECK_FALSE(cc.freshness_invalid);
}

TEST_CASE("cache-control: unknown directives and junk are ignored", "[gateway_cache]") {
  CacheControl cc = parse({"community=\"UCI\", =5, ==, foo=bar=baz, max-age=30"});
  CHECK(cc.max_age == 30);
  CHECK_FALSE(cc.no_store);
  CHECK_FALSE(cc.freshness_invalid);
}

TEST_CASE("cache-control: an invalid max-age or s-maxage makes the response stale",
          "[gateway_cache]") {
  for (const char* v : {"max-age=abc", "max-age=-1", "max-age=1.5", "max-age=", "max-age",
                        "max-age=+5", "max-age= ", "max-age=\"5"}) {
    INFO(v);
    CacheControl cc = parse({v});
    CHECK(cc.freshness_invalid);
    CHECK(cc.max_age == 0);
  }
  CacheControl cc = parse({"s-maxage=soon"});
  CHECK(cc.freshness_invalid);
  CHECK(cc.s_maxage == 0);
}

TEST_CASE("cache-control: a conflicting duplicate makes the response stale, an equal one does not",
          "[gateway_cache]") {
  CacheControl cc = parse({"max-age=60", "max-age=3600"});
  CHECK(cc.freshness_invalid);
  CHECK(cc.max_age == 60);
  cc = parse({"max-age=60, max-age=60"});
  CHECK_FALSE(cc.freshness_invalid);
  CHECK(cc.max_age == 60);
  cc = parse({"s-maxage=1, s-maxage=2"});
  CHECK(cc.freshness_invalid);
}

TEST_CASE("cache-control: huge delta-seconds clamp to 2^31", "[gateway_cache]") {
  CacheControl cc =
      parse({"max-age=99999999999999999999999999999999, stale-if-error=2147483649,"
             " min-fresh=2147483648"});
  CHECK(cc.max_age == kDeltaSecondsMax);
  CHECK(cc.stale_if_error == kDeltaSecondsMax);
  CHECK(cc.min_fresh == kDeltaSecondsMax);
  CHECK_FALSE(cc.freshness_invalid);
  cc = parse({"max-age=2147483647"});
  CHECK(cc.max_age == 2147483647);
}

TEST_CASE("cache-control: invalid request values read most restrictively", "[gateway_cache]") {
  CacheControl cc = parse({"min-fresh=x"});
  CHECK(cc.min_fresh == kDeltaSecondsMax);
  cc = parse({"min-fresh=5, min-fresh=50"});
  CHECK(cc.min_fresh == 50);
  // stale-* with a bad value give no permission.
  cc = parse({"stale-while-revalidate=x, stale-if-error=-3"});
  CHECK_FALSE(cc.stale_while_revalidate);
  CHECK_FALSE(cc.stale_if_error);
}

TEST_CASE("cache-control: permissive directives with arguments are ignored, restrictive ones not",
          "[gateway_cache]") {
  CacheControl cc = parse({"public=yes, immutable=1, no-store=1, must-revalidate=\"x\""});
  CHECK_FALSE(cc.is_public);
  CHECK_FALSE(cc.immutable);
  CHECK(cc.no_store);
  CHECK(cc.must_revalidate);
}

TEST_CASE("cache-control: whitespace around names and arguments", "[gateway_cache]") {
  CacheControl cc = parse({"\t max-age = 12 ,\tno-cache\t"});
  CHECK(cc.max_age == 12);
  CHECK(cc.no_cache);
}

TEST_CASE("cache-control: many lines", "[gateway_cache]") {
  std::vector<HttpHeaderField> fields;
  std::vector<std::string> values;
  for (int i = 0; i < 500; ++i) values.push_back("x-ext-" + std::to_string(i));
  values.push_back("max-age=42");
  for (const std::string& v : values) fields.push_back({"Cache-Control", v});
  CacheControl cc = parseCacheControl(fields);
  CHECK(cc.max_age == 42);
}

TEST_CASE("cache field values: delta-seconds and quoted strings", "[gateway_cache]") {
  CHECK(parseDeltaSeconds("0") == 0);
  CHECK(parseDeltaSeconds("007") == 7);
  CHECK(parseDeltaSeconds("2147483648") == kDeltaSecondsMax);
  CHECK(parseDeltaSeconds("2147483649") == kDeltaSecondsMax);
  CHECK_FALSE(parseDeltaSeconds(""));
  CHECK_FALSE(parseDeltaSeconds(" 1"));
  CHECK_FALSE(parseDeltaSeconds("1e3"));
  CHECK(unquoteString("\"a\\\"b\"") == std::string("a\"b"));
  CHECK(unquoteString("\"\"") == std::string());
  CHECK_FALSE(unquoteString("\"a\"b\""));
  CHECK_FALSE(unquoteString("\"a\\\""));
  CHECK_FALSE(unquoteString("abc"));
}

}  // namespace redge
