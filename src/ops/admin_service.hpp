#pragma once
// The admin listener (loopback by default): /metrics (Prometheus text),
// /healthz (the process is alive and its loop turns), /readyz (200 only while
// Redis is connected, so a load balancer stops sending work when it is not),
// the dashboard (/dashboard, its assets under /dashboard/) and its event
// stream (/events). Other modules mount their admin routes on the same
// listener (flags, discovery, alerts, ...). With admin.token set, every
// request on it that changes something needs the token (admin_auth.hpp).

#include <memory>

#include "core/metrics.hpp"
#include "net/http/http_server.hpp"
#include "ops/admin_auth.hpp"
#include "ops/dashboard/dashboard.hpp"
#include "ops/dashboard/event_stream.hpp"
#include "ops/workers/worker_group.hpp"
#include "redis/redis_client.hpp"
#include "services/service.hpp"

namespace redge {

// The admin section (admin.*).
struct AdminOptions {
  bool enabled = true;
  std::string bind = "127.0.0.1";
  int64_t port = 9090;
  std::string token;       // empty: mutating routes are open (loopback only, by default)
  std::string token_file;  // read at start (prepare) into `effective_token`
  int64_t events_interval_ms = 1000;
  // Not a key: admin.token, or the first line of admin.token_file.
  std::string effective_token;
};

class AdminService final : public Service {
 public:
  // Installs the token check on `server` and offers the dashboard's
  // StatusPanels to the modules created after this one.
  AdminService(ModuleContext& context, HttpServer& server, const AdminOptions& options);
  void start() override;
  void beginDrain() override;
  void close(std::function<void()> done) override;

 private:
  ModuleContext& context_;
  MetricsRegistry& metrics_;
  RedisClient& redis_;
  static void sendGroupHealth(const WorkerGroup& group, const HttpResponder& res);
  // False after answering 503: some worker of the group is not ready.
  static bool groupReady(const WorkerGroup& group, const HttpResponder& res);

  AdminTokenCheck token_;
  // Set in a worker of a process group: /healthz and /readyz then answer for
  // every worker, not this one alone.
  const WorkerGroup* group_;
  Dashboard dashboard_;
  EventStream events_;
};

}  // namespace redge
