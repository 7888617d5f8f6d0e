// The checks of the gateway's single keys and the parsing of hash_by. The
// rules across keys (a route's pool exists, a pool has members) are the
// module's (gateway_module.cpp).

#include "services/gateway/gateway_config.hpp"

#include "core/uri.hpp"

namespace redge {
namespace {

bool isHostNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

// Visible ASCII: what a request target or a header name may hold without
// quoting, and what a config value naming one should hold.
bool isVisible(std::string_view text) {
  for (char c : text) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// RFC 9110 5.6.2 token characters: a header or cookie name.
bool isTokenText(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<HashBy> parseHashBy(std::string_view text) {
  HashBy h;
  if (text == "client_address") return h;
  if (text.starts_with("header:") && isTokenText(text.substr(7))) {
    h.source = HashBy::Source::Header;
    h.name = std::string(text.substr(7));
    return h;
  }
  if (text.starts_with("cookie:") && isTokenText(text.substr(7))) {
    h.source = HashBy::Source::Cookie;
    h.name = std::string(text.substr(7));
    return h;
  }
  return std::nullopt;
}

std::optional<std::string> checkMemberAddress(const std::string& value) {
  std::string host;
  int port = 0;
  std::string error = parseHostPort(value, host, port);
  if (!error.empty()) return "expected host:port (" + error + ")";
  if (port == 0) return std::string("expected host:port: the port is missing");
  if (value.front() != '[') {
    for (char c : host) {
      if (!isHostNameChar(c))
        return std::string("expected host:port: the host has a bad character");
    }
  }
  return std::nullopt;
}

std::optional<std::string> checkRoutePrefix(const std::string& value) {
  if (value.empty() || value.front() != '/') return std::string("must start with /");
  if (!isVisible(value)) return std::string("must be visible ASCII without spaces");
  return std::nullopt;
}

std::optional<std::string> checkRouteHost(const std::string& value) {
  for (char c : value) {
    if (!isHostNameChar(c)) {
      return std::string("must be a host name (letters, digits, '.', '-'), without a port");
    }
  }
  return std::nullopt;
}

std::optional<std::string> checkHashBy(const std::string& value) {
  if (parseHashBy(value)) return std::nullopt;
  return std::string("must be client_address, header:<name> or cookie:<name>");
}

std::optional<std::string> checkHealthPath(const std::string& value) {
  if (value.empty() || value.front() != '/') return std::string("must start with /");
  if (!isVisible(value)) return std::string("must be visible ASCII without spaces");
  return std::nullopt;
}

std::optional<std::string> checkHeaderName(const std::string& value) {
  if (value.empty() || isTokenText(value)) return std::nullopt;
  return std::string("must be a header name (letters, digits and -!#$%&'*+.^_`|~)");
}

std::optional<std::string> checkPoolName(std::string_view value) {
  if (value.empty() || value.size() > 64) return std::string("must be 1 to 64 characters");
  for (char c : value) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return std::string("may hold only letters, digits, '_', '.' and '-'");
  }
  return std::nullopt;
}

}  // namespace redge
