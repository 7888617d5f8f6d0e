// The admin module: its section (admin.*) and the loopback listener for
// /metrics, /healthz and /readyz.

#include "ops/admin_service.hpp"

namespace redge {
namespace {

using namespace config_limits;

void declareKeys(ConfigSchema& schema) {
  schema.moduleSection<AdminOptions>("admin")
      .boolKey(REDGE_FIELD(AdminOptions, enabled), "serve health, metrics and admin endpoints")
      .stringKey(REDGE_FIELD(AdminOptions, bind), "address the admin listener uses",
                 checkBindAddress)
      .intKey(REDGE_FIELD(AdminOptions, port), 0, kMaxPort, "admin port (0: any free port)")
      .port();
}

std::unique_ptr<Service> create(ModuleContext& context) {
  const AdminOptions& options = context.config().module<AdminOptions>();
  HttpServer& server =
      context.addHttpServer(context.httpServerOptions("admin", options.bind, options.port));
  return std::make_unique<AdminService>(server, context.runtime().metrics, context.redis(),
                                        context.find<WorkerGroup>());
}

}  // namespace

Module adminModule() {
  return {"admin", &declareKeys, [](const Config& c) { return c.module<AdminOptions>().enabled; },
          nullptr, &create};
}

}  // namespace redge
