#pragma once
// The field-value grammar the cache reads (RFC 9110 5.5, 5.6): lists split
// at commas outside quoted strings, optional whitespace, quoted-string
// unescaping, and delta-seconds (RFC 9111 1.2.2). Shared by the Cache-Control
// parser, Vary, the conditional requests and the tag lists. Pure.

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/ascii.hpp"
#include "net/http/http_response.hpp"

namespace redge {

// RFC 9111 1.2.2: a delta-seconds too large for the cache is 2^31.
inline constexpr int64_t kDeltaSecondsMax = int64_t{1} << 31;

// `s` without the spaces and tabs at either end.
std::string_view trimFieldOws(std::string_view s);

// Calls `member` with each non-empty member of a comma-separated list, OWS
// trimmed; commas inside a quoted string do not split (RFC 9110 5.6.1: empty
// members are ignored). A template: every cached request reads several
// lists, and a callback through std::function costs more than the scan.
template <typename Member>
void forEachListMember(std::string_view value, Member&& member) {
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size()) {
      char c = value[i];
      if (quoted) {
        if (c == '\\') {
          ++i;  // the escaped character cannot end the string
        } else if (c == '"') {
          quoted = false;
        }
        continue;
      }
      if (c == '"') {
        quoted = true;
        continue;
      }
      if (c != ',') continue;
    }
    std::string_view m = trimFieldOws(value.substr(start, std::min(i, value.size()) - start));
    if (!m.empty()) member(m);
    start = i + 1;
  }
}

// Calls `value` with each field line named `name` (case-insensitive), in order.
template <typename Value>
void forEachFieldLine(std::span<const HttpHeaderField> fields, std::string_view name,
                      Value&& value) {
  for (const HttpHeaderField& f : fields) {
    if (equalsIgnoreCase(f.name, name)) value(f.value);
  }
}

// The first line named `name`, or nothing.
std::optional<std::string_view> firstFieldLine(std::span<const HttpHeaderField> fields,
                                               std::string_view name);

// Whether a field named `name` is present.
bool hasField(std::span<const HttpHeaderField> fields, std::string_view name);

// A delta-seconds ("1*DIGIT"), clamped to kDeltaSecondsMax; nothing when
// the text is not all digits or is empty.
std::optional<int64_t> parseDeltaSeconds(std::string_view text);

// The content of a quoted-string (`"a\"b"` -> `a"b`), or nothing when `text`
// is not exactly one well-formed quoted-string.
std::optional<std::string> unquoteString(std::string_view text);

// ASCII lower case copy.
std::string lowerAscii(std::string_view s);

}  // namespace redge
