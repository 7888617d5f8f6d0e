#pragma once
// Standard base64 (RFC 4648 section 4, with padding), for inline data: URIs.

#include <cstddef>
#include <string>
#include <string_view>

namespace redge {

// The length of `n` bytes in base64: 4 characters per 3 bytes or part of 3.
inline size_t base64Size(size_t n) {
  return (n + 2) / 3 * 4;
}

void appendBase64(std::string& out, std::string_view in);

}  // namespace redge
