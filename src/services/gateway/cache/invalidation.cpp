// Invalidation on writes for the gateway's shared cache: RFC 9111 4.4 (an
// unsafe method's non-error answer invalidates its target URI, and may
// invalidate the Location and Content-Location URIs, never those of another
// origin, which would let one site purge another's entries), RFC 3986 5.2
// (resolving a relative reference, removing dot segments), plus the
// gateway's collection rule (invalidate_parent) and the tag lists of
// Cache-Tag / Surrogate-Key.

#include "services/gateway/cache/invalidation.hpp"

#include <algorithm>

#include "core/ascii.hpp"
#include "core/uri.hpp"
#include "services/gateway/cache/field_values.hpp"

namespace redge {
namespace {

int defaultPortOf(std::string_view scheme) {
  if (equalsIgnoreCase(scheme, "https")) return 443;
  if (equalsIgnoreCase(scheme, "http")) return 80;
  return 0;
}

// Whether `authority` (of a reference using `scheme`) is the request's origin.
bool sameOrigin(std::string_view scheme, std::string_view authority, const RequestOrigin& origin) {
  if (!equalsIgnoreCase(scheme, origin.scheme)) return false;
  // userinfo is not part of an origin and is not used to compare.
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string ref_host, origin_host;
  int ref_port = defaultPortOf(scheme);
  int origin_port = defaultPortOf(origin.scheme);
  if (!parseHostPort(authority, ref_host, ref_port).empty()) return false;
  if (!parseHostPort(origin.host, origin_host, origin_port).empty()) return false;
  return equalsIgnoreCase(ref_host, origin_host) && ref_port == origin_port;
}

// RFC 3986 5.2.4.
std::string removeDotSegments(std::string_view path) {
  std::vector<std::string_view> kept;
  const bool absolute = !path.empty() && path.front() == '/';
  bool trailing_slash = false;
  size_t pos = absolute ? 1 : 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    const std::string_view segment =
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
    const bool last = slash == std::string_view::npos;
    if (segment == "..") {
      if (!kept.empty()) kept.pop_back();
      trailing_slash = true;
    } else if (segment == ".") {
      trailing_slash = true;
    } else {
      kept.push_back(segment);
      trailing_slash = false;
    }
    if (last) break;
    pos = slash + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < kept.size(); ++i) {
    if (i > 0) out += '/';
    out += kept[i];
  }
  if (trailing_slash && !out.empty() && out.back() != '/') out += '/';
  return out;
}

std::string_view pathOf(std::string_view target) {
  return target.substr(0, target.find('?'));
}

void addTarget(std::vector<InvalidationTarget>& out, InvalidationTarget t) {
  if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
}

}  // namespace

bool invalidatesOnWrite(HttpMethod method, int status) {
  if (method == HttpMethod::Get || method == HttpMethod::Head || method == HttpMethod::Options) {
    return false;
  }
  return status >= 200 && status < 400;
}

std::optional<std::string> resolveSameOriginTarget(std::string_view reference,
                                                   std::string_view base_target,
                                                   const RequestOrigin& origin) {
  reference = trimFieldOws(reference);
  reference = reference.substr(0, reference.find('#'));
  // A scheme: letters first, then letters, digits, + - . up to ':' (3.1).
  size_t colon = reference.find(':');
  size_t first_delim = reference.find_first_of("/?");
  std::string_view scheme = origin.scheme;
  if (colon != std::string_view::npos && colon > 0 &&
      (first_delim == std::string_view::npos || colon < first_delim)) {
    scheme = reference.substr(0, colon);
    reference.remove_prefix(colon + 1);
    if (reference.substr(0, 2) != "//") return std::nullopt;  // "mailto:x", "urn:y"
  }
  std::string path_and_query;
  if (reference.substr(0, 2) == "//") {
    reference.remove_prefix(2);
    const size_t end = reference.find_first_of("/?");
    const std::string_view authority = reference.substr(0, end);
    if (!sameOrigin(scheme, authority, origin)) return std::nullopt;
    reference = end == std::string_view::npos ? std::string_view() : reference.substr(end);
    path_and_query = std::string(reference);
    if (path_and_query.empty() || path_and_query.front() == '?') {
      path_and_query = "/" + path_and_query;
    }
  } else if (!equalsIgnoreCase(scheme, origin.scheme)) {
    return std::nullopt;
  } else if (reference.empty()) {
    path_and_query = std::string(base_target);
  } else if (reference.front() == '/') {
    path_and_query = std::string(reference);
  } else if (reference.front() == '?') {
    path_and_query = std::string(pathOf(base_target)) + std::string(reference);
  } else {
    // A relative path: merged with the base path's directory (5.2.3).
    const std::string_view base_path = pathOf(base_target);
    const size_t last_slash = base_path.rfind('/');
    std::string merged = last_slash == std::string_view::npos
                             ? "/"
                             : std::string(base_path.substr(0, last_slash + 1));
    merged += reference;
    path_and_query = merged;
  }
  const size_t q = path_and_query.find('?');
  std::string path = removeDotSegments(std::string_view(path_and_query).substr(0, q));
  if (path.empty() || path.front() != '/') path = "/" + path;
  if (q != std::string::npos) path += path_and_query.substr(q);
  return path;
}

std::optional<std::string> parentCollectionPath(std::string_view path_and_query) {
  std::string_view path = pathOf(path_and_query);
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path.empty() || path == "/") return std::nullopt;
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return std::string("/");
  return std::string(path.substr(0, slash));
}

std::vector<InvalidationTarget> invalidationTargets(
    HttpMethod method, int status, std::string_view request_target, const RequestOrigin& origin,
    std::span<const HttpHeaderField> response_headers, bool invalidate_parent) {
  std::vector<InvalidationTarget> out;
  if (!invalidatesOnWrite(method, status)) return out;
  const std::string target = request_target.empty() ? "/" : std::string(request_target);
  addTarget(out, {target, InvalidationTarget::Scope::Exact});
  for (std::string_view name : {"location", "content-location"}) {
    if (std::optional<std::string_view> value = firstFieldLine(response_headers, name)) {
      if (std::optional<std::string> uri = resolveSameOriginTarget(*value, target, origin)) {
        addTarget(out, {*uri, InvalidationTarget::Scope::Exact});
      }
    }
  }
  if (invalidate_parent) {
    std::string_view own = pathOf(target);
    std::string own_path(own);
    while (own_path.size() > 1 && own_path.back() == '/') own_path.pop_back();
    addTarget(out, {own_path, InvalidationTarget::Scope::AnyQuery});
    if (std::optional<std::string> parent = parentCollectionPath(target)) {
      addTarget(out, {*parent, InvalidationTarget::Scope::AnyQuery});
    }
  }
  return out;
}

std::vector<std::string> cacheTags(std::span<const HttpHeaderField> response_headers) {
  std::vector<std::string> tags;
  auto add = [&](std::string_view tag) {
    if (tag.empty() || tag.size() > kMaxCacheTagBytes || tags.size() >= kMaxCacheTags) return;
    if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.emplace_back(tag);
  };
  for (const HttpHeaderField& f : response_headers) {
    if (!equalsIgnoreCase(f.name, "cache-tag") && !equalsIgnoreCase(f.name, "surrogate-key")) {
      continue;
    }
    std::string_view rest = f.value;
    while (!rest.empty()) {
      const size_t end = rest.find_first_of(", \t");
      add(rest.substr(0, end));
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
  }
  return tags;
}

}  // namespace redge
