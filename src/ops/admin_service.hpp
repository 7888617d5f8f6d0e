#pragma once
// The admin listener (loopback by default): /metrics (Prometheus text),
// /healthz (the process is alive and its loop turns), /readyz (200 only while
// Redis is connected, so a load balancer stops sending work when it is not).

#include "core/metrics.hpp"
#include "net/http/http_server.hpp"
#include "ops/workers/worker_group.hpp"
#include "redis/redis_client.hpp"
#include "services/service.hpp"

namespace redge {

// The admin section (admin.*).
struct AdminOptions {
  bool enabled = true;
  std::string bind = "127.0.0.1";
  int64_t port = 9090;
};

class AdminService final : public Service {
 public:
  // `group`: set in a worker of a process group; /healthz and /readyz then
  // answer for every worker, not this one alone.
  AdminService(HttpServer& server, MetricsRegistry& metrics, RedisClient& redis,
               const WorkerGroup* group = nullptr);
  void close(std::function<void()> done) override {
    if (done) done();  // routes only: no handle of its own
  }

 private:
  static void sendGroupHealth(const WorkerGroup& group, const HttpResponder& res);
  // False after answering 503: some worker of the group is not ready.
  static bool groupReady(const WorkerGroup& group, const HttpResponder& res);

  MetricsRegistry& metrics_;
  RedisClient& redis_;
  const WorkerGroup* group_;
};

}  // namespace redge
