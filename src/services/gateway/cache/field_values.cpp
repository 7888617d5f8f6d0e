// Field-value helpers of the response cache: the list, quoted-string and
// delta-seconds grammar of RFC 9110 5.5-5.6 and RFC 9111 1.2.2, written once
// so every cache rule reads a header the same way, malformed input included.

#include "services/gateway/cache/field_values.hpp"

#include "core/ascii.hpp"

namespace redge {

std::string_view trimFieldOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<std::string_view> firstFieldLine(std::span<const HttpHeaderField> fields,
                                               std::string_view name) {
  for (const HttpHeaderField& f : fields) {
    if (equalsIgnoreCase(f.name, name)) return f.value;
  }
  return std::nullopt;
}

bool hasField(std::span<const HttpHeaderField> fields, std::string_view name) {
  return firstFieldLine(fields, name).has_value();
}

std::optional<int64_t> parseDeltaSeconds(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    // Saturate instead of overflowing: every larger value means 2^31.
    if (v < kDeltaSecondsMax) v = v * 10 + (c - '0');
  }
  return v > kDeltaSecondsMax ? kDeltaSecondsMax : v;
}

std::optional<std::string> unquoteString(std::string_view text) {
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (i + 2 >= text.size()) return std::nullopt;  // escapes the closing quote
      out.push_back(text[++i]);
    } else if (c == '"') {
      return std::nullopt;  // a quote in the middle: two strings, not one
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiLower(c);
  return out;
}

}  // namespace redge
