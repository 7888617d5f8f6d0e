#pragma once
// The machine's name, as instances put it in what they write to Redis (the
// registry's host, a lease holder, who changed a flag).

#include <string>
#include <string_view>

namespace redge {

// gethostname(), or `fallback` when the machine has no name.
std::string hostName(std::string_view fallback = "localhost");

}  // namespace redge
