#pragma once
// What redge reads from Redis Sentinel and from a server it is sent to:
// the master address a sentinel names, the +switch-master announcement, the
// ROLE reply, and the order in which sentinels are tried. Pure: no libuv, no
// sockets; the replies are hiredis's parsed redisReply values.

#include <hiredis/hiredis.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

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
