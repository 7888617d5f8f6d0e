#pragma once
// The autoscaler: every interval_ms, the instance that holds the autoscale
// lease in Redis (SET NX PX, renewed each tick; one instance of the fleet
// acts at a time) reads each service's instance count from the registry and
// its metric from this instance's gateway (the requests its members got per
// second, or their requests in flight, per instance), asks the
// AutoscalePolicy what to scale to, and acts through the discovery module's
// own admin API on this instance: POST /spawn {"service","count"} to scale
// out, POST /destroy {"id"} of the instance with the least in-flight work to
// scale in (it drains, then exits). One action per service at a time.
//
// Every decision that differs from the current count, and every action, is
// one log line with its inputs; GET /autoscale (admin) shows the last
// decision of each service. Alert rules order steps through order() (the
// module offers the service with ModuleContext::provide).

#include <map>
#include <memory>
#include <string>

#include "net/http/http_client.hpp"
#include "ops/autoscale/autoscale_config.hpp"
#include "ops/autoscale/autoscale_policy.hpp"
#include "redis/redis_lease.hpp"
#include "services/discovery/service_registry.hpp"
#include "services/service.hpp"

namespace redge {

class AutoscaleService final : public Service {
 public:
  AutoscaleService(ModuleContext& context, const AutoscaleOptions& options);
  void start() override;
  void close(std::function<void()> done) override;

  // An order from an alert rule's action (scale_out:<service> is +1,
  // scale_in:<service> -1), within min and max. Only the instance holding
  // the lease carries it out, so a rule firing on every instance scales
  // once. Returns "started", or why not ("skipped: …", "refused: …").
  std::string order(const std::string& service, int delta, const std::string& why);

 private:
  struct Scaled {
    std::string name;
    AutoscaleServiceOptions options;
    AutoscalePolicy policy;
    AutoscaleDecision last{};
    bool decided = false;
    bool busy = false;  // an action in flight
    double last_total = 0;
    int64_t last_total_ms = 0;
    bool have_total = false;
    std::string last_action{};  // JSON object of the last action, or empty
    int64_t logged_desired = -1;
    // metric=cpu: the mean of what the instances reported at the last read
    // (one read in flight at a time; a decision uses the latest answer).
    double cpu_mean = 0;
    size_t cpu_reported = 0;
    bool cpu_read_in_flight = false;
  };

  // One step under way: its direction ("out" | "in"), the counts, and for
  // a scale-in the instance destroyed and its work in flight.
  struct Step {
    const char* direction;
    int64_t from;
    int64_t to;
    std::string instance;
    int64_t inflight;
  };

  void onTick();
  void decide(Scaled& s);
  double poolTotal(const Scaled& s, std::string_view metric) const;
  void readCpu(Scaled& s);
  void scaleOut(Scaled& s, int64_t count);
  void scaleIn(Scaled& s);
  void finishStep(Scaled& s, const Step& step, bool ok, int status, const std::string& answer);
  void post(const std::string& target, std::string body,
            std::function<void(int status, const std::string& body)> done);
  void onStatus(const HttpResponder& responder);

  ModuleContext& context_;
  Runtime& runtime_;
  AutoscaleOptions options_;
  ServiceRegistry* registry_ = nullptr;
  std::string holder_;  // this instance's name in the lease
  RedisLease lease_;
  bool leader_ = false;
  TimerPtr timer_;
  std::unique_ptr<HttpClientPool> admin_;  // this instance's own admin API
  std::map<std::string, std::unique_ptr<Scaled>> services_;
  Counter* actions_out_ = nullptr;
  Counter* actions_in_ = nullptr;
  Counter* failures_ = nullptr;
  Gauge* leader_gauge_ = nullptr;
  bool closed_ = false;
};

}  // namespace redge
