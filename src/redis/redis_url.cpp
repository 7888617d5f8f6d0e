// redis.url parsing. Credentials may be percent-encoded (a password with '@'
// or ':' must be); the database index must be a small non-negative integer.

#include "redis/redis_url.hpp"

#include <charconv>

#include "core/uri.hpp"

namespace redge {
namespace {

bool parseInt(std::string_view s, int lo, int hi, int& out) {
  if (s.empty()) return false;
  int v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

}  // namespace

std::string parseRedisUrl(std::string_view text, RedisUrl& out) {
  out = RedisUrl{};
  constexpr std::string_view kTcp = "redis://";
  constexpr std::string_view kUnix = "unix://";
  if (text.substr(0, kUnix.size()) == kUnix) {
    std::string_view rest = text.substr(kUnix.size());
    size_t q = rest.find('?');
    out.unix_socket = true;
    out.path = std::string(rest.substr(0, q));
    if (out.path.empty() || out.path.front() != '/')
      return "a unix socket URL needs an absolute path";
    if (q != std::string_view::npos) {
      std::string_view db = queryParam(rest.substr(q + 1), "db");
      if (!parseInt(db, 0, 1000000, out.db)) return "db must be a non-negative integer";
    }
    return {};
  }
  if (text.substr(0, kTcp.size()) != kTcp) return "must start with redis:// or unix://";
  std::string_view rest = text.substr(kTcp.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view db =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    size_t colon = userinfo.find(':');
    std::string_view user = userinfo.substr(0, colon);
    std::string_view pass =
        colon == std::string_view::npos ? std::string_view() : userinfo.substr(colon + 1);
    if (colon == std::string_view::npos) {
      // redis://secret@host: a lone userinfo is the password (AUTH password).
      pass = user;
      user = {};
    }
    if (!percentDecode(user, out.user) || !percentDecode(pass, out.password)) {
      return "bad percent-encoding in the credentials";
    }
  }
  std::string error = parseHostPort(authority, out.host, out.port);
  if (!error.empty()) return error;
  if (!db.empty() && !parseInt(db, 0, 1000000, out.db)) return "db must be a non-negative integer";
  return {};
}

}  // namespace redge
