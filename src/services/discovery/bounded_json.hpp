#pragma once
// JSON from outside the process (an admin request body, a message on a Redis
// channel) parsed without recursion and with bounded nesting: RapidJSON's
// iterative parser, behind a first pass that counts the depth, so a body of
// ten thousand '[' costs a refusal, not the stack.

#include <rapidjson/document.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace redge {

// Deep enough for any request or message redge defines (they are two or
// three levels deep).
inline constexpr size_t kMaxJsonDepth = 32;

// Parses `text` into `doc`. Returns an empty string, or the reason the text
// was refused (a sentence fragment: "missing a name for object member at
// offset 3", "nested deeper than 32 levels").
std::string parseBoundedJson(std::string_view text, rapidjson::Document& doc,
                             size_t max_depth = kMaxJsonDepth);

}  // namespace redge
