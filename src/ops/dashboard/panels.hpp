#pragma once
// The dashboard's built-in panels. Each reads only public APIs (the metrics
// registry, the FlagStore snapshot, the ServiceRegistry view, the alert
// engine's rules) and adds itself with StatusPanels::addPanel; the admin
// module adds the ones it can reach, the alerts module its own.
//
// Rates, ratios and quantiles are computed between snapshots (SampleWindow):
// a request rate over the last tick, error ratios and p99 over the last
// kWindowMs, as an operator reads a short graph.

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "services/status_panels.hpp"

namespace redge {

class FlagStore;
class ServiceRegistry;
class AlertEngine;
class RedisClient;

// Samples of a few running totals over a sliding window, for rates.
class SampleWindow {
 public:
  struct Sample {
    int64_t ms = 0;
    std::vector<double> values;
  };
  explicit SampleWindow(int64_t window_ms) : window_ms_(window_ms) {}
  void push(int64_t now_ms, std::vector<double> values);
  // The newest sample at least window_ms older than the latest (or the
  // oldest kept); null with fewer than two samples.
  const Sample* start() const { return samples_.size() < 2 ? nullptr : &samples_.front(); }
  // The sample before the latest; null with fewer than two.
  const Sample* previous() const {
    return samples_.size() < 2 ? nullptr : &samples_[samples_.size() - 2];
  }
  const Sample* latest() const { return samples_.empty() ? nullptr : &samples_.back(); }

 private:
  int64_t window_ms_;
  std::deque<Sample> samples_;
};

// The q-quantile of a histogram's observations given cumulative bucket
// counts (`cumulative[i]` for bounds[i], the last for +Inf), interpolated
// within the bucket as Prometheus's histogram_quantile does; NaN when there
// are none.
double histogramQuantile(double q, const std::vector<double>& bounds,
                         const std::vector<double>& cumulative);

inline constexpr int64_t kWindowMs = 10000;
// Lists a panel shows at most (flags, instances, alerts): the snapshot
// stays small whatever the fleet.
inline constexpr size_t kMaxPanelItems = 100;

// "process": version, pid, uptime, CPU share of one core, RSS, open fds,
// Redis connected.
void addProcessPanel(StatusPanels& panels, MetricsRegistry& metrics, const Clock& clock,
                     const RedisClient& redis);
// "services": per listener (app, admin, cacheproxy, gateway, ...): request
// rate, 5xx ratio and p99 latency, from redge_http_requests_total and
// redge_http_request_duration_seconds.
void addTrafficPanel(StatusPanels& panels, const MetricsRegistry& metrics, const Clock& clock);
// "cache": the cache proxy's hit ratio, entries and bytes (null while the
// cache proxy is not running).
void addCachePanel(StatusPanels& panels, const MetricsRegistry& metrics, const Clock& clock);
// "relay": queue depth, in flight, gate (accepting or not), breaker state,
// messages sent and failed (null while the relay is not running).
void addRelayPanel(StatusPanels& panels, const MetricsRegistry& metrics);
// "flags": every flag (up to kMaxPanelItems); "canary": the flags named
// canary.<pool>, whose variants' weights split a pool's traffic.
void addFlagPanels(StatusPanels& panels, const FlagStore& store);
// "instances": the registry's view, with the gateway's health when it has
// one.
void addInstancesPanel(StatusPanels& panels, const ServiceRegistry& registry);
// "alerts": the rules that are pending or firing, with their alerts.
void addAlertsPanel(StatusPanels& panels, const AlertEngine& engine);

}  // namespace redge
