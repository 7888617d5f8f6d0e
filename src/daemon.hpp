#pragma once
// The process around the modules: one loop and its Runtime, the shared Redis
// client, the services and listeners the modules create, and the signals.
// It knows no module by name: it runs whatever the module list holds.
// Under systemd it reports readiness, status and watchdog pings
// (ops/systemd/systemd_notifier.hpp), and SIGHUP reloads the configuration.

#include <vector>

#include "core/config.hpp"
#include "ops/workers/worker_group.hpp"
#include "redis/redis_url.hpp"
#include "services/service.hpp"

namespace redge {

// Where the configuration came from, read again on SIGHUP: the same file,
// environment and command line, checked as --check-config checks them.
struct ConfigSources {
  const ConfigSchema& schema;
  const CommandLine& command_line;
};

// Runs until SIGTERM/SIGINT and the drain that follows. Returns the exit
// status: 0 after a clean stop; 1 if a listener could not listen, or if any
// handle was left open when the loop ended (a leak that a test must see).
// `worker` is set when this process is one worker of a group
// (server.workers > 1, ops/workers/worker_master.hpp): it then reports to
// the master through its shared slot and answers /metrics for the group.
int runDaemon(const Config& config, const RedisUrl& redis_url, const std::vector<Module>& modules,
              const ConfigSources& sources, const WorkerIdentity* worker = nullptr);

}  // namespace redge
