#pragma once
// The cache proxy's configuration section (cacheproxy.*).

#include <cstdint>
#include <string>

namespace redge {

struct CacheProxyConfig {
  bool enabled = true;
  std::string bind = "127.0.0.1";
  int64_t http_port = 8081;
  int64_t resp_port = 6380;
  int64_t capacity = 10000;
  int64_t ttl_ms = 60000;
  int64_t max_connections = 1024;
  int64_t max_inflight = 64;
  std::string invalidate = "none";  // none | keyspace
};

}  // namespace redge
