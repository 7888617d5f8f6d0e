// The discovery module: its section (discovery.*), the rules across its
// keys, and the service, whose ServiceRegistry it offers the modules
// created after it (context.find<ServiceRegistry>()). Disabled by default.

#include "core/log.hpp"
#include "services/discovery/command_template.hpp"
#include "services/discovery/discovery_config.hpp"
#include "services/discovery/discovery_service.hpp"
#include "services/service.hpp"

namespace redge {
namespace {

using namespace config_limits;

// The heartbeat runs every lease/3: below this it would be a busy loop on
// Redis rather than a lease.
constexpr int64_t kMinLeaseMs = 300;
constexpr int64_t kMaxInstances = 10000;

void declareKeys(ConfigSchema& schema) {
  schema.moduleSection<DiscoveryOptions>("discovery")
      .boolKey(REDGE_FIELD(DiscoveryOptions, enabled),
               "follow the service registry in Redis, register this instance in it, and serve "
               "GET /listservers, POST /spawn and POST /destroy on the admin listener")
      .boolKey(REDGE_FIELD(DiscoveryOptions, register_self),
               "register this instance (false: only follow the registry, as a gateway)")
      .stringKey(REDGE_FIELD(DiscoveryOptions, service), "the service this instance provides",
                 checkServiceName)
      .stringKey(REDGE_FIELD(DiscoveryOptions, id),
                 "this instance's id (empty: <service>-<random hex>, new at every start)",
                 checkInstanceId)
      .stringKey(REDGE_FIELD(DiscoveryOptions, advertise),
                 "host:port others reach this instance at (empty: the app listener's)",
                 checkAdvertise)
      .stringListKey(REDGE_FIELD(DiscoveryOptions, tags), "labels listed with this instance",
                     checkTag)
      .intKey(REDGE_FIELD(DiscoveryOptions, lease_ms), kMinLeaseMs, kMaxDurationMs,
              "how long a registration lives without a heartbeat (heartbeat every lease/3)")
      .stringListKey(REDGE_FIELD(DiscoveryOptions, spawn_command),
                     "argv template POST /spawn runs per instance: {service} {id} {port} {redis}",
                     checkCommandArgument)
      .stringListKey(REDGE_FIELD(DiscoveryOptions, destroy_command),
                     "argv template POST /destroy runs after the stop request: {id} {service} "
                     "{address} {port} {redis}",
                     checkCommandArgument)
      .intKey(REDGE_FIELD(DiscoveryOptions, spawn_timeout_ms), 1, kMaxDurationMs,
              "how long POST /spawn waits for the instances to register (then 504)")
      .intKey(REDGE_FIELD(DiscoveryOptions, max_instances), 1, kMaxInstances,
              "instances of one service (registered plus starting) POST /spawn may reach")
      .enumKey(REDGE_FIELD(DiscoveryOptions, spawn_output), {"inherit", "null"},
               "where spawned commands write: redge's stderr (the journal) or /dev/null");

  schema.addRule([](const Config& c, const ConfigSchema& s) -> std::optional<ConfigError> {
    const DiscoveryOptions& d = c.module<DiscoveryOptions>();
    if (d.spawn_command.empty()) return std::nullopt;
    // The spawner knows an instance is up when its id registers: the id it
    // chose must reach the instance.
    if (!usesPlaceholder(d.spawn_command, "id")) {
      return ConfigError{s.pathOf(c, &d.spawn_command),
                         "must pass {id} to the instance (e.g. \"--set\", "
                         "\"discovery.id={id}\"): POST /spawn waits for that id to register"};
    }
    if (usesPlaceholder(d.spawn_command, "address")) {
      return ConfigError{s.pathOf(c, &d.spawn_command),
                         "{address} is known only to destroy_command; use {port}"};
    }
    return std::nullopt;
  });
}

std::unique_ptr<Service> create(ModuleContext& context) {
  auto service = std::make_unique<DiscoveryService>(context);
  context.provide<ServiceRegistry>(service->registry());
  return service;
}

}  // namespace

Module discoveryModule() {
  return {"discovery", &declareKeys,
          [](const Config& c) { return c.module<DiscoveryOptions>().enabled; }, nullptr, &create};
}

}  // namespace redge
