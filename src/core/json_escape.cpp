// JSON string escaping (RFC 8259 section 7): quote, backslash and control
// characters are escaped; bytes >= 0x80 pass through, so valid UTF-8 stays
// valid. Invalid UTF-8 is replaced by U+FFFD so the output is always valid JSON.

#include "core/json_escape.hpp"

#include "core/escape.hpp"

namespace redge {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid.
size_t utf8SequenceLength(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4;
  else
    return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
  if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
  if (c == 0xED && c1 > 0x9F) return 0;  // surrogates
  if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
  if (c == 0xF4 && c1 > 0x8F) return 0;  // beyond U+10FFFF
  return n;
}

// Appends the run of bytes >= 0x80 that starts at text[i], each invalid
// sequence's first byte replaced by U+FFFD; returns where the run ends.
size_t appendNonAsciiRun(std::string& out, std::string_view text, size_t i) {
  while (i < text.size() && static_cast<unsigned char>(text[i]) >= 0x80) {
    size_t n = utf8SequenceLength(text, i);
    if (n == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return i;
}

size_t asciiRunEnd(std::string_view text, size_t i) {
  while (i < text.size() && static_cast<unsigned char>(text[i]) < 0x80) ++i;
  return i;
}

}  // namespace

void appendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    size_t ascii_end = asciiRunEnd(text, i);
    appendBackslashEscaped(out, text.substr(i, ascii_end - i), ControlEscape::Json);
    i = appendNonAsciiRun(out, text, ascii_end);
  }
  out.push_back('"');
}

bool isValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void appendValidUtf8(std::string& out, std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    size_t ascii_end = asciiRunEnd(text, i);
    out.append(text.substr(i, ascii_end - i));
    i = appendNonAsciiRun(out, text, ascii_end);
  }
}

}  // namespace redge
