// The app module: its section (app.*) and its listener with the routes.

#include "services/app/app_service.hpp"

namespace redge {
namespace {

using namespace config_limits;

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
              "largest image upload accepted");
}

std::unique_ptr<Service> create(ModuleContext& context) {
  AppOptions options = context.config().module<AppOptions>();
  options.key_prefix = context.config().redis.key_prefix;
  HttpServer& server =
      context.addHttpServer(context.httpServerOptions("app", options.bind, options.port));
  return std::make_unique<AppService>(context.runtime(), server, context.redis(), options);
}

}  // namespace

Module appModule() {
  return {"app", &declareKeys, [](const Config& c) { return c.module<AppOptions>().enabled; },
          nullptr, &create};
}

}  // namespace redge
