#pragma once
// The admin listener (loopback by default): /metrics (Prometheus text),
// /healthz (the process is alive and its loop turns), /readyz (200 only while
// Redis is connected, so a load balancer stops sending work when it is not).

#include "core/metrics.hpp"
#include "net/http/http_server.hpp"
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
  AdminService(HttpServer& server, MetricsRegistry& metrics, RedisClient& redis);
  void close(std::function<void()> done) override {
    if (done) done();  // routes only: no handle of its own
  }

 private:
  MetricsRegistry& metrics_;
  RedisClient& redis_;
};

}  // namespace redge
