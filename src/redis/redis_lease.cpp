// RedisLease: the take-or-extend script (see the header).

#include "redis/redis_lease.hpp"

#include <unistd.h>

#include <random>

#include "core/host_name.hpp"

namespace redge {
namespace {

constexpr std::string_view kLeaseScript = R"lua(
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
)lua";

}  // namespace

RedisLease::RedisLease(RedisClient& redis, std::string key, std::string holder, int64_t lease_ms)
    : script_(redis, "lease", std::string(kLeaseScript)),
      key_(std::move(key)),
      holder_(std::move(holder)),
      lease_ms_(std::to_string(lease_ms)) {}

void RedisLease::renew(std::function<void(bool held)> done) {
  script_.call({key_}, {holder_, lease_ms_},
               [done = std::move(done)](RedisStatus status, const redisReply* reply) {
                 done(status == RedisStatus::Ok && reply != nullptr &&
                      reply->type == REDIS_REPLY_INTEGER && reply->integer == 1);
               });
}

std::string RedisLease::newHolderName() {
  std::random_device rd;
  return hostName() + ":" + std::to_string(getpid()) + ":" + std::to_string(rd() % 100000);
}

}  // namespace redge
