#pragma once
// A Lua script run with EVALSHA: loaded (SCRIPT LOAD) each time the
// connection becomes ready, and sent as EVAL when its SHA is not known yet
// or Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH). Multi-step
// changes that must be atomic (check the queue length and enqueue, move a
// message between lists) are scripts.

#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_client.hpp"

namespace redge {

class RedisScript {
 public:
  RedisScript(RedisClient& redis, std::string name, std::string source);

  // Runs the script with `keys` and `args`; the callback gets the reply as
  // RedisClient gives it (exactly once).
  void call(const std::vector<std::string_view>& keys, const std::vector<std::string_view>& args,
            RedisCallback cb);

  const std::string& name() const { return name_; }

 private:
  void load();
  void send(bool by_sha, std::vector<std::string> argv, RedisCallback cb);

  RedisClient& redis_;
  std::string name_;
  std::string source_;
  std::string sha_;  // empty until SCRIPT LOAD answered
};

}  // namespace redge
