#pragma once
// Vary (RFC 9111 4.1): which request fields select a stored response, and
// the secondary cache key those fields make. Pure.
//
// An entry is stored under its primary key (the URI) with the response's
// VarySpec; a later request matches it when secondaryCacheKey(spec, its
// headers) equals the key computed from the request that fetched it.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "net/http/http_response.hpp"

namespace redge {

struct VarySpec {
  bool any = false;  // Vary: * -- matches no later request
  // The selecting field names, lowercase, sorted, without duplicates, so
  // "Accept-Encoding, accept-language" and "Accept-Language,Accept-Encoding"
  // are one spec.
  std::vector<std::string> field_names;
  bool empty() const { return !any && field_names.empty(); }
};

// Every Vary line of a response, joined.
VarySpec parseVary(std::span<const HttpHeaderField> response_headers);

// The secondary key of `request_headers` under `spec`: one line per
// selecting field, "name:" followed by its normalised value, or "name!" when
// the request lacks the field (an absent field matches only absence).
// Normalised (4.1): every line of the field joined, list members trimmed of
// whitespace, empty members dropped, and, for fields whose values are
// case-insensitive (Accept-Encoding, Accept-Charset, Accept-Language), lower
// case. Empty for an empty spec.
std::string secondaryCacheKey(const VarySpec& spec,
                              std::span<const HttpHeaderField> request_headers);

// Whether a request selects the stored response whose fetching request had
// `stored_key`: never for Vary: *.
bool varyMatches(const VarySpec& spec, std::string_view stored_key,
                 std::span<const HttpHeaderField> request_headers);

}  // namespace redge
