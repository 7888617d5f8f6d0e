// The app module: its section (app.*) and its listener with the routes.

#include "flags/flag_route_guard.hpp"
#include "flags/flag_store.hpp"
#include "services/app/app_service.hpp"
#include "services/flags/flags_config.hpp"
#include "services/replica_reads_access.hpp"

namespace redge {
namespace {

using namespace config_limits;

std::optional<std::string> checkBoundFlag(const std::string& name) {
  return checkFlagName(name);
}

void declareKeys(ConfigSchema& schema) {
  schema.moduleSection<AppOptions>("app")
      .boolKey(REDGE_FIELD(AppOptions, enabled),
               "serve the app routes (hello, /set, /get, /recent, /upload, /meow)")
      .stringKey(REDGE_FIELD(AppOptions, bind), "address the application listens on",
                 checkBindAddress)
      .intKey(REDGE_FIELD(AppOptions, port), 0, kMaxPort, "application port (0: any free port)")
      .port()
      .intKey(REDGE_FIELD(AppOptions, message_ttl_s), 1, kMaxTtlS,
              "seconds the /set message lives in Redis")
      .intKey(REDGE_FIELD(AppOptions, recent_size), 1, kMaxCount,
              "how many visited URLs /recent keeps")
      .intKey(REDGE_FIELD(AppOptions, max_images), 1, kMaxCount,
              "images kept; the oldest is dropped beyond this")
      .intKey(REDGE_FIELD(AppOptions, max_upload_bytes), 1, kMaxBytes,
              "largest image upload accepted")
      .stringMapKey(REDGE_FIELD(AppOptions, flags),
                    "route pattern -> feature flag: while the flag is off for a request, the "
                    "route answers 404 feature_disabled (e.g. {\"/set\": \"set_enabled\"})",
                    checkBoundFlag);

  schema.addRule([](const Config& c, const ConfigSchema& s) -> std::optional<ConfigError> {
    const AppOptions& a = c.module<AppOptions>();
    for (const auto& [route, flag] : a.flags) {
      if (route.empty() || route.front() != '/') {
        return ConfigError{s.pathOf(c, &a.flags) + "." + route,
                           "must be a route pattern of the app listener (\"/set\")"};
      }
    }
    if (a.enabled && !a.flags.empty() && !c.module<FlagsOptions>().enabled) {
      return ConfigError{s.pathOf(c, &a.flags),
                         "binds routes to flags, which needs flags.enabled=true"};
    }
    return std::nullopt;
  });
}

std::unique_ptr<Service> create(ModuleContext& context) {
  AppOptions options = context.config().module<AppOptions>();
  options.key_prefix = context.config().redis.key_prefix;
  HttpServer& server =
      context.addHttpServer(context.httpServerOptions("app", options.bind, options.port));
  auto service = std::make_unique<AppService>(context.runtime(), server, context.redis(),
                                              attachReplicaReads(context), options);
  // The flags module comes first, so its store is here when it is enabled
  // (a rule refuses bindings without it). Routes the relay mounts on this
  // listener later are guarded too.
  if (FlagStore* store = context.find<FlagStore>()) {
    for (const auto& [route, flag] : options.flags) {
      server.guardRoute(route, flagRouteGuard(*store, route, flag));
    }
  }
  return service;
}

}  // namespace

Module appModule() {
  return {"app", &declareKeys, [](const Config& c) { return c.module<AppOptions>().enabled; },
          nullptr, &create};
}

}  // namespace redge
