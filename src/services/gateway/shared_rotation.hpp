#pragma once
// redis_rotation: a pool's turn order kept in Redis, so every gateway on
// that Redis walks one rotation. The list <prefix>gateway:rotation:<pool>
// holds the members' names (one turn of the smooth weighted order, see
// GatewayPool::rotationOrder); each request takes its member with
//
//   LMOVE <key> <key> LEFT RIGHT
//
// which returns the head and moves it to the tail, atomically, whichever
// gateway asks. The cost is one command on the shared, pipelined Redis
// connection per request: about a microsecond of Redis CPU when commands
// ride together, but one Redis round trip added to the request's latency.
//
// The list follows the pool: it is rewritten (DEL + RPUSH, one script, so
// no gateway ever reads it half-written) one loop iteration after any
// membership change, every time the Redis connection becomes ready (Redis
// may have restarted empty), and when an LMOVE finds it missing. A list
// that already holds the same names is left where its turn is: a gateway
// starting or reconnecting does not send everyone back to the first
// member.
//
// While Redis cannot answer (down, timing out), the pool's local rotation
// picks instead: logged once when that starts (gateway_rotation_fallback)
// and once when an LMOVE answers again (gateway_rotation_restored), with a
// gauge (redge_gateway_rotation_fallback{pool}) in between.
//
// Lifetimes: owned by the gateway service beside its pool; close() before
// the loop ends (its timer). LMOVE callbacks may run after close() (Redis
// fails them when it closes, after the services): they then report Closed.

#include <functional>
#include <string>
#include <string_view>

#include "core/timer.hpp"
#include "redis/redis_client.hpp"
#include "redis/redis_script.hpp"
#include "services/gateway/gateway_pool.hpp"

namespace redge {

struct RotationTurn {
  enum class Source { Redis, Local, Closed };
  Source source = Source::Local;
  std::string name;  // Redis: the member the shared rotation named
};

class SharedRotation {
 public:
  // `rewrite_script` is the gateway's DEL + RPUSH script; all outlive this.
  SharedRotation(RedisClient& redis, RedisScript& rewrite_script, TimerFactory& timers,
                 GatewayPool& pool, std::string key);
  SharedRotation(const SharedRotation&) = delete;
  SharedRotation& operator=(const SharedRotation&) = delete;

  // The next turn; `done` runs once (synchronously when Redis is not
  // connected).
  void next(std::function<void(const RotationTurn&)> done);
  // The pool's membership changed: rewrite the list next iteration.
  void membershipChanged();
  // The Redis connection is ready (again): rewrite the list now.
  void onRedisReady();
  void close();

  const std::string& key() const { return key_; }
  bool fallingBack() const { return fallback_; }

  // What `rewrite_script` must be: DEL KEYS[1], then RPUSH ARGV if any.
  static const char* rewriteScript();

 private:
  void rewrite();
  void enterFallback(std::string_view reason);
  void leaveFallback();

  RedisClient& redis_;
  RedisScript& rewrite_;
  GatewayPool& pool_;
  std::string key_;
  TimerPtr rewrite_timer_;
  bool fallback_ = false;
  bool closed_ = false;
  bool error_logged_ = false;
};

}  // namespace redge
