#pragma once
// What redge reads from Redis Sentinel and from a server it is sent to:
// the master address a sentinel names, the +switch-master announcement, the
// ROLE reply, and the order in which sentinels are tried. Pure: no libuv, no
// sockets; the replies are hiredis's parsed redisReply values.

#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace redge {

// A Redis server or sentinel: a literal IP address and a port. Names are
// refused wherever an address is read (from the configuration or from a
// sentinel), because hiredis would resolve them with a blocking lookup on
// the loop.
struct RedisAddress {
  std::string host;
  int port = 0;

  bool operator==(const RedisAddress&) const = default;
  // "host:port", "[v6]:port" for IPv6.
  std::string text() const;
};

// Parses "ip:port" or "[ipv6]:port" (the port is required). Returns an empty
// string on success, else the reason.
std::string parseRedisAddress(std::string_view text, RedisAddress& out);

// The reply to SENTINEL get-master-addr-by-name: a two-element array (ip,
// port). Nothing for a nil (the sentinel does not know that master), an
// error, or anything malformed.
std::optional<RedisAddress> parseMasterAddrReply(const redisReply* reply);

// A +switch-master message: "<master-name> <old-ip> <old-port> <new-ip>
// <new-port>".
struct SwitchMaster {
  std::string master_name;
  RedisAddress old_address;
  RedisAddress new_address;
};
std::optional<SwitchMaster> parseSwitchMaster(std::string_view payload);

// What ROLE says a server is. Sentinels answer "sentinel"; anything that is
// not a well-formed ROLE reply is Unknown.
enum class RedisRole { Master, Replica, Sentinel, Unknown };
RedisRole parseRoleReply(const redisReply* reply);
std::string_view redisRoleName(RedisRole role);

// One entry of SENTINEL replicas <name>, as much of it as redge judges.
struct SentinelReplica {
  RedisAddress address;
  std::string flags;               // "slave", "slave,s_down", "slave,disconnected", ...
  std::string master_link_status;  // "ok" or "err"
  int64_t repl_offset = 0;         // slave-repl-offset
};

// The reply to SENTINEL replicas (and SENTINEL slaves): one flat field /
// value array per replica. An entry without a literal address is skipped;
// nothing at all for an error or anything that is not an array.
std::optional<std::vector<SentinelReplica>> parseSentinelReplicasReply(const redisReply* reply);

// A replica reads may go to: not subjectively or objectively down, not
// disconnected from the sentinel, and its link to the master up.
bool replicaUsable(const SentinelReplica& replica);

// Which replica reads go to: the current one while it stays usable (moving
// costs a reconnect and gains nothing), else the usable one furthest along
// the replication stream (least stale), the first listed on a tie. Nothing
// when none is usable.
std::optional<RedisAddress> chooseReplica(const std::vector<SentinelReplica>& replicas,
                                          const std::optional<RedisAddress>& current);

// The replication offset in a ROLE reply: a master's own offset (element
// 1), or the offset a replica has processed (element 4). Nothing for any
// other shape, or a replica still connecting (offset -1).
std::optional<int64_t> parseRoleOffset(const redisReply* reply);

// The masters redge followed away from, remembered for a while. Sentinels
// learn of a failover another one led from each other's hello messages
// (every 2 s), so for a few seconds after a switch a lagging sentinel still
// names the master it replaced; an answer naming that one is the lagging
// sentinel's, not a failover back. A +switch-master is never judged here:
// a sentinel announces only switches to a newer configuration.
class FormerMasters {
 public:
  // How long an address stays "replaced" after redge left it.
  explicit FormerMasters(int64_t memory_ms) : memory_ms_(memory_ms) {}

  // redge moved from `old_master` to `new_master` at now_ms.
  void noteReplaced(const RedisAddress& old_master, const RedisAddress& new_master, int64_t now_ms);
  // Whether `named` is a master redge left less than memory_ms ago.
  bool replaced(const RedisAddress& named, int64_t now_ms) const;
  size_t size() const { return left_.size(); }

 private:
  struct Left {
    RedisAddress address;
    int64_t at_ms;
  };
  int64_t memory_ms_;
  std::vector<Left> left_;  // a handful at most: one per failover in memory_ms
};

// The order sentinels are tried in: the current one until it fails, then
// the next, round the list. The one that answered stays current, so a
// healthy sentinel keeps being asked first.
class SentinelRotation {
 public:
  explicit SentinelRotation(size_t count) : count_(count == 0 ? 1 : count) {}
  size_t current() const { return current_; }
  // The current sentinel failed (refused, timed out, closed, did not know
  // the master): the next one becomes current.
  size_t advance() {
    current_ = (current_ + 1) % count_;
    return current_;
  }

 private:
  size_t count_;
  size_t current_ = 0;
};

}  // namespace redge
