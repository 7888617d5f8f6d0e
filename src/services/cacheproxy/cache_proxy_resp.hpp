#pragma once
// The cache proxy's RESP front: what a Redis client needs to read through
// the cache with its default options.
//
// Read commands, through the same ReadThroughCache as HTTP (a key read over
// either front is cached for both): GET, MGET, and the ones answered from
// the same cached value — EXISTS, STRLEN, TYPE, GETRANGE — with Redis's
// answers for a missing key (0, 0, none, ""). TTL and PTTL are forwarded to
// Redis, since the cache keeps no expiry of Redis's. TYPE of a key that
// is not a string is asked of Redis too.
//
// Connection commands come from RespCommandTable: HELLO 2/3 (RESP3 replies
// on connections that ask for them), AUTH, CLIENT ID/GETNAME/SETNAME/SETINFO,
// MULTI/EXEC/DISCARD over these commands, INFO (with the cache's hits,
// misses, evictions and entries), COMMAND, PING, ECHO, SELECT 0, QUIT.
// Anything else, writes included, is refused with Redis's unknown-command
// error and the connection stays usable; inside MULTI that makes EXEC
// answer -EXECABORT, as Redis does for a bad command in a transaction.

#include <string>
#include <string_view>
#include <vector>

#include "net/resp/resp_command_table.hpp"
#include "net/resp/resp_server.hpp"
#include "redis/redis_client.hpp"
#include "services/cacheproxy/read_through_cache.hpp"

namespace redge {

class CacheProxyRespFront {
 public:
  CacheProxyRespFront(ReadThroughCache& cache, RedisClient& redis);
  void handle(const std::vector<std::string_view>& args, const RespResponder& responder) {
    table_.execute(args, responder);
  }
  const RespCommandTable& table() const { return table_; }

 private:
  // Encodes the answer for one key into `out`, given what the cache found.
  using Render = void (*)(const CacheAnswer& answer, const RespArgs& args, RespProtocol protocol,
                          std::string& out);

  std::vector<RespCommand> commands();
  void get(const RespArgs& args, const RespResponder& responder);
  void mget(const RespArgs& args, const RespResponder& responder);
  void exists(const RespArgs& args, const RespResponder& responder);
  void type(const RespArgs& args, const RespResponder& responder);
  void forward(const RespArgs& args, const RespResponder& responder);
  // One key read through the cache; `render` makes the reply (args are
  // copied for it when the answer comes later).
  void readOne(const RespArgs& args, const RespResponder& responder, Render render);

  ReadThroughCache& cache_;
  RedisClient& redis_;
  RespCommandTable table_;
  std::string reply_;  // scratch for synchronous replies
};

// The RESP error line for a failed lookup (without the leading '-').
std::string respErrorFor(const CacheAnswer& answer);

}  // namespace redge
