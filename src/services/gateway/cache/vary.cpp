// Vary for the gateway's shared cache (RFC 9111 4.1): the selecting field
// names of a response and the normalised secondary key of a request. The
// normalisations are those 4.1 allows (whitespace, combining field lines,
// case where the field's values are case-insensitive); members are not
// reordered, since in the Accept-* fields order can break ties between equal
// q-values.

#include "services/gateway/cache/vary.hpp"

#include <algorithm>

#include "core/ascii.hpp"
#include "services/gateway/cache/field_values.hpp"

namespace redge {
namespace {

bool hasCaseInsensitiveValues(std::string_view lower_name) {
  return lower_name == "accept-encoding" || lower_name == "accept-charset" ||
         lower_name == "accept-language";
}

}  // namespace

VarySpec parseVary(std::span<const HttpHeaderField> response_headers) {
  VarySpec spec;
  forEachFieldLine(response_headers, "vary", [&](std::string_view value) {
    forEachListMember(value, [&](std::string_view name) {
      if (name == "*") {
        spec.any = true;
        return;
      }
      spec.field_names.push_back(lowerAscii(name));
    });
  });
  std::sort(spec.field_names.begin(), spec.field_names.end());
  spec.field_names.erase(std::unique(spec.field_names.begin(), spec.field_names.end()),
                         spec.field_names.end());
  return spec;
}

std::string secondaryCacheKey(const VarySpec& spec,
                              std::span<const HttpHeaderField> request_headers) {
  std::string key;
  for (const std::string& name : spec.field_names) {
    key += name;
    bool present = false;
    std::string value;
    forEachFieldLine(request_headers, name, [&](std::string_view line) {
      present = true;
      forEachListMember(line, [&](std::string_view member) {
        if (!value.empty()) value += ',';
        value += member;
      });
    });
    if (!present) {
      key += "!\n";
      continue;
    }
    if (hasCaseInsensitiveValues(name)) {
      for (char& c : value) c = asciiLower(c);
    }
    // Whitespace inside a member (around ';' in "gzip ; q=1") is
    // insignificant in these list grammars too; drop it outside quotes.
    std::string compact;
    bool quoted = false;
    for (size_t i = 0; i < value.size(); ++i) {
      char c = value[i];
      if (quoted) {
        compact += c;
        if (c == '\\' && i + 1 < value.size()) {
          compact += value[++i];
        } else if (c == '"') {
          quoted = false;
        }
        continue;
      }
      if (c == '"') quoted = true;
      if ((c == ' ' || c == '\t') &&
          ((!compact.empty() && compact.back() == ';') ||
           (i + 1 < value.size() &&
            (value[i + 1] == ';' || value[i + 1] == ' ' || value[i + 1] == '\t')))) {
        continue;
      }
      compact += c;
    }
    key += ':';
    key += compact;
    key += '\n';
  }
  return key;
}

bool varyMatches(const VarySpec& spec, std::string_view stored_key,
                 std::span<const HttpHeaderField> request_headers) {
  if (spec.any) return false;
  return secondaryCacheKey(spec, request_headers) == stored_key;
}

}  // namespace redge
