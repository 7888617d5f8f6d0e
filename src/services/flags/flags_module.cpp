// The flags module: its section (flags.*) and the service, whose FlagStore
// it offers the modules created after it (context.find<FlagStore>()). It is
// first in the module list for that reason. Enabled by default: with no flag
// in Redis it costs one idle subscriber connection.

#include "services/flags/flags_config.hpp"
#include "services/flags/flags_service.hpp"
#include "services/service.hpp"

namespace redge {
namespace {

void declareKeys(ConfigSchema& schema) {
  schema.moduleSection<FlagsOptions>("flags")
      .boolKey(REDGE_FIELD(FlagsOptions, enabled),
               "follow the feature flags in Redis: evaluate them in-process, bind routes to them "
               "(app.flags), serve /flags and OFREP on the admin listener")
      .stringKey(REDGE_FIELD(FlagsOptions, snapshot_path),
                 "file the last flag snapshot is written to after every change and read at "
                 "start, so a start while Redis is down serves the last known flags (empty: none)");
}

std::unique_ptr<Service> create(ModuleContext& context) {
  auto service = std::make_unique<FlagsService>(context);
  context.provide<FlagStore>(service->store());
  return service;
}

}  // namespace

Module flagsModule() {
  return {"flags", &declareKeys, [](const Config& c) { return c.module<FlagsOptions>().enabled; },
          nullptr, &create};
}

}  // namespace redge
