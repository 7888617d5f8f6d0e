#pragma once
// Conditional requests at the cache (RFC 9110 section 13, RFC 9111 4.3):
// a client's preconditions evaluated against a stored response (304, 412 or
// the full answer), the validators the cache sends upstream to revalidate a
// stale entry, whether an upstream 304 updates a stored entry, and the
// fields a 304 from the cache carries. Pure.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http/http_request.hpp"
#include "net/http/http_response.hpp"

namespace redge {

// An entity-tag as compared (RFC 9110 8.8.3): the opaque tag with its
// quotes, and whether it was weak ("W/").
struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // "\"xyzzy\"", a view into the field value
};

// Parses one entity-tag; a tag without quotes (a common sender error) is
// taken as it is rather than dropped. Empty text gives an empty opaque.
EntityTag parseEntityTag(std::string_view text);

// 8.8.3.2: strong comparison needs both strong and equal; weak comparison
// only equal opaque tags.
bool strongEtagMatch(const EntityTag& a, const EntityTag& b);
bool weakEtagMatch(const EntityTag& a, const EntityTag& b);

enum class ConditionalResult { Full, NotModified, PreconditionFailed };

// RFC 9110 13.2.2, for a GET or HEAD answered from `stored_headers` (the
// stored response's fields; `stored_response_time_ms` stands in for a
// missing Date): If-Match (strong; failed -> 412), else If-Unmodified-Since
// (when the entry has Last-Modified), then If-None-Match (weak; `*` or a
// match -> 304), else If-Modified-Since (valid single date, against
// Last-Modified, else Date, else the time received, RFC 9111 4.3.2).
// Other methods and If-Range (the cache serves no ranges) give Full.
ConditionalResult evaluateConditionalRequest(HttpMethod method,
                                             std::span<const HttpHeaderField> request_headers,
                                             std::span<const HttpHeaderField> stored_headers,
                                             int64_t stored_response_time_ms);

// The fields the cache adds to the upstream request that revalidates a
// stored response (RFC 9111 4.3.1): If-None-Match with its ETag and
// If-Modified-Since with its Last-Modified, both when it has both. The
// caller drops the client's own If-* fields from that request: the answer
// is for the cache, which then answers the client.
std::vector<std::pair<std::string, std::string>> revalidationRequestFields(
    std::span<const HttpHeaderField> stored_headers);

// Whether an upstream 304 updates the stored response (RFC 9111 4.3.4): its
// strong ETag equals the entry's; or, with only a weak one, matches it
// weakly; or, with only Last-Modified, equals the entry's. A 304 with no
// validator at all answers the conditional request made from this very
// entry and updates it.
bool notModifiedSelects(std::span<const HttpHeaderField> stored_headers,
                        std::span<const HttpHeaderField> not_modified_headers);

// The stored fields a 304 from the cache repeats (RFC 9110 15.4.5):
// Cache-Control, Content-Location, ETag, Expires, Vary, and Last-Modified
// when there is no ETag. Date and Age are the caller's to add. The fields
// are views of the same strings `stored_headers` views.
std::vector<HttpHeaderField> notModifiedResponseFields(
    std::span<const HttpHeaderField> stored_headers);

}  // namespace redge
