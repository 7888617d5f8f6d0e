#pragma once
// Appends a JSON string literal (with quotes) to `out`. Used where building a
// small JSON body by hand is cheaper and clearer than a DOM: on the hot paths,
// and in error bodies. Off the hot paths JsonWriter (core/json_writer.hpp)
// does the same with RapidJSON's Writer.
//
// Invalid UTF-8 is never passed on: each byte that does not start a valid
// sequence becomes U+FFFD, so whatever the bytes, the output is valid JSON.

#include <string>
#include <string_view>

namespace redge {

void appendJsonString(std::string& out, std::string_view text);

// Whether `text` is valid UTF-8 (no overlong forms, no surrogates, nothing
// above U+10FFFF).
bool isValidUtf8(std::string_view text);

// Appends `text` with each byte that does not start a valid UTF-8 sequence
// replaced by U+FFFD (the rule appendJsonString follows), unescaped.
void appendValidUtf8(std::string& out, std::string_view text);

}  // namespace redge
