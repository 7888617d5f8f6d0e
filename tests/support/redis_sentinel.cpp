// A real redis-sentinel for tests of redge's Sentinel following, and the
// waits a Sentinel setup needs before a failover can be tested (the
// replica's link, the sentinels finding each other and the replica).

#include "support/redis_sentinel.hpp"

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "support/wait_until.hpp"

namespace redge_test {

RedisSentinel::RedisSentinel(const TempDir& dir, int master_port, std::string master_name,
                             SentinelSetup setup)
    : dir_(dir), master_name_(std::move(master_name)), master_port_(master_port), setup_(setup) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (launch(findFreePort())) return;
  }
  throw std::runtime_error("redis-sentinel did not start after 5 attempts; last log:\n" +
                           logText());
}

bool RedisSentinel::launch(int port) {
  port_ = port;
  std::string name = "sentinel-" + std::to_string(port);
  config_path_ = dir_.file(name + ".conf");
  log_path_ = dir_.file(name + ".log");
  {
    std::ofstream conf(config_path_);
    conf << "port " << port << "\n"
         << "bind 127.0.0.1\n"
         << "daemonize no\n"
         << "dir " << dir_.path() << "\n"
         << "sentinel monitor " << master_name_ << " 127.0.0.1 " << master_port_ << " "
         << setup_.quorum << "\n"
         << "sentinel down-after-milliseconds " << master_name_ << " " << setup_.down_after_ms
         << "\n"
         << "sentinel failover-timeout " << master_name_ << " " << setup_.failover_timeout_ms
         << "\n"
         << "sentinel parallel-syncs " << master_name_ << " 1\n";
    for (const std::string& line : setup_.extra_config) conf << line << "\n";
  }
  ChildSpec spec;
  std::string sentinel_binary = REDIS_SENTINEL_BINARY;
  if (sentinel_binary.empty()) {
    spec.argv = {REDIS_SERVER_BINARY, config_path_, "--sentinel"};
  } else {
    spec.argv = {sentinel_binary, config_path_};
  }
  spec.env = cleanEnvironment();
  spec.stdout_path = log_path_;
  spec.stderr_path = log_path_ + ".err";
  process_.start(spec);
  return awaitOwnServer(process_, port);
}

RedisValue RedisSentinel::command(const std::vector<std::string>& args) const {
  RedisConnection c(port_);
  return c.command(args);
}

int RedisSentinel::masterPort() const {
  try {
    RedisValue v = command({"SENTINEL", "get-master-addr-by-name", master_name_});
    if (v.type != RedisValue::Type::Array || v.elements.size() != 2) return 0;
    return std::stoi(v.elements[1].str);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string RedisSentinel::logText() const {
  return readFile(log_path_) + readFile(log_path_ + ".err");
}

std::vector<std::string> replicaArgs(const RedisServer& master, std::vector<std::string> common) {
  common.insert(common.end(), {"--replicaof", "127.0.0.1", std::to_string(master.port())});
  return common;
}

bool replicaLinkUp(const RedisServer& server) {
  try {
    RedisValue info = server.command({"INFO", "replication"});
    return info.str.find("master_link_status:up") != std::string::npos;
  } catch (const std::exception&) {
    return false;
  }
}

bool sentinelsSettled(const std::vector<const RedisSentinel*>& sentinels,
                      const std::string& master_name, size_t replicas,
                      std::chrono::milliseconds timeout) {
  return waitUntil(
      [&] {
        try {
          for (const RedisSentinel* s : sentinels) {
            RedisValue ok = s->command({"SENTINEL", "CKQUORUM", master_name});
            if (ok.type == RedisValue::Type::Error) return false;
            RedisValue peers = s->command({"SENTINEL", "SENTINELS", master_name});
            if (peers.elements.size() + 1 != sentinels.size()) return false;
            RedisValue known = s->command({"SENTINEL", "REPLICAS", master_name});
            if (known.elements.size() != replicas) return false;
          }
          return true;
        } catch (const std::exception&) {
          return false;
        }
      },
      timeout, std::chrono::milliseconds(50));
}

}  // namespace redge_test
