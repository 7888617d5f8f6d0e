#pragma once
// The seam through which a module shows its state on the admin dashboard.
// The admin module owns the implementation (ops/dashboard/dashboard.hpp)
// and offers it with ModuleContext::provide<StatusPanels>(); admin is
// created before discovery, alerts, gateway, cache proxy and relay, so any
// of them finds it with context.find<StatusPanels>() and adds a panel in a
// few lines of its *_module.cpp:
//
//   if (StatusPanels* panels = context.find<StatusPanels>()) {
//     panels->addPanel("gateway", [&svc](JsonWriter& w) { svc.writeStatus(w); });
//   }
//
// A panel writes one JSON value (an object, usually) that becomes the member
// `name` of the snapshot the admin event stream pushes once a second; the
// page shows members it knows and lists the others as JSON. A panel is
// called on the loop, only while a dashboard is connected, so it should be
// cheap (read what the module keeps; no Redis command, no file I/O beyond
// /proc) and bounded (cap lists). It must stay valid until the services are
// destroyed; the module that owns it removes nothing.

#include <functional>
#include <string>

#include "core/json_writer.hpp"

namespace redge {

class StatusPanels {
 public:
  using PanelWriter = std::function<void(JsonWriter& out)>;
  virtual ~StatusPanels() = default;
  // Adds (or replaces) the panel `name` ([a-z0-9_]; the snapshot member).
  virtual void addPanel(std::string name, PanelWriter writer) = 0;
};

}  // namespace redge
