// The autoscale module: its section (autoscale.*, a map of services), the
// rules across modules (it acts through discovery's spawn and destroy on the
// admin listener, so both must be on), and the service. Off by default; it
// comes after the gateway in src/modules.cpp, whose member series it reads.

#include "ops/admin_service.hpp"
#include "ops/autoscale/autoscale_service.hpp"
#include "services/discovery/discovery_config.hpp"
#include "services/discovery/instance_record.hpp"

namespace redge {
namespace {

using namespace config_limits;

constexpr int64_t kMaxInstances = 1000;

void declareKeys(ConfigSchema& schema) {
  auto section = schema.moduleSection<AutoscaleOptions>("autoscale");
  section
      .boolKey(REDGE_FIELD(AutoscaleOptions, enabled),
               "scale registry services between min and max by a metric (one instance of the "
               "fleet acts at a time)")
      .intKey(REDGE_FIELD(AutoscaleOptions, interval_ms), 100, kMaxDurationMs,
              "time between decisions")
      .intKey(REDGE_FIELD(AutoscaleOptions, lease_ms), 500, kMaxDurationMs,
              "how long the acting instance's Redis lease lasts unless renewed");
  section.mapKey(REDGE_FIELD(AutoscaleOptions, services), "services to scale, by registry name")
      .stringKey(REDGE_FIELD(AutoscaleServiceOptions, pool),
                 "the gateway pool its instances serve in (empty: the service's name)")
      .enumKey(REDGE_FIELD(AutoscaleServiceOptions, metric),
               {"requests_per_second", "inflight", "cpu"},
               "per instance: requests the pool's members got per second, requests in flight, "
               "or CPU in percent of one core (each instance's registry heartbeat)")
      .doubleKey(REDGE_FIELD(AutoscaleServiceOptions, target), 0, true, 1e12,
                 "the metric's target per instance")
      .intKey(REDGE_FIELD(AutoscaleServiceOptions, min), 0, kMaxInstances, "fewest instances")
      .intKey(REDGE_FIELD(AutoscaleServiceOptions, max), 1, kMaxInstances, "most instances")
      .doubleKey(REDGE_FIELD(AutoscaleServiceOptions, tolerance), 0, false, 1,
                 "no change while metric ÷ target is within 1 ± this")
      .intKey(REDGE_FIELD(AutoscaleServiceOptions, scale_up_stabilization_ms), 0, kMaxDurationMs,
              "a scale-up takes the lowest recommendation of this window")
      .intKey(REDGE_FIELD(AutoscaleServiceOptions, scale_down_stabilization_ms), 0, kMaxDurationMs,
              "a scale-down takes the highest recommendation of this window")
      .intKey(REDGE_FIELD(AutoscaleServiceOptions, max_scale_up_step), 1, kMaxInstances,
              "instances added per step_period_ms at most")
      .intKey(REDGE_FIELD(AutoscaleServiceOptions, max_scale_down_step), 1, kMaxInstances,
              "instances removed per step_period_ms at most")
      .intKey(REDGE_FIELD(AutoscaleServiceOptions, step_period_ms), 1, kMaxDurationMs,
              "the period the step limits count over")
      .intKey(REDGE_FIELD(AutoscaleServiceOptions, cooldown_ms), 0, kMaxDurationMs,
              "no step sooner than this after the last one");
  schema.addRule([](const Config& c, const ConfigSchema&) -> std::optional<ConfigError> {
    const AutoscaleOptions& a = c.module<AutoscaleOptions>();
    if (!a.enabled) return std::nullopt;
    if (a.services.empty()) {
      return ConfigError{"autoscale.services", "autoscale is enabled but names no service"};
    }
    for (const auto& [name, s] : a.services) {
      const std::string at = "autoscale.services." + name;
      if (auto reason = checkServiceName(name)) return ConfigError{at, *reason};
      if (s.min > s.max) {
        return ConfigError{at + ".min",
                           "must be at most " + at + ".max (" + std::to_string(s.max) + ")"};
      }
    }
    if (c.modules.has<DiscoveryOptions>()) {
      const DiscoveryOptions& d = c.module<DiscoveryOptions>();
      if (!d.enabled) {
        return ConfigError{"autoscale.enabled",
                           "needs discovery.enabled=true (instances are counted in the registry)"};
      }
      if (d.spawn_command.empty()) {
        return ConfigError{"autoscale.enabled",
                           "needs discovery.spawn_command (how a new instance is started)"};
      }
    }
    if (c.modules.has<AdminOptions>() && !c.module<AdminOptions>().enabled) {
      return ConfigError{"autoscale.enabled",
                         "needs admin.enabled=true (spawn and destroy are admin routes)"};
    }
    return std::nullopt;
  });
}

std::unique_ptr<Service> create(ModuleContext& context) {
  auto service =
      std::make_unique<AutoscaleService>(context, context.config().module<AutoscaleOptions>());
  context.provide<AutoscaleService>(*service);
  return service;
}

}  // namespace

Module autoscaleModule() {
  return {"autoscale", &declareKeys,
          [](const Config& c) { return c.module<AutoscaleOptions>().enabled; }, nullptr, &create};
}

}  // namespace redge
