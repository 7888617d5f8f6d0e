#pragma once
// The discovery section (discovery.*): whether this instance registers in
// the service registry and how, and what POST /spawn and POST /destroy run.

#include <cstdint>
#include <string>
#include <vector>

namespace redge {

struct DiscoveryOptions {
  bool enabled = false;
  // Register this instance (false: only follow the registry and serve the
  // admin routes, as a gateway that is no backend itself does).
  bool register_self = true;
  std::string service = "app";
  // This instance's id; empty: <service>-<random hex>, new at every start.
  // POST /spawn passes the id it chose ({id}).
  std::string id;
  // host:port others reach this instance at; empty: the app listener's.
  std::string advertise;
  std::vector<std::string> tags;
  int64_t lease_ms = 5000;
  // argv templates: {service} {id} {port} {redis} (and {address} for destroy).
  std::vector<std::string> spawn_command;
  std::vector<std::string> destroy_command;
  int64_t spawn_timeout_ms = 30000;
  // Instances of one service (registered plus being spawned) POST /spawn
  // may reach.
  int64_t max_instances = 10;
  // Where a spawned command's stdout/stderr go: "inherit" (redge's own
  // stderr: the journal under systemd) or "null".
  std::string spawn_output = "inherit";
};

}  // namespace redge
