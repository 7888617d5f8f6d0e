// The Cache-Control parser of the gateway's response cache: RFC 9111 5.2
// (the directives and their grammar), 1.2.2 (delta-seconds, clamped to 2^31),
// 4.2.1 (duplicate or invalid freshness directives make a response stale;
// conflicting ones are read most restrictively) and RFC 5861
// (stale-while-revalidate, stale-if-error).
//
// Field lines and list members are joined as one list (RFC 9110 5.3).
// Directive names are case-insensitive; arguments may be tokens or quoted
// strings, and recipients accept both forms for every directive (5.2).
// Unknown directives are cache extensions and ignored (5.2.3).
//
// Invalid arguments, read so that they allow the least reuse:
// - max-age, s-maxage: 0, and a response is marked freshness_invalid;
// - min-fresh: 2^31 (no stored response is fresh enough);
// - max-stale=<bad>: no staleness accepted;
// - stale-while-revalidate, stale-if-error: ignored (no permission given).
// A permissive directive carrying an argument it does not take (public=1,
// immutable=1) is ignored; a restrictive one (no-store=1) still applies.

#include "services/gateway/cache/cache_control.hpp"

#include <algorithm>

#include "core/ascii.hpp"
#include "services/gateway/cache/field_values.hpp"

namespace redge {
namespace {

// A directive's argument, unquoted; `has_argument` is false for a bare name.
struct DirectiveArgument {
  bool has_argument = false;
  bool well_formed = true;  // a broken quoted string is no argument at all
  std::string text;
};

DirectiveArgument directiveArgument(std::string_view raw) {
  DirectiveArgument a;
  a.has_argument = true;
  raw = trimFieldOws(raw);
  if (!raw.empty() && raw.front() == '"') {
    std::optional<std::string> unquoted = unquoteString(raw);
    if (!unquoted) {
      a.well_formed = false;
      return a;
    }
    a.text = std::move(*unquoted);
  } else {
    a.text = std::string(raw);
  }
  return a;
}

// The field names of a qualified no-cache or private, lowercased.
void addFieldNames(std::string_view list, std::vector<std::string>& out) {
  forEachListMember(list, [&](std::string_view name) {
    std::string lower = lowerAscii(name);
    if (std::find(out.begin(), out.end(), lower) == out.end()) out.push_back(std::move(lower));
  });
}

// A freshness duration given twice keeps the shorter one; `conflict` says
// whether the two differed.
void keepShorter(std::optional<int64_t>& slot, int64_t value, bool& conflict) {
  if (slot && *slot != value) conflict = true;
  slot = slot ? std::min(*slot, value) : value;
}

void applyDirective(std::string_view name, const DirectiveArgument* arg, CacheControl& cc) {
  const bool bare = arg == nullptr;
  auto seconds = [&]() -> std::optional<int64_t> {
    if (bare || !arg->well_formed) return std::nullopt;
    return parseDeltaSeconds(trimFieldOws(arg->text));
  };
  bool conflict = false;
  if (equalsIgnoreCase(name, "max-age")) {
    std::optional<int64_t> s = seconds();
    if (!s) cc.freshness_invalid = true;
    keepShorter(cc.max_age, s.value_or(0), conflict);
    if (conflict) cc.freshness_invalid = true;
  } else if (equalsIgnoreCase(name, "s-maxage")) {
    std::optional<int64_t> s = seconds();
    if (!s) cc.freshness_invalid = true;
    keepShorter(cc.s_maxage, s.value_or(0), conflict);
    if (conflict) cc.freshness_invalid = true;
  } else if (equalsIgnoreCase(name, "stale-while-revalidate")) {
    if (std::optional<int64_t> s = seconds()) keepShorter(cc.stale_while_revalidate, *s, conflict);
  } else if (equalsIgnoreCase(name, "stale-if-error")) {
    if (std::optional<int64_t> s = seconds()) keepShorter(cc.stale_if_error, *s, conflict);
  } else if (equalsIgnoreCase(name, "min-fresh")) {
    const int64_t s = seconds().value_or(kDeltaSecondsMax);
    cc.min_fresh = cc.min_fresh ? std::max(*cc.min_fresh, s) : s;
  } else if (equalsIgnoreCase(name, "max-stale")) {
    // A bare max-stale accepts any staleness; a value (or a bad value, read
    // as 0) bounds it, and the tighter bound wins.
    if (bare) {
      cc.max_stale = true;
    } else {
      const int64_t s = seconds().value_or(0);
      cc.max_stale = true;
      cc.max_stale_seconds = cc.max_stale_seconds ? std::min(*cc.max_stale_seconds, s) : s;
    }
  } else if (equalsIgnoreCase(name, "no-store")) {
    cc.no_store = true;
  } else if (equalsIgnoreCase(name, "no-cache")) {
    cc.no_cache = true;
    if (bare || !arg->well_formed || trimFieldOws(arg->text).empty()) {
      cc.no_cache_unqualified = true;
    } else {
      addFieldNames(arg->text, cc.no_cache_fields);
    }
  } else if (equalsIgnoreCase(name, "private")) {
    cc.is_private = true;
    if (bare || !arg->well_formed || trimFieldOws(arg->text).empty()) {
      cc.private_unqualified = true;
    } else {
      addFieldNames(arg->text, cc.private_fields);
    }
  } else if (equalsIgnoreCase(name, "public")) {
    if (bare) cc.is_public = true;
  } else if (equalsIgnoreCase(name, "immutable")) {
    if (bare) cc.immutable = true;
  } else if (equalsIgnoreCase(name, "must-revalidate")) {
    cc.must_revalidate = true;
  } else if (equalsIgnoreCase(name, "proxy-revalidate")) {
    cc.proxy_revalidate = true;
  } else if (equalsIgnoreCase(name, "must-understand")) {
    cc.must_understand = true;
  } else if (equalsIgnoreCase(name, "no-transform")) {
    cc.no_transform = true;
  } else if (equalsIgnoreCase(name, "only-if-cached")) {
    cc.only_if_cached = true;
  }
}

}  // namespace

void addCacheControlLine(std::string_view value, CacheControl& out) {
  out.present = true;
  forEachListMember(value, [&](std::string_view member) {
    const size_t eq = member.find('=');
    const std::string_view name = trimFieldOws(member.substr(0, eq));
    if (name.empty()) return;  // "=5": no directive
    if (eq == std::string_view::npos) {
      applyDirective(name, nullptr, out);
      return;
    }
    const DirectiveArgument arg = directiveArgument(member.substr(eq + 1));
    applyDirective(name, &arg, out);
  });
}

CacheControl parseCacheControl(std::span<const HttpHeaderField> fields) {
  CacheControl cc;
  forEachFieldLine(fields, "cache-control",
                   [&](std::string_view value) { addCacheControlLine(value, cc); });
  return cc;
}

}  // namespace redge
