#pragma once
// The backslash escapes that JSON strings and logfmt values share: quote and
// backslash, \n \r \t by their letter, every other control byte in hex. One
// routine for both, so the two formats cannot drift apart.

#include <string>
#include <string_view>

namespace redge {

enum class ControlEscape {
  Json,    // \u00xx (RFC 8259 section 7)
  Logfmt,  // \xxx: shorter, and what logfmt readers expect
};

// Appends `text` to `out` with '"', '\\' and the bytes below 0x20 escaped,
// without surrounding quotes. Bytes from 0x7f up are copied as they are: the
// caller decides what UTF-8 needs (JSON replaces invalid sequences, logfmt
// passes them on).
void appendBackslashEscaped(std::string& out, std::string_view text, ControlEscape style);

}  // namespace redge
