#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace redge_test {

// The optional services a run switches on. Off by default, so a test that
// does not ask for one sees only app and admin, as before they existed.
struct RedgeServices {
  // The cache proxy, its HTTP and RESP listeners both on port 0.
  bool cache_proxy = false;
  // Arguments placed before the --set list (e.g. {"--config", path}).
  std::vector<std::string> args = {};
};

// The real redge binary, started the way an operator would start it but on
// ports the kernel picks: app, admin and gateway on port 0, the services the tests do
// not cover switched off (unless `services` asks for them). The bound ports
// are read back from the `event=listening` log lines. The destructor stops
// the process.
class RedgeProcess {
 public:
  // settings: extra "path=value" pairs, each passed as --set; they come after
  // the defaults above, so a test can override any of them. env: extra
  // "KEY=VALUE" entries on top of a cleaned copy of the test's environment.
  // Throws (with redge's log) if redge exits or does not listen within 10 s.
  RedgeProcess(const TempDir& dir, const RedisServer& redis, std::vector<std::string> settings = {},
               std::vector<std::string> env = {}, RedgeServices services = {});
  RedgeProcess(const TempDir& dir, const std::string& redis_url,
               std::vector<std::string> settings = {}, std::vector<std::string> env = {},
               RedgeServices services = {});
  // Stops redge if it still runs and fails the running test unless it then
  // exits 0 with no handle left open: a leak on the shutdown path is a bug
  // every test can catch, not only the ones that look.
  ~RedgeProcess();
  RedgeProcess(const RedgeProcess&) = delete;
  RedgeProcess& operator=(const RedgeProcess&) = delete;

  int appPort() const { return app_port_; }
  int adminPort() const { return admin_port_; }
  std::string appUrl(const std::string& target = "/") const;
  std::string adminUrl(const std::string& target = "/") const;
  // The cache proxy's listeners; 0 unless RedgeServices::cache_proxy.
  int cacheHttpPort() const { return cache_http_port_; }
  int cacheRespPort() const { return cache_resp_port_; }
  std::string cacheUrl(const std::string& target = "/") const;
  // The gateway's listener; 0 unless the settings enable it
  // ("gateway.enabled=true").
  int gatewayPort() const { return gateway_port_; }
  std::string gatewayUrl(const std::string& target = "/") const;

  // Polls admin /readyz until it answers 200 (Redis connected); throws with
  // the log at the deadline. Listening comes before the first Redis
  // connection, so a test that needs Redis waits here first.
  void waitUntilReady(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  // Everything redge has written to stderr so far.
  std::string logText() const;
  // Polls the log until it contains `needle`; false at the deadline.
  bool waitForLog(const std::string& needle, std::chrono::milliseconds timeout) const;

  pid_t pid() const { return process_.pid(); }
  bool running() { return process_.running(); }
  void signal(int signum) { process_.signal(signum); }
  std::optional<int> waitForExit(std::chrono::milliseconds timeout) {
    return process_.waitForExit(timeout);
  }
  // SIGTERM, SIGKILL after the grace period; returns the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
    return process_.stop(grace);
  }
  int kill9() { return process_.kill9(); }

 private:
  void waitUntilListening(bool want_app, bool want_admin, bool want_cache, bool want_gateway);

  std::string stderr_path_;
  std::string stdout_path_;
  int app_port_ = 0;
  int admin_port_ = 0;
  int cache_http_port_ = 0;
  int cache_resp_port_ = 0;
  int gateway_port_ = 0;
  ChildProcess process_;
};

// The outcome of a redge run that is expected to end by itself (--help,
// --check-config, a bad configuration).
struct RedgeRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs redge with exactly `args` (after the binary) and the cleaned
// environment plus `env`; kills it after `timeout`.
RedgeRun runRedge(const TempDir& dir, const std::vector<std::string>& args,
                  const std::vector<std::string>& env = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace redge_test
