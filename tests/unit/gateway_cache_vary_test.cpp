// Vary for the gateway cache (RFC 9111 4.1): the selecting field names of a
// response, the normalised secondary key of a request (lines joined,
// whitespace, case where values are case-insensitive), absent versus empty
// fields, and Vary: * matching nothing.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "services/gateway/cache/vary.hpp"

namespace redge {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::vector<HttpHeaderField> views(const Fields& fields) {
  std::vector<HttpHeaderField> out;
  for (const auto& [n, v] : fields) out.push_back({n, v});
  return out;
}

VarySpec spec(const Fields& response) {
  return parseVary(views(response));
}

std::string key(const VarySpec& s, const Fields& request) {
  return secondaryCacheKey(s, views(request));
}

}  // namespace

TEST_CASE("cache vary: no Vary, an empty key that every request matches", "[gateway_cache]") {
  VarySpec s = spec({{"Content-Type", "text/html"}});
  CHECK(s.empty());
  CHECK(key(s, {{"Accept", "text/html"}}).empty());
  CHECK(varyMatches(s, "", views({{"Accept-Language", "fr"}})));
}

TEST_CASE("cache vary: names are lowercased, sorted and deduplicated across lines",
          "[gateway_cache]") {
  VarySpec s = spec({{"Vary", "Accept-Language, accept-encoding"}, {"vary", "ACCEPT-ENCODING,,"}});
  CHECK_FALSE(s.any);
  CHECK(s.field_names == std::vector<std::string>{"accept-encoding", "accept-language"});
  VarySpec other = spec({{"Vary", "accept-encoding ,Accept-Language"}});
  CHECK(other.field_names == s.field_names);
}

TEST_CASE("cache vary: Vary: * matches nothing, wherever it appears", "[gateway_cache]") {
  for (const Fields& f : {Fields{{"Vary", "*"}}, Fields{{"Vary", "Accept, *"}},
                          Fields{{"Vary", "Accept"}, {"Vary", " * "}}}) {
    VarySpec s = spec(f);
    CHECK(s.any);
    CHECK_FALSE(s.empty());
    const std::string k = key(s, {});
    CHECK_FALSE(varyMatches(s, k, {}));
  }
}

TEST_CASE("cache vary: equal selecting values match, different ones do not", "[gateway_cache]") {
  VarySpec s = spec({{"Vary", "Accept-Language"}});
  const std::string fr = key(s, {{"Accept-Language", "fr"}});
  CHECK(varyMatches(s, fr, views({{"Accept-Language", "fr"}, {"Accept", "x"}})));
  CHECK_FALSE(varyMatches(s, fr, views({{"Accept-Language", "de"}})));
  CHECK_FALSE(varyMatches(s, fr, views({})));
}

TEST_CASE("cache vary: an absent field matches only absence, not an empty value",
          "[gateway_cache]") {
  VarySpec s = spec({{"Vary", "X-Tenant"}});
  const std::string absent = key(s, {});
  const std::string empty = key(s, {{"X-Tenant", ""}});
  CHECK(absent != empty);
  CHECK(varyMatches(s, absent, views({{"Other", "1"}})));
  CHECK_FALSE(varyMatches(s, absent, views({{"X-Tenant", ""}})));
}

TEST_CASE("cache vary: whitespace and line splitting are normalised away", "[gateway_cache]") {
  VarySpec s = spec({{"Vary", "Accept-Encoding"}});
  const std::string k = key(s, {{"Accept-Encoding", "gzip, br"}});
  CHECK(key(s, {{"Accept-Encoding", "gzip,br"}}) == k);
  CHECK(key(s, {{"Accept-Encoding", "  gzip ,\tbr  "}}) == k);
  CHECK(key(s, {{"Accept-Encoding", "gzip"}, {"accept-encoding", "br"}}) == k);
  CHECK(key(s, {{"Accept-Encoding", "gzip,, ,br"}}) == k);
  // Order is kept: it can break ties between equal q-values.
  CHECK(key(s, {{"Accept-Encoding", "br, gzip"}}) != k);
  // Whitespace around parameters.
  CHECK(key(s, {{"Accept-Encoding", "gzip ; q=0.5"}}) ==
        key(s, {{"Accept-Encoding", "gzip;q=0.5"}}));
}

TEST_CASE("cache vary: case is folded only where values are case-insensitive", "[gateway_cache]") {
  VarySpec s = spec({{"Vary", "Accept-Encoding, Accept-Language, X-Token"}});
  CHECK(key(s, {{"accept-encoding", "GZIP"}, {"Accept-Language", "EN-us"}, {"X-Token", "a"}}) ==
        key(s, {{"Accept-Encoding", "gzip"}, {"ACCEPT-LANGUAGE", "en-US"}, {"x-token", "a"}}));
  CHECK(key(s, {{"X-Token", "A"}}) != key(s, {{"X-Token", "a"}}));
}

TEST_CASE("cache vary: quoted strings keep their commas and spaces", "[gateway_cache]") {
  VarySpec s = spec({{"Vary", "X-Q"}});
  CHECK(key(s, {{"X-Q", "\"a, b\""}}) != key(s, {{"X-Q", "\"a,b\""}}));
  CHECK(key(s, {{"X-Q", "\"a  b\""}}) != key(s, {{"X-Q", "\"a b\""}}));
}

TEST_CASE("cache vary: values cannot forge another field's part of the key", "[gateway_cache]") {
  VarySpec s = spec({{"Vary", "A, B"}});
  CHECK(key(s, {{"A", "1"}, {"B", "2"}}) != key(s, {{"A", "1\nb:2"}}));
  CHECK(key(s, {{"A", "1"}}) != key(s, {{"B", "1"}}));
}

}  // namespace redge
