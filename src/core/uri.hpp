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

// Splits a URL authority "host[:port]" or "[v6addr][:port]" into host
// (brackets removed) and port (left unchanged when absent). Returns an empty
// string on success, else the reason. "host:" (an empty port) keeps the
// default, as RFC 3986 says.
std::string parseHostPort(std::string_view authority, std::string& host, int& port);

}  // namespace redge
