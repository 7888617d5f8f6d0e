// RedgeProcess: starts build/redge against a test's own redis-server and
// learns its ports from the log, so no test ever depends on a fixed port.

#include "support/redge_process.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <exception>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"

#ifndef REDGE_BINARY
#error "REDGE_BINARY must name the redge executable"
#endif

namespace redge_test {
namespace {

// Each run gets its own log files, so a test may start redge more than once.
std::atomic<int> run_counter{0};

// The port of the `event=listening service=<service>` line, or 0. A service
// may listen twice, over HTTP and over RESP; the RESP line carries
// `protocol=resp` right after the service, the HTTP line no protocol field.
// A worker of a group (server.workers > 1) puts `worker=N` after the event.
int listeningPort(const std::string& log, const std::string& service, bool resp = false) {
  const std::string event = "event=listening ";
  const std::string field = "service=" + service + " ";
  size_t at = 0;
  while ((at = log.find(event, at)) != std::string::npos) {
    size_t line_end = log.find('\n', at);
    if (line_end == std::string::npos) return 0;  // the line is still being written
    size_t fields = at + event.size();
    if (log.compare(fields, 7, "worker=") == 0) fields = log.find(' ', fields) + 1;
    if (log.compare(fields, field.size(), field) != 0) {
      at = line_end;
      continue;
    }
    bool is_resp = log.compare(fields + field.size(), 14, "protocol=resp ") == 0;
    size_t port_at = log.find(" port=", at);
    if (is_resp == resp && port_at != std::string::npos && port_at < line_end) {
      return std::atoi(log.c_str() + port_at + 6);
    }
    at = line_end;
  }
  return 0;
}

bool settingDisables(const std::vector<std::string>& settings, const std::string& service) {
  bool enabled = true;
  for (const auto& s : settings) {
    if (s == service + ".enabled=false") enabled = false;
    if (s == service + ".enabled=true") enabled = true;
  }
  return !enabled;
}

}  // namespace

RedgeProcess::~RedgeProcess() {
  if (!process_.running()) return;  // the test stopped or killed it and judged the exit itself
  int code = process_.stop();
  // Not while an exception unwinds the test: its own failure is the story.
  if (std::uncaught_exceptions() > 0) return;
  std::string log = logText();
  INFO("redge's log:\n" << log);
  INFO(process_.stuckReport());
  CHECK(code == 0);
  CHECK(log.find("event=loop_not_empty") == std::string::npos);
}

RedgeProcess::RedgeProcess(const TempDir& dir, const RedisServer& redis,
                           std::vector<std::string> settings, std::vector<std::string> env,
                           RedgeServices services)
    : RedgeProcess(dir, redis.url(), std::move(settings), std::move(env), services) {}

RedgeProcess::RedgeProcess(const TempDir& dir, const std::string& redis_url,
                           std::vector<std::string> settings, std::vector<std::string> env,
                           RedgeServices services) {
  int n = ++run_counter;
  stderr_path_ = dir.file("redge-" + std::to_string(n) + ".err");
  stdout_path_ = dir.file("redge-" + std::to_string(n) + ".out");
  ChildSpec spec;
  spec.argv = {REDGE_BINARY, "--redis", redis_url};
  spec.argv.insert(spec.argv.end(), services.args.begin(), services.args.end());
  std::vector<std::string> all = {"app.port=0", "admin.port=0", "relay.enabled=false",
                                  "gateway.port=0"};
  if (services.cache_proxy) {
    all.insert(all.end(),
               {"cacheproxy.enabled=true", "cacheproxy.http_port=0", "cacheproxy.resp_port=0"});
  } else {
    all.push_back("cacheproxy.enabled=false");
  }
  all.insert(all.end(), settings.begin(), settings.end());
  for (const auto& s : all) {
    spec.argv.push_back("--set");
    spec.argv.push_back(s);
  }
  spec.env = cleanEnvironment();
  spec.env.insert(spec.env.end(), env.begin(), env.end());
  spec.stdout_path = stdout_path_;
  spec.stderr_path = stderr_path_;
  process_.start(spec);
  bool gateway = false;
  for (const auto& s : all) {
    if (s == "gateway.enabled=true") gateway = true;
    if (s == "gateway.enabled=false") gateway = false;
  }
  waitUntilListening(!settingDisables(all, "app"), !settingDisables(all, "admin"),
                     !settingDisables(all, "cacheproxy"), gateway);
}

void RedgeProcess::waitUntilListening(bool want_app, bool want_admin, bool want_cache,
                                      bool want_gateway) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    std::string log = logText();
    if (want_app && app_port_ == 0) app_port_ = listeningPort(log, "app");
    if (want_admin && admin_port_ == 0) admin_port_ = listeningPort(log, "admin");
    if (want_cache && cache_http_port_ == 0) cache_http_port_ = listeningPort(log, "cacheproxy");
    if (want_cache && cache_resp_port_ == 0) {
      cache_resp_port_ = listeningPort(log, "cacheproxy", true);
    }
    if (want_gateway && gateway_port_ == 0) gateway_port_ = listeningPort(log, "gateway");
    if ((!want_app || app_port_ != 0) && (!want_admin || admin_port_ != 0) &&
        (!want_cache || (cache_http_port_ != 0 && cache_resp_port_ != 0)) &&
        (!want_gateway || gateway_port_ != 0)) {
      return;
    }
    if (!process_.running()) {
      throw std::runtime_error("redge exited with code " +
                               std::to_string(process_.exitCode().value_or(-1)) +
                               " before listening; log:\n" + logText());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      process_.kill9();
      throw std::runtime_error("redge did not log event=listening within 10 s; log:\n" + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string RedgeProcess::appUrl(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(app_port_) + target;
}

std::string RedgeProcess::adminUrl(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(admin_port_) + target;
}

std::string RedgeProcess::gatewayUrl(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(gateway_port_) + target;
}

std::string RedgeProcess::cacheUrl(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(cache_http_port_) + target;
}

void RedgeProcess::waitUntilReady(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    HttpReply r = httpGet(adminUrl("/readyz"), {}, std::chrono::milliseconds(1000));
    if (r.status == 200) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw std::runtime_error("redge was not ready (/readyz " + std::to_string(r.status) +
                               ") in time; log:\n" + logText());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string RedgeProcess::logText() const {
  return readFile(stderr_path_) + readFile(stdout_path_);
}

bool RedgeProcess::waitForLog(const std::string& needle, std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (logText().find(needle) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

RedgeRun runRedge(const TempDir& dir, const std::vector<std::string>& args,
                  const std::vector<std::string>& env, std::chrono::milliseconds timeout) {
  int n = ++run_counter;
  ChildSpec spec;
  spec.argv = {REDGE_BINARY};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.env = cleanEnvironment();
  spec.env.insert(spec.env.end(), env.begin(), env.end());
  spec.stdout_path = dir.file("run-" + std::to_string(n) + ".out");
  spec.stderr_path = dir.file("run-" + std::to_string(n) + ".err");
  RedgeRun run;
  run.exit_code = runToExit(spec, timeout);
  run.out = readFile(spec.stdout_path);
  run.err = readFile(spec.stderr_path);
  return run;
}

}  // namespace redge_test
