// The admin module: its section (admin.*), the admin token read at start,
// and the loopback listener for /metrics, /healthz, /readyz and the
// dashboard. It is created before discovery, alerts, gateway, cache proxy
// and relay, which find its StatusPanels (context.find<StatusPanels>()).

#include "ops/admin_service.hpp"

namespace redge {
namespace {

using namespace config_limits;

std::optional<ConfigError> checkToken(const Config& config, const ConfigSchema&) {
  const AdminOptions& o = config.module<AdminOptions>();
  if (!o.token.empty() && !o.token_file.empty()) {
    return ConfigError{"admin.token_file", "set admin.token or admin.token_file, not both"};
  }
  if (o.token.find_first_of(" \t") != std::string::npos) {
    return ConfigError{"admin.token", "the token must not contain spaces or tabs"};
  }
  return std::nullopt;
}

void declareKeys(ConfigSchema& schema) {
  schema.moduleSection<AdminOptions>("admin")
      .boolKey(REDGE_FIELD(AdminOptions, enabled), "serve health, metrics and admin endpoints")
      .stringKey(REDGE_FIELD(AdminOptions, bind), "address the admin listener uses",
                 checkBindAddress)
      .intKey(REDGE_FIELD(AdminOptions, port), 0, kMaxPort, "admin port (0: any free port)")
      .port()
      .stringKey(REDGE_FIELD(AdminOptions, token),
                 "bearer token every admin request but GET, HEAD and OPTIONS must carry "
                 "(Authorization: Bearer <token>); empty: none needed")
      .stringKey(REDGE_FIELD(AdminOptions, token_file),
                 "file whose first line is the admin token, read at start (a systemd "
                 "credential: $CREDENTIALS_DIRECTORY/admin-token); instead of admin.token")
      .intKey(REDGE_FIELD(AdminOptions, events_interval_ms), 100, 60000,
              "how often /events pushes the dashboard's snapshot");
  schema.addRule(&checkToken);
}

// The file is read here, when redge starts (not by --check-config), into a
// field that is not a key, so the token is never printed with the
// configuration.
std::optional<ConfigError> prepare(Config& config) {
  AdminOptions& o = config.module<AdminOptions>();
  if (!o.token_file.empty()) {
    if (auto error = readTokenFile(o.token_file, o.effective_token)) {
      return ConfigError{"admin.token_file", *error};
    }
  } else {
    o.effective_token = o.token;
  }
  if (o.effective_token.find_first_of(" \t") != std::string::npos) {
    return ConfigError{"admin.token_file", "the token must not contain spaces or tabs"};
  }
  return std::nullopt;
}

std::unique_ptr<Service> create(ModuleContext& context) {
  const AdminOptions& options = context.config().module<AdminOptions>();
  HttpServer& server =
      context.addHttpServer(context.httpServerOptions("admin", options.bind, options.port));
  return std::make_unique<AdminService>(context, server, options);
}

}  // namespace

Module adminModule() {
  return {"admin", &declareKeys, [](const Config& c) { return c.module<AdminOptions>().enabled; },
          &prepare, &create};
}

}  // namespace redge
