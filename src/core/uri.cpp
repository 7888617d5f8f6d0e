// Request-target helpers shared by HTTP routes and URL parsing (redis.url,
// upstream URLs): percent-decoding and query-parameter lookup.

#include "core/uri.hpp"

#include <charconv>

namespace redge {

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool percentDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hexValue(in[i + 1]);
      int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

std::string_view queryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::string parseHostPort(std::string_view authority, std::string& host, int& port) {
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "unterminated [IPv6] host";
    host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "junk after the [IPv6] host";
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = authority.rfind(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (host.empty()) return "the host is empty";
  // RFC 3986 3.2.3: an empty port ("host:") means the scheme's default.
  if (has_port && !port_text.empty()) {
    int p = 0;
    auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() || p < 1 || p > 65535) {
      return "port must be 1..65535";
    }
    port = p;
  }
  return {};
}

}  // namespace redge
