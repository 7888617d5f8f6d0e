#pragma once
// Parses an upstream URL: http://host[:port][/path[?query]]. Pure, no I/O.
// Only plain http: redge talks to upstreams on a trusted network (TLS is
// terminated in front of it).

#include <string>
#include <string_view>

namespace redge {

struct HttpUrl {
  std::string host;  // name or literal address (IPv6 without brackets)
  int port = 80;
  std::string target = "/";  // path and query, as sent in the request line
  // "host:port" for the Host header (brackets kept for IPv6).
  std::string authority() const;
};

// Returns an empty string on success, else why the URL is not usable.
std::string parseHttpUrl(std::string_view text, HttpUrl& out);

}  // namespace redge
