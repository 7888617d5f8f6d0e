// What a stored response keeps of its header section: RFC 9111 3.1 (fields
// not stored), 3.2 (updating stored fields), 4.3.4 (freshening with a 304),
// RFC 9110 6.6.1 (a Date for a response that came without one) and 7.6.1
// (hop-by-hop fields).

#include "services/gateway/cache/stored_fields.hpp"

#include <string_view>

#include "core/ascii.hpp"
#include "net/http/http_date.hpp"
#include "services/gateway/cache/cache_control.hpp"
#include "services/gateway/cache/field_values.hpp"
#include "services/gateway/forward_headers.hpp"

namespace redge {
namespace {

constexpr std::string_view kProxyOwnFields[] = {"proxy-authenticate", "proxy-authentication-info",
                                                "proxy-authorization"};

// The names no stored response keeps, for one message: hop-by-hop, those
// its Connection lines name, the proxy's own, and the qualified
// no-cache/private names.
class UnstoredFieldNames {
 public:
  explicit UnstoredFieldNames(std::span<const HttpHeaderField> headers)
      : UnstoredFieldNames(headers, parseCacheControl(headers)) {}
  UnstoredFieldNames(std::span<const HttpHeaderField> headers, const CacheControl& cc) {
    forEachFieldLine(headers, "connection", [&](std::string_view value) {
      forEachListMember(value, [&](std::string_view name) { names_.push_back(lowerAscii(name)); });
    });
    names_.insert(names_.end(), cc.no_cache_fields.begin(), cc.no_cache_fields.end());
    names_.insert(names_.end(), cc.private_fields.begin(), cc.private_fields.end());
  }
  bool contains(std::string_view name) const {
    if (isHopByHopHeader(name)) return true;
    for (std::string_view p : kProxyOwnFields) {
      if (equalsIgnoreCase(name, p)) return true;
    }
    for (const std::string& n : names_) {
      if (equalsIgnoreCase(name, n)) return true;
    }
    return false;
  }

 private:
  std::vector<std::string> names_;
};

bool hasValidDate(std::span<const HttpHeaderField> headers) {
  std::optional<std::string_view> date = firstFieldLine(headers, "date");
  return date && parseHttpDate(*date).has_value();
}

}  // namespace

std::vector<HttpHeaderField> headerFieldViews(const StoredHeaderFields& fields) {
  std::vector<HttpHeaderField> out;
  out.reserve(fields.size());
  for (const auto& [name, value] : fields) out.push_back({name, value});
  return out;
}

StoredHeaderFields fieldsToStore(std::span<const HttpHeaderField> response_headers,
                                 int64_t response_time_ms) {
  return fieldsToStore(response_headers, parseCacheControl(response_headers), response_time_ms);
}

StoredHeaderFields fieldsToStore(std::span<const HttpHeaderField> response_headers,
                                 const CacheControl& cache_control, int64_t response_time_ms) {
  std::vector<HttpHeaderField> views;
  std::string date;
  fieldsToStore(response_headers, cache_control, response_time_ms, views, date);
  StoredHeaderFields out;
  out.reserve(views.size());
  for (const HttpHeaderField& f : views)
    out.emplace_back(std::string(f.name), std::string(f.value));
  return out;
}

void fieldsToStore(std::span<const HttpHeaderField> response_headers,
                   const CacheControl& cache_control, int64_t response_time_ms,
                   std::vector<HttpHeaderField>& out, std::string& date) {
  const UnstoredFieldNames unstored(response_headers, cache_control);
  const bool keep_date = hasValidDate(response_headers);
  out.clear();
  out.reserve(response_headers.size() + 1);
  for (const HttpHeaderField& f : response_headers) {
    if (unstored.contains(f.name)) continue;
    if (!keep_date && equalsIgnoreCase(f.name, "date")) continue;
    out.push_back(f);
  }
  if (!keep_date) {
    date = formatHttpDate(response_time_ms / 1000);
    out.push_back({"Date", date});
  }
}

StoredHeaderFields mergeNotModified(std::span<const HttpHeaderField> stored_headers,
                                    std::span<const HttpHeaderField> not_modified_headers,
                                    int64_t response_time_ms) {
  const UnstoredFieldNames unstored(not_modified_headers);
  // Content-Length, and the fields that describe the stored body's bytes
  // (its coding, digest, range, entity-tag), stay the stored ones: the body
  // is not replaced by a 304, so neither is what says what it is.
  auto updates = [&](std::string_view name) {
    return !unstored.contains(name) && !equalsIgnoreCase(name, "content-length") &&
           !equalsIgnoreCase(name, "etag") && !equalsIgnoreCase(name, "content-encoding") &&
           !equalsIgnoreCase(name, "content-md5") && !equalsIgnoreCase(name, "content-range");
  };
  auto replaced = [&](std::string_view name) {
    if (equalsIgnoreCase(name, "age") || equalsIgnoreCase(name, "date")) return true;
    for (const HttpHeaderField& f : not_modified_headers) {
      if (equalsIgnoreCase(f.name, name) && updates(f.name)) return true;
    }
    return false;
  };
  StoredHeaderFields out;
  for (const HttpHeaderField& f : stored_headers) {
    if (!replaced(f.name)) out.emplace_back(std::string(f.name), std::string(f.value));
  }
  const bool date_given = hasValidDate(not_modified_headers);
  for (const HttpHeaderField& f : not_modified_headers) {
    if (!updates(f.name)) continue;
    if (!date_given && equalsIgnoreCase(f.name, "date")) continue;
    out.emplace_back(std::string(f.name), std::string(f.value));
  }
  if (!date_given) out.emplace_back("Date", formatHttpDate(response_time_ms / 1000));
  return out;
}

}  // namespace redge
