// The module list. Adding a module is its folder and one line here. Flags
// come first: app (and the gateway) find its FlagStore when they are made.

#include "modules.hpp"

// clang-format off
#define REDGE_MODULES(X) \
  X(flags)               \
  X(app)                 \
  X(admin)               \
  X(discovery)           \
  X(alerts)              \
  X(gateway)             \
  X(autoscale)           \
  X(cacheproxy)          \
  X(relay)               \
  X(ticker)
// clang-format on

namespace redge {

#define REDGE_DECLARE_MODULE(name) Module name##Module();
REDGE_MODULES(REDGE_DECLARE_MODULE)
#undef REDGE_DECLARE_MODULE

const std::vector<Module>& modules() {
#define REDGE_LIST_MODULE(name) name##Module(),
  static const std::vector<Module> list = {REDGE_MODULES(REDGE_LIST_MODULE)};
#undef REDGE_LIST_MODULE
  return list;
}

const ConfigSchema& configSchema() {
  static const ConfigSchema schema = buildConfigSchema([](ConfigSchema& s) {
    for (const Module& m : modules()) m.declareKeys(s);
  });
  return schema;
}

}  // namespace redge
