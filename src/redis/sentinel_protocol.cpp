// Reading Sentinel's answers and ROLE replies. Every reader is strict: a
// reply of the wrong shape is "nothing known", never a guess, because a
// wrong master address would send writes to a replica.

#include "redis/sentinel_protocol.hpp"

#include <arpa/inet.h>

#include <algorithm>
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

std::optional<std::vector<SentinelReplica>> parseSentinelReplicasReply(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return std::nullopt;
  std::vector<SentinelReplica> out;
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* entry = reply->element[i];
    if (entry == nullptr || entry->type != REDIS_REPLY_ARRAY) continue;
    std::string_view ip, port;
    SentinelReplica r;
    for (size_t f = 0; f + 1 < entry->elements; f += 2) {
      std::string_view key = replyText(entry->element[f]);
      std::string_view value = replyText(entry->element[f + 1]);
      if (key == "ip") {
        ip = value;
      } else if (key == "port") {
        port = value;
      } else if (key == "flags") {
        r.flags = std::string(value);
      } else if (key == "master-link-status") {
        r.master_link_status = std::string(value);
      } else if (key == "slave-repl-offset") {
        int64_t offset = 0;
        auto res = std::from_chars(value.data(), value.data() + value.size(), offset);
        if (res.ec == std::errc()) r.repl_offset = offset;
      }
    }
    auto address = addressOf(ip, port);
    if (!address) continue;
    r.address = std::move(*address);
    out.push_back(std::move(r));
  }
  return out;
}

bool replicaUsable(const SentinelReplica& replica) {
  std::string_view flags = replica.flags;
  while (!flags.empty()) {
    size_t comma = flags.find(',');
    std::string_view flag = flags.substr(0, comma);
    if (flag == "s_down" || flag == "o_down" || flag == "disconnected") return false;
    if (comma == std::string_view::npos) break;
    flags.remove_prefix(comma + 1);
  }
  return replica.master_link_status == "ok";
}

std::optional<RedisAddress> chooseReplica(const std::vector<SentinelReplica>& replicas,
                                          const std::optional<RedisAddress>& current) {
  const SentinelReplica* best = nullptr;
  for (const SentinelReplica& r : replicas) {
    if (!replicaUsable(r)) continue;
    if (current && r.address == *current) return r.address;
    if (best == nullptr || r.repl_offset > best->repl_offset) best = &r;
  }
  if (best == nullptr) return std::nullopt;
  return best->address;
}

std::optional<int64_t> parseRoleOffset(const redisReply* reply) {
  switch (parseRoleReply(reply)) {
    case RedisRole::Master:
      if (reply->elements < 2 || reply->element[1]->type != REDIS_REPLY_INTEGER) break;
      return replyInteger(reply->element[1]);
    case RedisRole::Replica: {
      if (reply->elements < 5 || reply->element[4]->type != REDIS_REPLY_INTEGER) break;
      int64_t offset = replyInteger(reply->element[4]);
      if (offset < 0) break;
      return offset;
    }
    default:
      break;
  }
  return std::nullopt;
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

void FormerMasters::noteReplaced(const RedisAddress& old_master, const RedisAddress& new_master,
                                 int64_t now_ms) {
  // The new master is current now, so naming it is never stale; entries
  // past their memory go too, which keeps the list to the failovers of the
  // last memory_ms.
  std::erase_if(left_, [&](const Left& l) {
    return l.address == new_master || l.address == old_master || now_ms - l.at_ms >= memory_ms_;
  });
  left_.push_back({old_master, now_ms});
}

bool FormerMasters::replaced(const RedisAddress& named, int64_t now_ms) const {
  return std::any_of(left_.begin(), left_.end(), [&](const Left& l) {
    return l.address == named && now_ms - l.at_ms < memory_ms_;
  });
}

}  // namespace redge
