#pragma once
// What a write invalidates (RFC 9111 4.4) and the tags a response files
// itself under (Cache-Tag, Surrogate-Key) for purges by tag. Pure: the
// caller turns the targets into its cache keys and removes them (and
// publishes them to the other gateways).

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/http_request.hpp"
#include "net/http/http_response.hpp"

namespace redge {

// One URI to remove, in origin form (path and query) on the request's origin.
struct InvalidationTarget {
  enum class Scope {
    Exact,     // this path and query exactly
    AnyQuery,  // this path with any query, or none (a collection)
  };
  std::string path_and_query;
  Scope scope = Scope::Exact;
  bool operator==(const InvalidationTarget&) const = default;
};

// The origin a request was made to: its scheme and its Host field value.
struct RequestOrigin {
  std::string_view scheme = "http";
  std::string_view host;  // "shop.example", "shop.example:8080", "[::1]:80"
};

// RFC 9111 4.4: an unsafe method (anything but GET, HEAD, OPTIONS; an
// unknown method counts as unsafe) answered with a non-error status
// (2xx or 3xx).
bool invalidatesOnWrite(HttpMethod method, int status);

// The targets of a write (nothing when invalidatesOnWrite is false): the
// request's target; the Location and Content-Location URIs when they resolve
// (RFC 3986 5.2, relative to the request target) to the same origin; and,
// with `invalidate_parent`, the target's path and its parent collection
// with all their query variants ("/courses/7" -> "/courses/7?*",
// "/courses?*"). No duplicates.
std::vector<InvalidationTarget> invalidationTargets(
    HttpMethod method, int status, std::string_view request_target, const RequestOrigin& origin,
    std::span<const HttpHeaderField> response_headers, bool invalidate_parent);

// `reference` (absolute, network-path, absolute-path or relative) resolved
// against `base_target` (an origin-form target), in origin form without its
// fragment, when it names the same origin (scheme, host without case, port
// with the scheme's default); else nothing.
std::optional<std::string> resolveSameOriginTarget(std::string_view reference,
                                                   std::string_view base_target,
                                                   const RequestOrigin& origin);

// The collection a path belongs to: "/courses/7" -> "/courses",
// "/courses/7/" -> "/courses", "/courses" -> "/", "/" -> nothing. A query is
// ignored.
std::optional<std::string> parentCollectionPath(std::string_view path_and_query);

// The tags of a response: every Cache-Tag and Surrogate-Key line, members
// separated by commas or whitespace, duplicates dropped, in order. Bounded:
// at most kMaxCacheTags tags, each at most kMaxCacheTagBytes (longer ones
// are dropped), so a response cannot make an entry's index unbounded.
inline constexpr size_t kMaxCacheTags = 64;
inline constexpr size_t kMaxCacheTagBytes = 256;
std::vector<std::string> cacheTags(std::span<const HttpHeaderField> response_headers);

}  // namespace redge
