#pragma once
// Percent-decoding and query lookup (RFC 3986), shared by every layer.

#include <string>
#include <string_view>

namespace redge {

// Percent-decodes `in` into `out` (replacing it). Returns false on a
// malformed escape.
bool percentDecode(std::string_view in, std::string& out);

// Looks up `name` in an `a=1&b=2` query string (not decoded); empty when absent.
std::string_view queryParam(std::string_view query, std::string_view name);

}  // namespace redge
