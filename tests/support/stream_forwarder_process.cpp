// StreamForwarderProcess: starts build/stream_forwarder for one test, learns
// its two ports from the log, and reads its /stats.

#include "support/stream_forwarder_process.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "support/http_client.hpp"
#include "support/json_fields.hpp"

#ifndef STREAM_FORWARDER_BINARY
#error "STREAM_FORWARDER_BINARY must name the stream_forwarder executable"
#endif

namespace redge_test {
namespace {

std::atomic<int> run_counter{0};

int portOf(const std::string& log, const std::string& service) {
  std::string marker = "event=listening service=" + service + " ";
  size_t at = log.find(marker);
  if (at == std::string::npos) return 0;
  size_t line_end = log.find('\n', at);
  if (line_end == std::string::npos) return 0;
  size_t port_at = log.find(" port=", at);
  if (port_at == std::string::npos || port_at > line_end) return 0;
  return std::atoi(log.c_str() + port_at + 6);
}

}  // namespace

StreamForwarderProcess::StreamForwarderProcess(const TempDir& dir, int upstream_port,
                                               std::vector<std::string> flags) {
  int n = ++run_counter;
  stderr_path_ = dir.file("stream_forwarder-" + std::to_string(n) + ".err");
  ChildSpec spec;
  spec.argv = {STREAM_FORWARDER_BINARY, "--upstream-port", std::to_string(upstream_port)};
  spec.argv.insert(spec.argv.end(), flags.begin(), flags.end());
  spec.env = cleanEnvironment();
  spec.stdout_path = dir.file("stream_forwarder-" + std::to_string(n) + ".out");
  spec.stderr_path = stderr_path_;
  process_.start(spec);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (port_ == 0 || stats_port_ == 0) {
    std::string log = logText();
    port_ = portOf(log, "stream_forwarder");
    stats_port_ = portOf(log, "stream_forwarder_stats");
    if (port_ != 0 && stats_port_ != 0) break;
    if (!process_.running()) {
      throw std::runtime_error("stream_forwarder exited before listening; log:\n" + log);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      process_.kill9();
      throw std::runtime_error("stream_forwarder did not listen within 10 s; log:\n" + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string StreamForwarderProcess::url(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(port_) + target;
}

ForwarderStats StreamForwarderProcess::stats() const {
  ForwarderStats s;
  HttpReply r = httpGet("http://127.0.0.1:" + std::to_string(stats_port_) + "/stats");
  s.raw = r.body;
  auto live = jsonInt(r.body, "live");
  auto open = jsonInt(r.body, "upstream_open");
  auto idle = jsonInt(r.body, "upstream_idle");
  auto reused = jsonInt(r.body, "reused");
  auto fresh = jsonInt(r.body, "new");
  if (r.status != 200 || !live || !open || !idle || !reused || !fresh) return s;
  s.valid = true;
  s.live = *live;
  s.upstream_open = *open;
  s.upstream_idle = *idle;
  s.reused = *reused;
  s.fresh = *fresh;
  return s;
}

std::string StreamForwarderProcess::logText() const {
  return readFile(stderr_path_);
}

}  // namespace redge_test
