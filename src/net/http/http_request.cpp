// HttpRequest storage and the small request-target helpers (path, query,
// percent-decoding) the routes share.

#include "net/http/http_request.hpp"

#include <llhttp.h>
#include <strings.h>

namespace redge {

std::string_view httpMethodName(HttpMethod m) {
  switch (m) {
    case HttpMethod::Get:
      return "GET";
    case HttpMethod::Head:
      return "HEAD";
    case HttpMethod::Post:
      return "POST";
    case HttpMethod::Put:
      return "PUT";
    case HttpMethod::Delete:
      return "DELETE";
    case HttpMethod::Patch:
      return "PATCH";
    case HttpMethod::Options:
      return "OPTIONS";
    case HttpMethod::Other:
      return "OTHER";
  }
  return "OTHER";
}

HttpMethod httpMethodFromLlhttp(unsigned m) {
  switch (m) {
    case HTTP_GET:
      return HttpMethod::Get;
    case HTTP_HEAD:
      return HttpMethod::Head;
    case HTTP_POST:
      return HttpMethod::Post;
    case HTTP_PUT:
      return HttpMethod::Put;
    case HTTP_DELETE:
      return HttpMethod::Delete;
    case HTTP_PATCH:
      return HttpMethod::Patch;
    case HTTP_OPTIONS:
      return HttpMethod::Options;
    default:
      return HttpMethod::Other;
  }
}

void HttpRequest::reset() {
  method = HttpMethod::Other;
  method_text = {};
  version_major = 1;
  version_minor = 1;
  keep_alive = true;
  started_us = 0;
  target_.clear();
  origin_off_ = 0;
  arena_.clear();
  headers_.clear();
  name_open_ = false;
  sealed_ = false;
  body_.clear();
  params_.clear();
}

std::string_view HttpRequest::originForm() const {
  return std::string_view(target_).substr(origin_off_);
}

std::string_view HttpRequest::path() const {
  std::string_view t = originForm();
  size_t q = t.find('?');
  std::string_view p = q == std::string_view::npos ? t : t.substr(0, q);
  if (p.empty() && origin_off_ != 0) return "/";  // "http://host" or "http://host?q"
  return p;
}

std::string_view HttpRequest::query() const {
  std::string_view t = originForm();
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

void HttpRequest::appendHeaderName(std::string_view s) {
  // llhttp may deliver a name in several pieces; a new name starts once the
  // previous one was declared complete.
  if (sealed_) return;  // a chunked trailer: never merged into the header section
  if (!name_open_) {
    headers_.push_back({static_cast<uint32_t>(arena_.size()), 0, 0, 0});
    name_open_ = true;
  }
  arena_.append(s);
  headers_.back().name_len += static_cast<uint32_t>(s.size());
}

void HttpRequest::endHeaderName() {
  if (sealed_ || !name_open_) return;
  name_open_ = false;
  // The value's bytes, if any, come next in the arena: nothing else is
  // appended between a name and its value.
  if (!headers_.empty()) headers_.back().value_off = static_cast<uint32_t>(arena_.size());
}

void HttpRequest::appendHeaderValue(std::string_view s) {
  if (sealed_ || headers_.empty()) return;
  if (name_open_) endHeaderName();
  arena_.append(s);
  headers_.back().value_len += static_cast<uint32_t>(s.size());
}

void HttpRequest::finishHeaders() {
  name_open_ = false;
  sealed_ = true;
  // RFC 9112 3.2.2: a server must accept the absolute form; it is routed by
  // the path and query that follow the authority.
  origin_off_ = 0;
  std::string_view t = target_;
  size_t scheme_end = 0;
  if (t.size() >= 7 && strncasecmp(t.data(), "http://", 7) == 0) {
    scheme_end = 7;
  } else if (t.size() >= 8 && strncasecmp(t.data(), "https://", 8) == 0) {
    scheme_end = 8;
  }
  if (scheme_end != 0) {
    size_t origin = t.find_first_of("/?", scheme_end);
    origin_off_ = origin == std::string_view::npos ? t.size() : origin;
  }
}

std::string_view HttpRequest::headerName(size_t i) const {
  const HeaderSpan& h = headers_[i];
  return std::string_view(arena_.data() + h.name_off, h.name_len);
}

std::string_view HttpRequest::headerValue(size_t i) const {
  const HeaderSpan& h = headers_[i];
  // RFC 9110 5.5: a field value excludes trailing whitespace, which llhttp
  // passes through.
  std::string_view v(arena_.data() + h.value_off, h.value_len);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

std::string_view HttpRequest::header(std::string_view name) const {
  for (size_t i = 0; i < headers_.size(); ++i) {
    const HeaderSpan& h = headers_[i];
    if (h.name_len == name.size() &&
        strncasecmp(arena_.data() + h.name_off, name.data(), name.size()) == 0) {
      return headerValue(i);
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
