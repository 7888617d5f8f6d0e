// The dashboard's snapshot: every panel writes its member, in the order the
// panels were added; a panel that leaves its value unfinished (a bug) is
// replaced by null rather than breaking the page's JSON.

#include "ops/dashboard/dashboard.hpp"

#include <cmath>
#include <cstdio>

namespace redge {

void Dashboard::addPanel(std::string name, PanelWriter writer) {
  for (auto& [n, w] : panels_) {
    if (n == name) {
      w = std::move(writer);
      return;
    }
  }
  panels_.emplace_back(std::move(name), std::move(writer));
}

void Dashboard::render(std::string& out, uint64_t seq, int64_t wall_ms) const {
  JsonWriter w(out);
  w.startObject();
  w.key("seq").integer(static_cast<int64_t>(seq));
  w.key("t").integer(wall_ms);
  for (const auto& [name, writer] : panels_) {
    w.key(name);
    std::string value;
    JsonWriter pw(value);
    writer(pw);
    if (pw.complete()) {
      w.rawValue(value);
    } else {
      w.null();
    }
  }
  w.endObject();
}

void writeJsonNumber(JsonWriter& out, double value) {
  if (!std::isfinite(value)) {
    out.null();
    return;
  }
  if (value == std::floor(value) && std::fabs(value) < 9e15) {
    out.integer(static_cast<int64_t>(value));
    return;
  }
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.6g", value);
  out.rawValue(std::string_view(buf, static_cast<size_t>(n)));
}

}  // namespace redge
