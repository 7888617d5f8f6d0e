#pragma once
// Standard base64 (RFC 4648 section 4, with padding), for inline data: URIs.

#include <string>
#include <string_view>

namespace redge {

void appendBase64(std::string& out, std::string_view bytes);

}  // namespace redge
