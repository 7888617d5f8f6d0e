#pragma once
// The autoscale section (autoscale.*): how often the fleet's autoscaler
// decides, the Redis lease that makes one instance the one that acts, and
// per service its bounds, metric, target and the HPA's windows and limits.

#include <cstdint>
#include <map>
#include <string>

namespace redge {

struct AutoscaleServiceOptions {
  std::string pool;  // the gateway pool its instances serve in; empty: the service's name
  // Per instance: "requests_per_second" | "inflight" (the gateway's counts)
  // | "cpu" (percent of one core, as each instance's heartbeat reports it).
  std::string metric = "requests_per_second";
  double target = 100;
  int64_t min = 1;
  int64_t max = 10;
  double tolerance = 0.1;
  int64_t scale_up_stabilization_ms = 0;
  int64_t scale_down_stabilization_ms = 300000;
  int64_t max_scale_up_step = 4;
  int64_t max_scale_down_step = 1;
  int64_t step_period_ms = 15000;
  int64_t cooldown_ms = 0;
};

struct AutoscaleOptions {
  bool enabled = false;
  int64_t interval_ms = 1000;
  int64_t lease_ms = 5000;  // the acting instance's hold; another takes over after it lapses
  std::map<std::string, AutoscaleServiceOptions> services;
};

}  // namespace redge
