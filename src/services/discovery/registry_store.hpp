#pragma once
// The service registry in Redis and its atomic steps, each one Lua script
// (loaded once, run with EVALSHA). Keys, under <prefix>instances: —
//
//   <id>        hash: id service address tags version host pid lease_ms
//               started_at heartbeat_at (every field a string; times are
//               Redis's own clock, ms). Its TTL, three leases, only cleans
//               up after a registry no instance reaps any more.
//   leases      zset of ids scored by lease deadline (heartbeat + lease_ms)
//   seq         the change counter: every change takes its next number
//   stop:<id>   exists for a while after POST /destroy: that id may not
//               register again (a heartbeat already on its way is refused,
//               and the refusal stops the instance if the control message
//               was missed)
//   changes     pub/sub channel: one JSON message per change (see
//               registry_messages.hpp)
//   control     pub/sub channel: {"op":"stop","id":...} for POST /destroy
//
// Every script reads the time with TIME, so deadlines written by instances
// on different machines compare on one clock.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/redis_client.hpp"
#include "redis/redis_script.hpp"
#include "services/discovery/instance_record.hpp"
#include "services/discovery/registry_messages.hpp"

namespace redge {

struct RegistrationResult {
  enum class Kind { Heartbeat, Added, Updated, Refused } kind = Kind::Heartbeat;
  int64_t started_at_ms = 0;
  int64_t heartbeat_at_ms = 0;
};

class RegistryStore {
 public:
  // key_prefix: redis.key_prefix ("redge:").
  RegistryStore(RedisClient& redis, const std::string& key_prefix);

  // Registers or renews `self` (its started_at_ms 0 at the first call: the
  // script sets it); publishes added/updated when the hash was missing or
  // differed, nothing on a plain heartbeat.
  // cpu_percent: the instance's CPU over its last heartbeat period, percent
  // of one core (nullopt before the first period ends).
  void registerInstance(const InstanceRecord& self, std::optional<double> cpu_percent,
                        std::function<void(RedisStatus, const RegistrationResult&)> cb);
  // Removes `id` now and publishes removed (reason); `removed` is false when
  // it was not registered.
  void deregister(std::string_view id, std::string_view reason,
                  std::function<void(RedisStatus, bool removed)> cb);
  // Removes up to `limit` ids whose lease has passed, publishing each.
  void reap(int64_t limit, std::function<void(RedisStatus, std::vector<std::string> ids)> cb);
  // Every instance and the change number the load saw.
  void load(std::function<void(RedisStatus, std::optional<RegistryLoad>)> cb);
  // Removes `id`, forbids it to register for tombstone_ms, publishes removed
  // (reason destroyed) and the stop request on the control channel. The
  // record is the one removed; nullopt (with Ok) when there was none.
  void destroy(std::string_view id, int64_t tombstone_ms,
               std::function<void(RedisStatus, std::optional<InstanceRecord>)> cb);

  // The cpu_percent each of `ids` reported with its last heartbeat, in
  // order; -1 for one that reported none (gone, or not measured yet).
  void readCpu(const std::vector<std::string>& ids,
               std::function<void(RedisStatus, std::vector<double>)> cb);

  const std::string& prefix() const { return prefix_; }  // <key_prefix>instances:
  std::string changesChannel() const { return prefix_ + "changes"; }
  std::string controlChannel() const { return prefix_ + "control"; }
  // The PSUBSCRIBE pattern that matches both channels (glob characters of
  // the prefix escaped).
  std::string channelPattern() const;

 private:
  std::string prefix_;
  RedisScript register_script_;
  RedisScript deregister_script_;
  RedisScript reap_script_;
  RedisScript load_script_;
  RedisScript destroy_script_;
  RedisScript read_cpu_script_;
};

}  // namespace redge
