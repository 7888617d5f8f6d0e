#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace redge_test {

// How a test's sentinel is configured. The defaults keep a test short: a
// master is down after 500 ms without an answer, and a failover may restart
// after 2 s.
struct SentinelSetup {
  int quorum = 2;
  int down_after_ms = 500;
  int failover_timeout_ms = 2000;
  // More lines for its configuration file ("sentinel auth-user ...").
  std::vector<std::string> extra_config;
};

// A private redis-sentinel (Debian's redis-sentinel; redis-server
// --sentinel where it is missing) on a free loopback port, monitoring the
// master at 127.0.0.1:`master_port` under `master_name`. Its configuration
// file (which a sentinel rewrites as it learns) and log live in `dir`. The
// destructor stops it.
class RedisSentinel {
 public:
  RedisSentinel(const TempDir& dir, int master_port, std::string master_name = "mymaster",
                SentinelSetup setup = {});
  ~RedisSentinel() = default;
  RedisSentinel(const RedisSentinel&) = delete;
  RedisSentinel& operator=(const RedisSentinel&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:PORT", as redis.sentinels takes it.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool running() { return process_.running(); }
  void stop() { process_.stop(); }

  // One command on a fresh connection (SENTINEL ..., PING).
  RedisValue command(const std::vector<std::string>& args) const;
  // The port of the master this sentinel names now; 0 if it names none or
  // does not answer.
  int masterPort() const;
  std::string logText() const;

 private:
  bool launch(int port);

  const TempDir& dir_;
  std::string master_name_;
  int master_port_;
  SentinelSetup setup_;
  int port_ = 0;
  std::string config_path_;
  std::string log_path_;
  ChildProcess process_;
};

// `common` and --replicaof the master on loopback: a replica's arguments.
std::vector<std::string> replicaArgs(const RedisServer& master, std::vector<std::string> common);

// INFO replication of `server` says a replica's link to its master is up.
bool replicaLinkUp(const RedisServer& server);

// Every sentinel sees the others, the quorum is reachable (SENTINEL
// CKQUORUM) and each knows `replicas` replicas: only then can a failover
// happen. Polls until `timeout`.
bool sentinelsSettled(const std::vector<const RedisSentinel*>& sentinels,
                      const std::string& master_name, size_t replicas,
                      std::chrono::milliseconds timeout);

}  // namespace redge_test
