// Upstream URL parsing for the HTTP client (relay upstream, gateway
// backends, health probes, alert webhooks).

#include "net/http/http_url.hpp"

#include "core/uri.hpp"

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
  if (authority.find('@') != std::string_view::npos)
    return "credentials in the URL are not supported";
  std::string error = parseHostPort(authority, out.host, out.port);
  if (!error.empty()) return error;
  for (char c : out.target) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return "the path has spaces or control characters";
  }
  return {};
}

}  // namespace redge
