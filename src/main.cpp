// redge: the command line, the configuration, and the daemon over the module
// list (src/modules.cpp), run in this process or, with server.workers > 1,
// in worker processes under a master (ops/workers/worker_master.hpp). Exit
// status 2 means a configuration error.

#include <signal.h>

#include <cstdio>

#include "core/config.hpp"
#include "core/log.hpp"
#include "daemon.hpp"
#include "modules.hpp"
#include "net/resolve_host.hpp"
#include "ops/flags_cli.hpp"
#include "ops/workers/worker_master.hpp"
#include "redis/redis_url.hpp"

namespace {

int configError(const redge::ConfigError& e) {
  std::fprintf(stderr, "config error: %s: %s\n", e.path.c_str(), e.reason.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace redge;
  CommandLine cmd;
  if (auto err = parseCommandLine(argc, argv, cmd)) return configError(*err);
  const ConfigSchema& schema = configSchema();
  if (cmd.help) return std::fputs(usageText(schema).c_str(), stdout) < 0;
  if (cmd.version) return std::printf("redge %s\n", REDGE_VERSION) < 0;
  Config config;
  if (auto err = loadConfig(schema, cmd, processEnvironment(), config)) return configError(*err);
  RedisUrl url;
  std::string url_error = parseRedisUrl(config.redis.url, url);
  if (!url_error.empty()) return configError({"redis.url", url_error});
  if (cmd.check_config) return std::printf("%s\n", schema.toJson(config).c_str()) < 0;
  if (!cmd.command.empty()) return runFlagsCommand(config, url, cmd.command);
  LogLevel level = LogLevel::Info;
  parseLogLevel(config.log.level, level);
  Log::setLevel(level);
  if (!url.unix_socket && !resolveHost(url.host)) {
    return configError({"redis.url", "cannot resolve host '" + url.host + "'"});
  }
  for (const Module& m : modules()) {
    if (!m.prepare || !m.enabled(config)) continue;
    if (auto err = m.prepare(config)) return configError(*err);
  }
  signal(SIGPIPE, SIG_IGN);
  ConfigSources sources{schema, cmd};
  int workers = workerCount(config.server);
  if (workers <= 1) return runDaemon(config, url, modules(), sources);
  // More than one: this process becomes the master and forks the workers,
  // after the configuration is checked and before any loop, Redis
  // connection or thread exists; each worker runs the daemon as above.
  WorkerMasterOptions options;
  options.workers = workers;
  options.pin = config.server.pin_workers;
  options.drain_timeout_ms = config.server.drain_timeout_ms;
  return runWorkerMaster(options, [&](const WorkerIdentity& identity) {
    return runDaemon(config, url, modules(), sources, &identity);
  });
}
