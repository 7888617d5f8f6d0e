// Conditional requests at the gateway cache (RFC 9110 8.8.3, 13, 15.4.5;
// RFC 9111 3.1, 3.2, 4.3): entity-tag comparison, a client's preconditions
// against a stored response, the validators of a revalidation, which 304
// updates an entry, the fields stored and the fields a 304 merges.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "net/http/http_date.hpp"
#include "services/gateway/cache/conditional.hpp"
#include "services/gateway/cache/stored_fields.hpp"

namespace redge {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::vector<HttpHeaderField> views(const Fields& fields) {
  std::vector<HttpHeaderField> out;
  for (const auto& [n, v] : fields) out.push_back({n, v});
  return out;
}

constexpr int64_t kT0 = 1795935600000;  // 2026-11-29 07:00:00 UTC
const std::string kLastModified = "Sun, 06 Nov 1994 08:49:37 GMT";
const std::string kBefore = "Sat, 05 Nov 1994 08:49:37 GMT";
const std::string kAfter = "Mon, 07 Nov 1994 08:49:37 GMT";

const Fields kStored = {{"Content-Type", "text/plain"},
                        {"ETag", "\"v1\""},
                        {"Last-Modified", kLastModified},
                        {"Date", "Sun, 29 Nov 2026 07:00:00 GMT"}};

ConditionalResult evaluate(const Fields& request, const Fields& stored = kStored,
                           HttpMethod method = HttpMethod::Get) {
  return evaluateConditionalRequest(method, views(request), views(stored), kT0);
}

}  // namespace

TEST_CASE("cache conditional: entity-tag comparison (RFC 9110 8.8.3.2 table)", "[gateway_cache]") {
  const EntityTag w1 = parseEntityTag("W/\"1\"");
  const EntityTag w2 = parseEntityTag("W/\"2\"");
  const EntityTag s1 = parseEntityTag("\"1\"");
  const EntityTag s2 = parseEntityTag("\"2\"");
  CHECK(w1.weak);
  CHECK(w1.opaque == "\"1\"");
  CHECK_FALSE(strongEtagMatch(w1, w1));
  CHECK(weakEtagMatch(w1, w1));
  CHECK_FALSE(strongEtagMatch(w1, w2));
  CHECK_FALSE(weakEtagMatch(w1, w2));
  CHECK_FALSE(strongEtagMatch(w1, s1));
  CHECK(weakEtagMatch(w1, s1));
  CHECK(strongEtagMatch(s1, s1));
  CHECK(weakEtagMatch(s1, s1));
  CHECK_FALSE(weakEtagMatch(s1, s2));
  CHECK_FALSE(weakEtagMatch(parseEntityTag(""), parseEntityTag("")));
}

TEST_CASE("cache conditional: If-None-Match, weak comparison, lists and *", "[gateway_cache]") {
  CHECK(evaluate({{"If-None-Match", "\"v1\""}}) == ConditionalResult::NotModified);
  CHECK(evaluate({{"If-None-Match", "W/\"v1\""}}) == ConditionalResult::NotModified);
  CHECK(evaluate({{"If-None-Match", "\"v0\", \"v1\""}}) == ConditionalResult::NotModified);
  CHECK(evaluate({{"If-None-Match", "\"v0\""}, {"If-None-Match", "\"v1\""}}) ==
        ConditionalResult::NotModified);
  CHECK(evaluate({{"If-None-Match", "*"}}) == ConditionalResult::NotModified);
  CHECK(evaluate({{"If-None-Match", "\"v2\""}}) == ConditionalResult::Full);
  CHECK(evaluate({{"If-None-Match", "\"V1\""}}) == ConditionalResult::Full);  // case matters
  // A weak stored tag matches its strong form weakly.
  Fields weak_stored = {{"ETag", "W/\"v1\""}};
  CHECK(evaluate({{"If-None-Match", "\"v1\""}}, weak_stored) == ConditionalResult::NotModified);
  // A comma inside a tag does not split it.
  Fields comma_stored = {{"ETag", "\"a,b\""}};
  CHECK(evaluate({{"If-None-Match", "\"a,b\""}}, comma_stored) == ConditionalResult::NotModified);
  CHECK(evaluate({{"If-None-Match", "\"a\""}}, comma_stored) == ConditionalResult::Full);
}

TEST_CASE("cache conditional: If-None-Match takes precedence over If-Modified-Since",
          "[gateway_cache]") {
  // The tag does not match: a full answer, although the date would say 304.
  CHECK(evaluate({{"If-None-Match", "\"v2\""}, {"If-Modified-Since", kAfter}}) ==
        ConditionalResult::Full);
  CHECK(evaluate({{"If-None-Match", "\"v1\""}, {"If-Modified-Since", kBefore}}) ==
        ConditionalResult::NotModified);
}

TEST_CASE("cache conditional: If-Modified-Since against Last-Modified", "[gateway_cache]") {
  CHECK(evaluate({{"If-Modified-Since", kLastModified}}) == ConditionalResult::NotModified);
  CHECK(evaluate({{"If-Modified-Since", kAfter}}) == ConditionalResult::NotModified);
  CHECK(evaluate({{"If-Modified-Since", kBefore}}) == ConditionalResult::Full);
  // Ignored when invalid or on several lines.
  CHECK(evaluate({{"If-Modified-Since", "yesterday"}}) == ConditionalResult::Full);
  CHECK(evaluate({{"If-Modified-Since", kAfter}, {"If-Modified-Since", kAfter}}) ==
        ConditionalResult::Full);
  // Obsolete date formats count.
  CHECK(evaluate({{"If-Modified-Since", "Sunday, 06-Nov-94 08:49:37 GMT"}}) ==
        ConditionalResult::NotModified);
}

TEST_CASE("cache conditional: without Last-Modified, Date or the time received stands in",
          "[gateway_cache]") {
  const Fields dated = {{"Date", kLastModified}};
  CHECK(evaluate({{"If-Modified-Since", kLastModified}}, dated) == ConditionalResult::NotModified);
  CHECK(evaluate({{"If-Modified-Since", kBefore}}, dated) == ConditionalResult::Full);
  const Fields undated = {{"Content-Type", "text/plain"}};
  CHECK(evaluate({{"If-Modified-Since", "Sun, 29 Nov 2026 07:00:00 GMT"}}, undated) ==
        ConditionalResult::NotModified);
  CHECK(evaluate({{"If-Modified-Since", "Sun, 29 Nov 2026 06:59:59 GMT"}}, undated) ==
        ConditionalResult::Full);
}

TEST_CASE("cache conditional: only GET and HEAD are answered 304", "[gateway_cache]") {
  CHECK(evaluate({{"If-None-Match", "*"}}, kStored, HttpMethod::Head) ==
        ConditionalResult::NotModified);
  CHECK(evaluate({{"If-Modified-Since", kAfter}}, kStored, HttpMethod::Head) ==
        ConditionalResult::NotModified);
  for (HttpMethod m : {HttpMethod::Post, HttpMethod::Put, HttpMethod::Delete}) {
    CHECK(evaluate({{"If-None-Match", "*"}}, kStored, m) == ConditionalResult::Full);
  }
}

TEST_CASE("cache conditional: If-Match and If-Unmodified-Since fail with 412", "[gateway_cache]") {
  CHECK(evaluate({{"If-Match", "\"v1\""}}) == ConditionalResult::Full);
  CHECK(evaluate({{"If-Match", "*"}}) == ConditionalResult::Full);
  CHECK(evaluate({{"If-Match", "\"v2\""}}) == ConditionalResult::PreconditionFailed);
  // Strong comparison: a weak tag never matches.
  CHECK(evaluate({{"If-Match", "W/\"v1\""}}) == ConditionalResult::PreconditionFailed);
  CHECK(evaluate({{"If-Unmodified-Since", kBefore}}) == ConditionalResult::PreconditionFailed);
  CHECK(evaluate({{"If-Unmodified-Since", kLastModified}}) == ConditionalResult::Full);
  // If-Match present: If-Unmodified-Since is not evaluated.
  CHECK(evaluate({{"If-Match", "\"v1\""}, {"If-Unmodified-Since", kBefore}}) ==
        ConditionalResult::Full);
  // 412 before 304.
  CHECK(evaluate({{"If-Match", "\"v2\""}, {"If-None-Match", "\"v1\""}}) ==
        ConditionalResult::PreconditionFailed);
}

TEST_CASE("cache conditional: no preconditions, or If-Range, give the full answer",
          "[gateway_cache]") {
  CHECK(evaluate({}) == ConditionalResult::Full);
  CHECK(evaluate({{"If-Range", "\"v1\""}, {"Range", "bytes=0-1"}}) == ConditionalResult::Full);
}

TEST_CASE("cache revalidation: the validators sent upstream", "[gateway_cache]") {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  CHECK(revalidationRequestFields(views(kStored)) ==
        Pairs{{"If-None-Match", "\"v1\""}, {"If-Modified-Since", kLastModified}});
  CHECK(revalidationRequestFields(views({{"ETag", " W/\"x\" "}})) ==
        Pairs{{"If-None-Match", "W/\"x\""}});
  CHECK(revalidationRequestFields(views({{"Last-Modified", kLastModified}})) ==
        Pairs{{"If-Modified-Since", kLastModified}});
  CHECK(revalidationRequestFields(views({{"Last-Modified", "garbage"}, {"ETag", ""}})).empty());
}

TEST_CASE("cache revalidation: which 304 updates the stored entry (RFC 9111 4.3.4)",
          "[gateway_cache]") {
  const auto stored = views(kStored);
  CHECK(notModifiedSelects(stored, views({{"ETag", "\"v1\""}})));
  CHECK_FALSE(notModifiedSelects(stored, views({{"ETag", "\"v2\""}})));
  CHECK(notModifiedSelects(stored, views({{"ETag", "W/\"v1\""}})));
  // A strong 304 tag against a weak stored one: not the same representation.
  CHECK_FALSE(notModifiedSelects(views({{"ETag", "W/\"v1\""}}), views({{"ETag", "\"v1\""}})));
  CHECK(notModifiedSelects(stored, views({{"Last-Modified", kLastModified}})));
  CHECK_FALSE(notModifiedSelects(stored, views({{"Last-Modified", kAfter}})));
  CHECK(notModifiedSelects(stored, views({{"Cache-Control", "max-age=5"}})));
  CHECK_FALSE(notModifiedSelects(views({{"Content-Type", "x"}}), views({{"ETag", "\"v1\""}})));
}

TEST_CASE("cache revalidation: a 304 from the cache carries the listed fields only",
          "[gateway_cache]") {
  const Fields stored = {{"Content-Type", "text/plain"},
                         {"Cache-Control", "max-age=60"},
                         {"ETag", "\"v1\""},
                         {"Vary", "Accept"},
                         {"Expires", kAfter},
                         {"Content-Location", "/a"},
                         {"Last-Modified", kLastModified},
                         {"Set-Cookie", "a=b"}};
  std::vector<std::string> names;
  for (const HttpHeaderField& f : notModifiedResponseFields(views(stored))) {
    names.emplace_back(f.name);
  }
  CHECK(names ==
        std::vector<std::string>{"Cache-Control", "ETag", "Vary", "Expires", "Content-Location"});
  // Without an ETag, Last-Modified is the validator the client keeps.
  names.clear();
  // Named: the views returned point into these fields.
  const Fields without_etag = {{"Last-Modified", kLastModified}, {"X", "y"}};
  for (const HttpHeaderField& f : notModifiedResponseFields(views(without_etag))) {
    names.emplace_back(f.name);
  }
  CHECK(names == std::vector<std::string>{"Last-Modified"});
}

TEST_CASE("cache stored fields: hop-by-hop, proxy and qualified fields are not stored",
          "[gateway_cache]") {
  const Fields response = {
      {"Content-Type", "text/plain"},
      {"Connection", "keep-alive, X-Hop"},
      {"X-Hop", "1"},
      {"Keep-Alive", "timeout=5"},
      {"Transfer-Encoding", "chunked"},
      {"Proxy-Authenticate", "Basic"},
      {"Cache-Control", "max-age=60, private=\"X-User\", no-cache=\"X-Secret\""},
      {"X-User", "alice"},
      {"x-secret", "s"},
      {"Set-Cookie", "a=1"},
      {"Set-Cookie", "b=2"},
      {"Date", "Sun, 29 Nov 2026 07:00:00 GMT"}};
  StoredHeaderFields stored = fieldsToStore(views(response), kT0);
  CHECK(stored == StoredHeaderFields{
                      {"Content-Type", "text/plain"},
                      {"Cache-Control", "max-age=60, private=\"X-User\", no-cache=\"X-Secret\""},
                      {"Set-Cookie", "a=1"},
                      {"Set-Cookie", "b=2"},
                      {"Date", "Sun, 29 Nov 2026 07:00:00 GMT"}});
}

TEST_CASE("cache stored fields: a response without a valid Date gets the time received",
          "[gateway_cache]") {
  StoredHeaderFields stored = fieldsToStore(views({{"ETag", "\"1\""}}), kT0 + 999);
  CHECK(stored == StoredHeaderFields{{"ETag", "\"1\""}, {"Date", "Sun, 29 Nov 2026 07:00:00 GMT"}});
  stored = fieldsToStore(views({{"Date", "0"}, {"ETag", "\"1\""}}), kT0);
  CHECK(stored == StoredHeaderFields{{"ETag", "\"1\""}, {"Date", "Sun, 29 Nov 2026 07:00:00 GMT"}});
}

TEST_CASE("cache stored fields: a 304 replaces the fields it carries, not the body's description",
          "[gateway_cache]") {
  const Fields stored = {{"Content-Type", "text/plain"},
                         {"Content-Length", "5"},
                         {"Content-Encoding", "gzip"},
                         {"Content-MD5", "old"},
                         {"Content-Range", "bytes 0-4/5"},
                         {"Cache-Control", "max-age=60"},
                         {"ETag", "\"v1\""},
                         {"X-Multi", "a"},
                         {"X-Multi", "b"},
                         {"Age", "100"},
                         {"Date", "Sun, 29 Nov 2026 06:00:00 GMT"}};
  const Fields not_modified = {{"Cache-Control", "max-age=120"},
                               {"ETag", "\"v1\""},
                               {"x-multi", "c"},
                               {"Content-Length", "0"},
                               {"Content-Encoding", "br"},
                               {"Content-MD5", "new"},
                               {"Content-Range", "bytes 0-0/1"},
                               {"Connection", "close"},
                               {"Date", "Sun, 29 Nov 2026 07:00:00 GMT"},
                               {"X-New", "1"}};
  StoredHeaderFields merged = mergeNotModified(views(stored), views(not_modified), kT0);
  // The body's own description stays: coding, digest, range and
  // entity-tag with it (even a 304 naming another tag does not retag it).
  CHECK(merged == StoredHeaderFields{{"Content-Type", "text/plain"},
                                     {"Content-Length", "5"},
                                     {"Content-Encoding", "gzip"},
                                     {"Content-MD5", "old"},
                                     {"Content-Range", "bytes 0-4/5"},
                                     {"ETag", "\"v1\""},
                                     {"Cache-Control", "max-age=120"},
                                     {"x-multi", "c"},
                                     {"Date", "Sun, 29 Nov 2026 07:00:00 GMT"},
                                     {"X-New", "1"}});
}

TEST_CASE("cache stored fields: a 304 naming another entity-tag freshens, the tag stays",
          "[gateway_cache]") {
  const Fields stored = {{"ETag", "\"abcdef\""}, {"Cache-Control", "max-age=2"}};
  StoredHeaderFields merged = mergeNotModified(
      views(stored), views({{"ETag", "\"ghijkl\""}, {"Cache-Control", "max-age=5"}}), kT0);
  CHECK(merged == StoredHeaderFields{{"ETag", "\"abcdef\""},
                                     {"Cache-Control", "max-age=5"},
                                     {"Date", "Sun, 29 Nov 2026 07:00:00 GMT"}});
}

TEST_CASE("cache stored fields: a 304 without Date or Age restarts the entry's age",
          "[gateway_cache]") {
  const Fields stored = {
      {"ETag", "\"v1\""}, {"Age", "50"}, {"Date", "Sun, 29 Nov 2026 06:00:00 GMT"}};
  StoredHeaderFields merged = mergeNotModified(views(stored), views({{"ETag", "\"v1\""}}), kT0);
  CHECK(merged ==
        StoredHeaderFields{{"ETag", "\"v1\""}, {"Date", "Sun, 29 Nov 2026 07:00:00 GMT"}});
  // An Age in the 304 (from a cache further up) is kept.
  merged = mergeNotModified(views(stored), views({{"Age", "3"}}), kT0);
  CHECK(merged == StoredHeaderFields{
                      {"ETag", "\"v1\""}, {"Age", "3"}, {"Date", "Sun, 29 Nov 2026 07:00:00 GMT"}});
}

TEST_CASE("cache stored fields: the views of stored fields", "[gateway_cache]") {
  StoredHeaderFields stored = {{"A", "1"}, {"B", "2"}};
  std::vector<HttpHeaderField> v = headerFieldViews(stored);
  REQUIRE(v.size() == 2);
  CHECK(v[1].name == "B");
  CHECK(v[1].value == "2");
}

}  // namespace redge
