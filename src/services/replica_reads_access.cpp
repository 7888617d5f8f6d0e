// Creating the process's ReplicaReads once and sharing it between modules
// through the ModuleContext (see the header).

#include "services/replica_reads_access.hpp"

#include "core/log.hpp"
#include "redis/redis_url.hpp"

namespace redge {

std::shared_ptr<ReplicaReads> attachReplicaReads(ModuleContext& context) {
  std::shared_ptr<ReplicaReads> reads;
  if (ReplicaReads* known = context.find<ReplicaReads>()) {
    reads = known->shared_from_this();
  } else {
    const RedisConfig& c = context.config().redis;
    ReplicaReadsOptions o;
    o.enabled = c.read_from == "replica";
    o.replica = context.redisOptions();
    if (o.enabled && !o.replica.sentinel) {
      RedisUrl url;
      std::string error = parseRedisUrl(c.replica_url, url);
      if (!error.empty()) {
        // The configuration checked the scheme only; the rest is the
        // client's to judge, as for redis.url.
        REDGE_LOG(Error, "redis_replica_url_invalid")
            .kv("url", c.replica_url)
            .kv("reason", error)
            .kv("reads", "master");
        o.enabled = false;
      } else {
        o.replica.url = url;
      }
    }
    std::shared_ptr<SentinelWatcher> sentinel = o.replica.sentinel;
    reads = std::make_shared<ReplicaReads>(context.runtime(), context.redis(), std::move(sentinel),
                                           std::move(o));
    context.provide(*reads);
  }
  reads->attach();
  return reads;
}

}  // namespace redge
