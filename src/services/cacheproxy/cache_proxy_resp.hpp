#pragma once
// The cache proxy's RESP front: the commands a Redis client needs to read
// through the cache. GET and MGET go through the same ReadThroughCache as
// HTTP; PING, ECHO, SELECT 0, COMMAND (the empty answers redis-cli needs to
// start) and HELLO (-NOPROTO, so clients stay on RESP2) are answered
// locally; anything else is refused and the connection stays usable.

#include <string>
#include <string_view>
#include <vector>

#include "net/resp/resp_server.hpp"
#include "services/cacheproxy/read_through_cache.hpp"

namespace redge {

class CacheProxyRespFront {
 public:
  explicit CacheProxyRespFront(ReadThroughCache& cache) : cache_(cache) {}
  void handle(const std::vector<std::string_view>& args, const RespResponder& responder);

 private:
  void get(std::string_view key, const RespResponder& responder);
  void mget(const std::vector<std::string_view>& args, const RespResponder& responder);

  ReadThroughCache& cache_;
  std::string reply_;  // scratch for synchronous replies
};

// The RESP error line for a failed lookup (without the leading '-').
std::string respErrorFor(const CacheAnswer& answer);

}  // namespace redge
