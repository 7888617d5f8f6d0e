#pragma once
// One parsed HTTP request. A connection reuses one HttpRequest for all the
// requests it reads, so in steady state parsing allocates nothing: header
// names and values live in one arena string whose capacity is kept.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/uri.hpp"

namespace redge {

enum class HttpMethod { Get, Head, Post, Put, Delete, Patch, Options, Other };

std::string_view httpMethodName(HttpMethod m);

// The method llhttp parsed (its llhttp_method_t value), as redge names it.
HttpMethod httpMethodFromLlhttp(unsigned m);

class HttpRequest {
 public:
  HttpMethod method = HttpMethod::Other;
  std::string_view method_text;  // as sent, for logs and 405 messages
  int version_major = 1;
  int version_minor = 1;
  bool keep_alive = true;
  int64_t started_us = 0;  // when the first byte arrived (metrics)

  // The request target as sent, its path and query parts. An absolute-form
  // target ("http://host/p?q", RFC 9112 3.2.2) has the path and query of its
  // origin form ("/p", "q"); a target with no path has path "/".
  const std::string& target() const { return target_; }
  std::string_view path() const;
  std::string_view query() const;

  // Case-insensitive header lookup; the first value with that name, or empty.
  std::string_view header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
  size_t headerCount() const { return headers_.size(); }
  // The i-th header line as sent: its name, and its value without trailing
  // whitespace.
  std::string_view headerName(size_t i) const;
  std::string_view headerValue(size_t i) const;

  const std::string& body() const { return body_; }
  std::string& mutableBody() { return body_; }

  // Parameters captured by the router ("{id}" segments), in route order.
  std::string_view param(size_t i) const {
    return i < params_.size() ? params_[i] : std::string_view();
  }
  std::vector<std::string_view>& params() { return params_; }

  // Used by the parser.
  void reset();
  void appendTarget(std::string_view s) { target_.append(s); }
  void appendHeaderName(std::string_view s);
  void endHeaderName();  // the name is complete; its value (maybe empty) follows
  void appendHeaderValue(std::string_view s);
  void finishHeaders();

 private:
  struct HeaderSpan {
    uint32_t name_off, name_len, value_off, value_len;
  };
  // Where the origin form ("/path?query") starts in target_: 0 unless the
  // target is in absolute form.
  std::string_view originForm() const;
  std::string target_;
  size_t origin_off_ = 0;
  std::string arena_;
  std::vector<HeaderSpan> headers_;
  bool name_open_ = false;  // a name is being delivered in pieces
  bool sealed_ = false;     // header section complete; trailers are not kept
  std::string body_;
  std::vector<std::string_view> params_;
};

}  // namespace redge
