#pragma once
// Surrogate-Control (W3C Edge Architecture Specification 1.0): the origin's
// caching instructions for surrogates, the caches it runs itself in front
// of its servers (which is what the gateway is). A surrogate announces
// itself on forwarded requests with Surrogate-Capability, and directives
// may be targeted at one device ("max-age=60;redge"); untargeted ones are
// for every surrogate. Where Surrogate-Control speaks, it takes precedence
// over Cache-Control for the surrogate. Pure.

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "net/http/http_response.hpp"

namespace redge {

// The gateway's device token, and the Surrogate-Capability field value it
// adds to the requests its cached routes forward.
inline constexpr std::string_view kSurrogateDevice = "redge";
inline constexpr std::string_view kSurrogateCapability = "redge=\"Surrogate/1.0\"";

struct SurrogateControl {
  std::optional<int64_t> max_age;  // seconds; "max-age=30+60" is 30
  bool no_store = false;
  bool speaks() const { return max_age.has_value() || no_store; }

  bool operator==(const SurrogateControl&) const = default;
};

// The directives of every Surrogate-Control line that are for `device`
// (untargeted, or targeted at it). Unknown directives and malformed values
// are ignored; a later max-age does not replace an earlier one.
SurrogateControl parseSurrogateControl(std::span<const HttpHeaderField> headers,
                                       std::string_view device = kSurrogateDevice);

}  // namespace redge
