#pragma once
// The one list of modules redge runs, and the configuration table they make.

#include <vector>

#include "core/config.hpp"
#include "services/service.hpp"

namespace redge {

// In order: the order of --check-config and --help, and of creation (a
// module may mount on a listener an earlier one created).
const std::vector<Module>& modules();

// Core's sections and every module's, built once.
const ConfigSchema& configSchema();

}  // namespace redge
