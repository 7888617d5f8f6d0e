// Conditional requests for the gateway's shared cache: RFC 9110 8.8.3
// (entity-tags and their comparison), 13.1 (If-Match, If-None-Match,
// If-Modified-Since, If-Unmodified-Since), 13.2.2 (their order of
// evaluation), 15.4.5 (what a 304 carries); RFC 9111 4.3.1 (the validators
// of a revalidation), 4.3.2 (a cache answering conditionals), 4.3.4 (which
// stored response a 304 updates).

#include "services/gateway/cache/conditional.hpp"

#include <optional>

#include "core/ascii.hpp"
#include "net/http/http_date.hpp"
#include "services/gateway/cache/field_values.hpp"

namespace redge {
namespace {

// Whether any member of the (comma-list) field lines matches `stored`,
// with `*` matching any stored response.
template <typename Match>
bool anyEtagMember(std::span<const HttpHeaderField> request_headers, std::string_view name,
                   const std::optional<EntityTag>& stored, Match match) {
  bool found = false;
  forEachFieldLine(request_headers, name, [&](std::string_view value) {
    forEachListMember(value, [&](std::string_view member) {
      if (member == "*") {
        found = true;
      } else if (stored && match(parseEntityTag(member), *stored)) {
        found = true;
      }
    });
  });
  return found;
}

// A date precondition's value: one line holding a valid HTTP-date, else
// nothing (13.1.3 and 13.1.4: such a field is ignored).
std::optional<int64_t> singleDateField(std::span<const HttpHeaderField> headers,
                                       std::string_view name) {
  std::optional<int64_t> date;
  int lines = 0;
  forEachFieldLine(headers, name, [&](std::string_view value) {
    ++lines;
    date = parseHttpDate(value);
  });
  return lines == 1 ? date : std::nullopt;
}

std::optional<EntityTag> storedEtag(std::span<const HttpHeaderField> stored_headers) {
  std::optional<std::string_view> etag = firstFieldLine(stored_headers, "etag");
  if (!etag || trimFieldOws(*etag).empty()) return std::nullopt;
  return parseEntityTag(*etag);
}

}  // namespace

EntityTag parseEntityTag(std::string_view text) {
  text = trimFieldOws(text);
  EntityTag tag;
  if (text.size() >= 2 && text[0] == 'W' && text[1] == '/') {
    tag.weak = true;
    text.remove_prefix(2);
  }
  tag.opaque = text;
  return tag;
}

bool strongEtagMatch(const EntityTag& a, const EntityTag& b) {
  return !a.weak && !b.weak && !a.opaque.empty() && a.opaque == b.opaque;
}

bool weakEtagMatch(const EntityTag& a, const EntityTag& b) {
  return !a.opaque.empty() && a.opaque == b.opaque;
}

ConditionalResult evaluateConditionalRequest(HttpMethod method,
                                             std::span<const HttpHeaderField> request_headers,
                                             std::span<const HttpHeaderField> stored_headers,
                                             int64_t stored_response_time_ms) {
  if (method != HttpMethod::Get && method != HttpMethod::Head) return ConditionalResult::Full;
  const std::optional<EntityTag> etag = storedEtag(stored_headers);
  std::optional<int64_t> last_modified;
  if (std::optional<std::string_view> lm = firstFieldLine(stored_headers, "last-modified")) {
    last_modified = parseHttpDate(*lm);
  }

  // Step 1 and 2: If-Match, else If-Unmodified-Since.
  if (hasField(request_headers, "if-match")) {
    if (!anyEtagMember(request_headers, "if-match", etag, strongEtagMatch)) {
      return ConditionalResult::PreconditionFailed;
    }
  } else if (std::optional<int64_t> ius = singleDateField(request_headers, "if-unmodified-since")) {
    if (last_modified && *last_modified > *ius) return ConditionalResult::PreconditionFailed;
  }

  // Step 3 and 4: If-None-Match, else If-Modified-Since.
  if (hasField(request_headers, "if-none-match")) {
    return anyEtagMember(request_headers, "if-none-match", etag, weakEtagMatch)
               ? ConditionalResult::NotModified
               : ConditionalResult::Full;
  }
  if (std::optional<int64_t> ims = singleDateField(request_headers, "if-modified-since")) {
    std::optional<int64_t> modified = last_modified;
    if (!modified) {
      if (std::optional<std::string_view> date = firstFieldLine(stored_headers, "date")) {
        modified = parseHttpDate(*date);
      }
    }
    const int64_t reference = modified.value_or(stored_response_time_ms / 1000);
    return reference <= *ims ? ConditionalResult::NotModified : ConditionalResult::Full;
  }
  return ConditionalResult::Full;
}

std::vector<std::pair<std::string, std::string>> revalidationRequestFields(
    std::span<const HttpHeaderField> stored_headers) {
  std::vector<std::pair<std::string, std::string>> out;
  if (std::optional<std::string_view> etag = firstFieldLine(stored_headers, "etag")) {
    if (!trimFieldOws(*etag).empty()) out.emplace_back("If-None-Match", trimFieldOws(*etag));
  }
  if (std::optional<std::string_view> lm = firstFieldLine(stored_headers, "last-modified")) {
    // Only a date the origin can compare; an unparsable one would be ignored there anyway.
    if (parseHttpDate(*lm)) out.emplace_back("If-Modified-Since", trimFieldOws(*lm));
  }
  return out;
}

bool notModifiedSelects(std::span<const HttpHeaderField> stored_headers,
                        std::span<const HttpHeaderField> not_modified_headers) {
  const std::optional<EntityTag> stored = storedEtag(stored_headers);
  if (const std::optional<EntityTag> fresh = storedEtag(not_modified_headers)) {
    if (!fresh->weak) return stored && strongEtagMatch(*fresh, *stored);
    return stored && weakEtagMatch(*fresh, *stored);
  }
  if (std::optional<std::string_view> lm = firstFieldLine(not_modified_headers, "last-modified")) {
    std::optional<std::string_view> stored_lm = firstFieldLine(stored_headers, "last-modified");
    if (!stored_lm) return false;
    std::optional<int64_t> a = parseHttpDate(*lm);
    std::optional<int64_t> b = parseHttpDate(*stored_lm);
    return a && b && *a == *b;
  }
  return true;
}

std::vector<HttpHeaderField> notModifiedResponseFields(
    std::span<const HttpHeaderField> stored_headers) {
  const bool has_etag = hasField(stored_headers, "etag");
  std::vector<HttpHeaderField> out;
  for (const HttpHeaderField& f : stored_headers) {
    if (equalsIgnoreCase(f.name, "cache-control") || equalsIgnoreCase(f.name, "content-location") ||
        equalsIgnoreCase(f.name, "etag") || equalsIgnoreCase(f.name, "expires") ||
        equalsIgnoreCase(f.name, "vary") ||
        (!has_etag && equalsIgnoreCase(f.name, "last-modified"))) {
      out.push_back(f);
    }
  }
  return out;
}

}  // namespace redge
