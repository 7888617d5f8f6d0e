// The admin token check (see admin_auth.hpp): the Bearer header parsed as
// RFC 6750 2.1 writes it, compared in constant time.

#include "ops/admin_auth.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/ascii.hpp"

namespace redge {

bool constantTimeEquals(std::string_view a, std::string_view b) {
  // Every byte of `b` (the secret) is visited whatever `a` is; a length
  // mismatch only sets a bit. volatile keeps the compiler from turning the
  // loop back into an early-exit comparison.
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    diff = diff | static_cast<unsigned char>(x ^ static_cast<unsigned char>(b[i]));
  }
  return diff == 0;
}

std::optional<HttpRefusal> AdminTokenCheck::check(HttpMethod method, std::string_view path,
                                                  std::string_view authorization) const {
  if (token_.empty()) return std::nullopt;
  if (method == HttpMethod::Get || method == HttpMethod::Head || method == HttpMethod::Options) {
    return std::nullopt;
  }
  if (method == HttpMethod::Post && path.starts_with(kOfrepEvaluatePrefix)) return std::nullopt;
  constexpr std::string_view kScheme = "Bearer";
  bool bearer = authorization.size() > kScheme.size() &&
                equalsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme) &&
                authorization[kScheme.size()] == ' ';
  if (!bearer) {
    return HttpRefusal{401, "unauthorized",
                       "This admin route changes state and needs 'Authorization: Bearer <token>' "
                       "with the token from admin.token or admin.token_file.",
                       "WWW-Authenticate", "Bearer realm=\"redge-admin\""};
  }
  std::string_view given = authorization.substr(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  while (!given.empty() && (given.back() == ' ' || given.back() == '\t')) given.remove_suffix(1);
  if (!constantTimeEquals(given, token_)) {
    return HttpRefusal{403,
                       "forbidden",
                       "The bearer token is not this redge's admin token; check admin.token or "
                       "admin.token_file.",
                       {},
                       {}};
  }
  return std::nullopt;
}

std::optional<std::string> readTokenFile(const std::string& path, std::string& token) {
  std::ifstream in(path);
  if (!in) return "cannot read '" + path + "': " + std::strerror(errno);
  std::string line;
  std::getline(in, line);
  size_t begin = line.find_first_not_of(" \t\r");
  size_t end = line.find_last_not_of(" \t\r");
  if (begin == std::string::npos) return "'" + path + "' holds no token on its first line";
  token = line.substr(begin, end - begin + 1);
  return std::nullopt;
}

}  // namespace redge
