// Upstream URL parsing for the HTTP client (relay upstream, gateway
// backends, health probes, alert webhooks).

#include "net/http/http_url.hpp"

#include <charconv>

namespace redge {

std::string HttpUrl::authority() const {
  std::string a;
  if (host.find(':') != std::string::npos) {
    a.append("[").append(host).append("]");
  } else {
    a = host;
  }
  if (port != 80) a.append(":").append(std::to_string(port));
  return a;
}

std::string parseHttpUrl(std::string_view text, HttpUrl& out) {
  out = HttpUrl{};
  constexpr std::string_view kScheme = "http://";
  if (text.substr(0, kScheme.size()) != kScheme) return "must start with http://";
  std::string_view rest = text.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view target = rest.substr(slash);
    out.target.clear();
    if (target.front() == '?') out.target.push_back('/');
    out.target.append(target);
  }
  if (authority.find('@') != std::string_view::npos) return "credentials in the URL are not supported";
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "unterminated [IPv6] host";
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return "junk after the [IPv6] host";
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return "the host is empty";
  if (!port.empty() || (authority.size() && authority.back() == ':')) {
    int p = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || p < 1 ||
        p > 65535) {
      return "port must be 1..65535";
    }
    out.port = p;
  }
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return "the path has spaces or control characters";
  }
  return {};
}

}  // namespace redge
