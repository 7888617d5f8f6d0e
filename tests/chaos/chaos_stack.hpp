#pragma once

#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_upstream_process.hpp"
#include "support/json_fields.hpp"
#include "support/load_driver.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/relay_api.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_until.hpp"

namespace redge_test {

// Every front redge has, at once: app, admin, the cache proxy (HTTP and
// RESP) and the relay delivering to a fake upstream, on one Redis. The
// chaos cases hit them all with one load while they break something.
// Members are destroyed in reverse order: redge first, the directory last.
struct ChaosStack {
  ChaosStack(std::vector<std::string> settings, std::vector<std::string> redis_args = {},
             std::vector<std::string> upstream_flags = {"--latency-ms", "5"})
      : redis(dir, std::move(redis_args)),
        upstream(dir, std::move(upstream_flags)),
        redge(dir, redis, relaySettings(upstream, std::move(settings)), {},
              RedgeServices{.cache_proxy = true}) {
    redge.waitUntilReady();
  }

  TempDir dir;
  RedisServer redis;
  FakeUpstreamProcess upstream;
  RedgeProcess redge;
};

// Keeps the load running for `d`: the length of a phase of a fault
// scenario is the thing under test, so this is a duration, not a wait for a
// condition.
inline void holdLoad(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);
}

// SIGKILL for redis-server (no shutdown, no final AOF rewrite), reaped, so
// RedisServer::start() can bring it back on the same port.
inline bool killRedis(RedisServer& redis) {
  ::kill(redis.pid(), SIGKILL);
  return waitUntil([&] { return !redis.running(); }, std::chrono::milliseconds(5000),
                   std::chrono::milliseconds(1));
}

// Polls PING on a fresh connection until Redis answers; true at the moment
// it did (the start of the "back within 1 s" clock).
inline bool waitForPong(const RedisServer& redis, std::chrono::milliseconds timeout) {
  return waitUntil(
      [&] {
        try {
          RedisConnection c(redis.port());
          return c.command({"PING"}).str == "PONG";
        } catch (const std::exception&) {
          return false;
        }
      },
      timeout, std::chrono::milliseconds(2));
}

// The id of a 202 answer to POST /messages ("" for any other answer).
inline std::string acceptedId(const LoadOutcome& o) {
  if (o.status != 202) return "";
  return jsonString(o.reply, "id").value_or("");
}

}  // namespace redge_test
