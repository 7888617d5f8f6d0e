#pragma once
// The dashboard's snapshot: the panels modules add (StatusPanels), rendered
// into one compact JSON object, {"seq":N,"t":<wall ms>,<panel>:...}, that
// the event stream pushes to every connected page once a second.
//
// Pure: no libuv, no I/O of its own (a panel may read /proc).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "services/status_panels.hpp"

namespace redge {

class Dashboard final : public StatusPanels {
 public:
  void addPanel(std::string name, PanelWriter writer) override;

  // Appends the snapshot to `out`. `wall_ms` is the time the page shows.
  void render(std::string& out, uint64_t seq, int64_t wall_ms) const;
  size_t panelCount() const { return panels_.size(); }

 private:
  std::vector<std::pair<std::string, PanelWriter>> panels_;  // in the order added
};

// A number as JSON: finite values with up to 6 significant digits, null
// otherwise (a ratio of nothing, a quantile of no observations).
void writeJsonNumber(JsonWriter& out, double value);

}  // namespace redge
