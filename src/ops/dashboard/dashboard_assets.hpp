#pragma once
// The dashboard's files (src/ops/dashboard/assets/), compiled into the
// binary by the build (embed_assets.cmake): the page works offline and
// needs nothing beside redge.

#include <string_view>
#include <vector>

namespace redge {

struct DashboardAsset {
  std::string_view name;  // "dashboard.html", "dashboard.js", ...
  std::string_view text;
};

const std::vector<DashboardAsset>& dashboardAssets();

}  // namespace redge
