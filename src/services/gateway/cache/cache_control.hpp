#pragma once
// Cache-Control (RFC 9111 section 5.2, RFC 5861) as the gateway's shared
// cache reads it, from a request or a response: every field line, every list
// member, tokens without case, arguments as tokens or quoted strings.
// Pure: header views in, a value out.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/http_response.hpp"

namespace redge {

// The directives of one message. Durations are seconds, clamped to 2^31
// (RFC 9111 1.2.2). A directive given an invalid argument is recorded as the
// reading that allows the least reuse (see cache_control.cpp for each).
struct CacheControl {
  bool present = false;  // the message had at least one Cache-Control line

  std::optional<int64_t> max_age;
  std::optional<int64_t> s_maxage;                // response only
  std::optional<int64_t> stale_while_revalidate;  // response (RFC 5861 3)
  std::optional<int64_t> stale_if_error;          // either side (RFC 5861 4)
  std::optional<int64_t> min_fresh;               // request only

  // Request max-stale: present without a value means any staleness.
  bool max_stale = false;
  std::optional<int64_t> max_stale_seconds;

  bool no_store = false;
  // no-cache in any form; the qualified form lists field names (lowercase)
  // and `no_cache_unqualified` tells whether a bare no-cache was also given.
  bool no_cache = false;
  bool no_cache_unqualified = false;
  std::vector<std::string> no_cache_fields;
  // private likewise: only a bare private keeps the response out of a shared
  // cache; the qualified form keeps out the fields it names.
  bool is_private = false;
  bool private_unqualified = false;
  std::vector<std::string> private_fields;

  bool is_public = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool must_understand = false;
  bool no_transform = false;
  bool immutable = false;
  bool only_if_cached = false;  // request only

  // A response's max-age or s-maxage was invalid, or given twice with
  // different values: RFC 9111 4.2.1 lets a cache treat the response as
  // stale, and it is (its freshness lifetime is 0).
  bool freshness_invalid = false;

  bool operator==(const CacheControl&) const = default;
};

// Parses one field line's value into `out` (directives accumulate).
void addCacheControlLine(std::string_view value, CacheControl& out);

// Every Cache-Control line of `fields`, in order.
CacheControl parseCacheControl(std::span<const HttpHeaderField> fields);

}  // namespace redge
