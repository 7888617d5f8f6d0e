#pragma once
// Parses redis.url: redis://[[user]:password@]host[:port][/db] or
// unix:///path/to/redis.sock[?db=N]. Pure, no I/O.

#include <cstdint>
#include <string>
#include <string_view>

namespace redge {

struct RedisUrl {
  bool unix_socket = false;
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string path;  // unix socket path
  std::string user;
  std::string password;
  int db = 0;
};

// Returns an empty string on success, else the reason the URL is invalid.
std::string parseRedisUrl(std::string_view text, RedisUrl& out);

}  // namespace redge
