#pragma once
// A lease in Redis that one instance of the fleet holds at a time (the
// autoscaler's acting instance, the alerts' fleet evaluator): renew() takes
// it when nobody holds it and extends it when this instance does, in one
// script, so two instances never both believe they hold it within one
// lease time. A holder that stops renewing loses it when it lapses.

#include <cstdint>
#include <functional>
#include <string>

#include "redis/redis_script.hpp"

namespace redge {

class RedisLease {
 public:
  // `holder` names this instance in the key (an operator reads it there).
  RedisLease(RedisClient& redis, std::string key, std::string holder, int64_t lease_ms);
  // `done(held)` once Redis answered (false when it could not).
  void renew(std::function<void(bool held)> done);
  const std::string& holder() const { return holder_; }

  // "<host>:<pid>:<random>", unique enough per process.
  static std::string newHolderName();

 private:
  RedisScript script_;
  std::string key_;
  std::string holder_;
  std::string lease_ms_;
};

}  // namespace redge
