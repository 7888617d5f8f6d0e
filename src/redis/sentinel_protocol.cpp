// Reading Sentinel's answers and ROLE replies. Every reader is strict: a
// reply of the wrong shape is "nothing known", never a guess, because a
// wrong master address would send writes to a replica.

#include "redis/sentinel_protocol.hpp"

#include <arpa/inet.h>

#include <charconv>

#include "core/uri.hpp"
#include "redis/redis_reply.hpp"

namespace redge {
namespace {

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

bool parsePort(std::string_view text, int& port) {
  int p = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), p);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() || p < 1 ||
      p > 65535) {
    return false;
  }
  port = p;
  return true;
}

// One address from a sentinel: an IP literal and a port, both as text.
std::optional<RedisAddress> addressOf(std::string_view host, std::string_view port) {
  RedisAddress a;
  a.host = std::string(host);
  if (!isIpLiteral(a.host) || !parsePort(port, a.port)) return std::nullopt;
  return a;
}

}  // namespace

std::string RedisAddress::text() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string parseRedisAddress(std::string_view text, RedisAddress& out) {
  RedisAddress a;
  a.port = 0;
  std::string error = parseHostPort(text, a.host, a.port);
  if (!error.empty()) return error;
  if (a.port == 0) return "needs a port (host:port)";
  if (!isIpLiteral(a.host)) return "host must be a literal IPv4 or IPv6 address";
  out = std::move(a);
  return {};
}

std::optional<RedisAddress> parseMasterAddrReply(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
    return std::nullopt;
  }
  for (size_t i = 0; i < 2; ++i) {
    if (reply->element[i] == nullptr || reply->element[i]->type != REDIS_REPLY_STRING) {
      return std::nullopt;
    }
  }
  return addressOf(replyText(reply->element[0]), replyText(reply->element[1]));
}

std::optional<SwitchMaster> parseSwitchMaster(std::string_view payload) {
  std::string_view parts[5];
  size_t n = 0;
  while (!payload.empty()) {
    size_t space = payload.find(' ');
    std::string_view word = payload.substr(0, space);
    if (!word.empty()) {
      if (n == 5) return std::nullopt;
      parts[n++] = word;
    }
    if (space == std::string_view::npos) break;
    payload.remove_prefix(space + 1);
  }
  if (n != 5) return std::nullopt;
  auto old_address = addressOf(parts[1], parts[2]);
  auto new_address = addressOf(parts[3], parts[4]);
  if (!old_address || !new_address) return std::nullopt;
  return SwitchMaster{std::string(parts[0]), *old_address, *new_address};
}

RedisRole parseRoleReply(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements == 0 ||
      reply->element[0] == nullptr) {
    return RedisRole::Unknown;
  }
  std::string_view role = replyText(reply->element[0]);
  if (role == "master") return RedisRole::Master;
  // "slave" is what every Redis up to 7 says; "replica" for what may come.
  if (role == "slave" || role == "replica") return RedisRole::Replica;
  if (role == "sentinel") return RedisRole::Sentinel;
  return RedisRole::Unknown;
}

std::string_view redisRoleName(RedisRole role) {
  switch (role) {
    case RedisRole::Master:
      return "master";
    case RedisRole::Replica:
      return "replica";
    case RedisRole::Sentinel:
      return "sentinel";
    case RedisRole::Unknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace redge
