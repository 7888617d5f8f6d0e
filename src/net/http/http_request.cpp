// HttpRequest storage and the small request-target helpers (path, query,
// percent-decoding) the routes share.

#include "net/http/http_request.hpp"

#include <strings.h>

namespace redge {

std::string_view httpMethodName(HttpMethod m) {
  switch (m) {
    case HttpMethod::Get: return "GET";
    case HttpMethod::Head: return "HEAD";
    case HttpMethod::Post: return "POST";
    case HttpMethod::Put: return "PUT";
    case HttpMethod::Delete: return "DELETE";
    case HttpMethod::Patch: return "PATCH";
    case HttpMethod::Options: return "OPTIONS";
    case HttpMethod::Other: return "OTHER";
  }
  return "OTHER";
}

void HttpRequest::reset() {
  method = HttpMethod::Other;
  method_text = {};
  version_major = 1;
  version_minor = 1;
  keep_alive = true;
  started_us = 0;
  target_.clear();
  arena_.clear();
  headers_.clear();
  in_value_ = false;
  body_.clear();
  params_.clear();
}

std::string_view HttpRequest::path() const {
  std::string_view t = target_;
  size_t q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

std::string_view HttpRequest::query() const {
  std::string_view t = target_;
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

void HttpRequest::appendHeaderName(std::string_view s) {
  // llhttp may deliver a name in several pieces; a new name starts after a value.
  if (headers_.empty() || in_value_) {
    headers_.push_back({static_cast<uint32_t>(arena_.size()), 0, 0, 0});
    in_value_ = false;
  }
  arena_.append(s);
  headers_.back().name_len += static_cast<uint32_t>(s.size());
}

void HttpRequest::appendHeaderValue(std::string_view s) {
  if (headers_.empty()) return;
  if (!in_value_) {
    headers_.back().value_off = static_cast<uint32_t>(arena_.size());
    in_value_ = true;
  }
  arena_.append(s);
  headers_.back().value_len += static_cast<uint32_t>(s.size());
}

void HttpRequest::finishHeaders() { in_value_ = false; }

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& h : headers_) {
    if (h.name_len == name.size() &&
        strncasecmp(arena_.data() + h.name_off, name.data(), name.size()) == 0) {
      return std::string_view(arena_.data() + h.value_off, h.value_len);
    }
  }
  return {};
}

bool HttpRequest::hasHeader(std::string_view name) const {
  for (const auto& h : headers_) {
    if (h.name_len == name.size() &&
        strncasecmp(arena_.data() + h.name_off, name.data(), name.size()) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace redge
