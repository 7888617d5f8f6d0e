#pragma once
// The admin listener (loopback by default): /metrics (Prometheus text),
// /healthz (the process is alive and its loop turns), /readyz (200 only while
// Redis is connected, so a load balancer stops sending work when it is not).

#include "core/metrics.hpp"
#include "net/http/http_server.hpp"
#include "redis/redis_client.hpp"

namespace redge {

class AdminService {
 public:
  AdminService(HttpServer& server, MetricsRegistry& metrics, RedisClient& redis);

 private:
  MetricsRegistry& metrics_;
  RedisClient& redis_;
};

}  // namespace redge
