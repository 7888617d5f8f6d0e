// Cache-Status (RFC 9211): the member "redge" with the parameters hit,
// fwd, fwd-status, ttl, stored, collapsed and detail. The field is a
// Structured Field list (RFC 8941); detail is written as a Token when it is
// one, else as a String, with the characters a String cannot hold dropped.

#include "services/gateway/cache/cache_status.hpp"

#include <algorithm>

#include "services/gateway/cache/field_values.hpp"

namespace redge {
namespace {

// RFC 8941 3.3.4: sf-token = ( ALPHA / "*" ) *( tchar / ":" / "/" ).
bool isStructuredToken(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s.front()) && s.front() != '*') return false;
  for (char c : s) {
    const bool tchar = alpha(c) || (c >= '0' && c <= '9') ||
                       std::string_view("!#$%&'*+-.^_`|~:/").find(c) != std::string_view::npos;
    if (!tchar) return false;
  }
  return true;
}

void appendDetail(std::string& out, std::string_view detail) {
  if (isStructuredToken(detail)) {
    out += detail;
    return;
  }
  out += '"';
  for (char c : detail) {
    if (c < 0x20 || c > 0x7e) continue;  // not representable in an sf-string
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

std::string_view cacheForwardReasonToken(CacheForwardReason reason) {
  switch (reason) {
    case CacheForwardReason::Bypass:
      return "bypass";
    case CacheForwardReason::Method:
      return "method";
    case CacheForwardReason::UriMiss:
      return "uri-miss";
    case CacheForwardReason::VaryMiss:
      return "vary-miss";
    case CacheForwardReason::Miss:
      return "miss";
    case CacheForwardReason::Request:
      return "request";
    case CacheForwardReason::Stale:
      return "stale";
    case CacheForwardReason::Partial:
      return "partial";
  }
  return "miss";
}

std::string cacheStatusValue(const CacheStatus& status) {
  std::string out(kCacheStatusName);
  if (status.hit) {
    out += "; hit";
  } else if (status.forward) {
    out += "; fwd=";
    out += cacheForwardReasonToken(*status.forward);
    if (status.forward_status) {
      out += "; fwd-status=";
      out += std::to_string(*status.forward_status);
    }
  }
  if (status.ttl_s) {
    out += "; ttl=";
    // sf-integer has at most 15 digits.
    out += std::to_string(
        std::clamp<int64_t>(*status.ttl_s, -999'999'999'999'999, 999'999'999'999'999));
  }
  if (status.stored) out += "; stored";
  if (status.collapsed) out += "; collapsed";
  if (!status.detail.empty()) {
    out += "; detail=";
    appendDetail(out, status.detail);
  }
  return out;
}

std::string appendCacheStatus(std::string_view upstream_value, const CacheStatus& status) {
  std::string out(trimFieldOws(upstream_value));
  if (!out.empty()) out += ", ";
  out += cacheStatusValue(status);
  return out;
}

}  // namespace redge
