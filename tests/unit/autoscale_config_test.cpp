// The autoscale section's cross-module rules: it needs the registry
// (discovery on, with a spawn command) and the admin listener, a service to
// scale, and min <= max; each mistake names its key.

#include <catch2/catch.hpp>
#include <string>

#include "modules.hpp"

namespace redge {
namespace {

std::string autoscaleConfigError(const std::string& json) {
  Config config = configSchema().defaults();
  if (auto e = configSchema().applyJson(json, config)) return e->path + ": " + e->reason;
  if (auto e = configSchema().validate(config)) return e->path + ": " + e->reason;
  return "ok";
}

}  // namespace

TEST_CASE("autoscale config: what it needs is named", "[autoscale][config]") {
  const std::string discovery =
      R"("discovery": {"enabled": true, "spawn_command": ["/bin/true", "{id}"]})";
  CHECK(autoscaleConfigError(
            R"({)" + discovery +
            R"(, "autoscale": {"enabled": true, "services": {"web": {"target": 50}}}})") == "ok");
  CHECK(autoscaleConfigError(R"({"autoscale": {"enabled": true, "services": {"web": {}}}})") ==
        "autoscale.enabled: needs discovery.enabled=true (instances are counted in the registry)");
  CHECK(autoscaleConfigError(R"({"discovery": {"enabled": true}, "autoscale": {"enabled": true,
      "services": {"web": {}}}})") ==
        "autoscale.enabled: needs discovery.spawn_command (how a new instance is started)");
  CHECK(autoscaleConfigError(R"({)" + discovery + R"(, "autoscale": {"enabled": true}})") ==
        "autoscale.services: autoscale is enabled but names no service");
  CHECK(autoscaleConfigError(
            R"({)" + discovery +
            R"(, "autoscale": {"enabled": true, "services": {"web": {"min": 4, "max": 2}}}})") ==
        "autoscale.services.web.min: must be at most autoscale.services.web.max (2)");
  CHECK(autoscaleConfigError(R"({)" + discovery + R"(, "admin": {"enabled": false},
      "autoscale": {"enabled": true, "services": {"web": {}}}})") ==
        "autoscale.enabled: needs admin.enabled=true (spawn and destroy are admin routes)");
}

}  // namespace redge
