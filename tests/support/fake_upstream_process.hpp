#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/temp_dir.hpp"

namespace redge_test {

// What GET /stats of fake_upstream says (see tests/support/fake_upstream/
// README.md). `valid` is false when the answer was not a 200 JSON object;
// `raw` keeps the body for failure messages.
struct UpstreamStats {
  bool valid = false;
  int64_t requests = 0;
  int64_t ok = 0;
  int64_t errors = 0;
  int64_t unique_delivered = 0;
  int64_t duplicates = 0;
  int64_t unkeyed = 0;  // requests without an Idempotency-Key
  int64_t refused = 0;
  int64_t hung = 0;
  int64_t lost = 0;
  int64_t pending = 0;
  int64_t parked = 0;
  int64_t echoed = 0;         // echo answers asked for (any other path)
  int64_t not_modified = 0;   // echo requests answered 304 (etag= and If-None-Match)
  int64_t health_checks = 0;  // GET /healthz requests
  // 2xx answers per Idempotency-Key; keys never answered 2xx are absent.
  std::map<std::string, int64_t> deliveries;
  // Requests received per Idempotency-Key, whatever their answer.
  std::map<std::string, int64_t> attempts;
  std::string raw;

  int64_t deliveriesOf(const std::string& key) const;
  int64_t attemptsOf(const std::string& key) const;
};

// build/fake_upstream as a child of one test: both listeners on ports the
// kernel picks, read back from its `event=listening` lines, and its control
// listener driven over HTTP. `flags` are appended to
// `--port 0 --control-port 0`, e.g. {"--latency-ms", "300"}. The destructor
// stops it (SIGTERM, then SIGKILL).
class FakeUpstreamProcess {
 public:
  // Throws (with the log) if it exits or does not listen within 10 s.
  explicit FakeUpstreamProcess(const TempDir& dir, std::vector<std::string> flags = {});
  FakeUpstreamProcess(const FakeUpstreamProcess&) = delete;
  FakeUpstreamProcess& operator=(const FakeUpstreamProcess&) = delete;

  int port() const { return port_; }
  int controlPort() const { return control_port_; }
  // The streaming listener's port (started with {"--stream-port", "0"}), or 0.
  int streamPort() const { return stream_port_; }
  std::string streamUrl(const std::string& target) const;
  // GET /stream-stats: the streaming listener's counters ("exchanges",
  // "open", "client_closed", "sink_bytes") as JSON.
  std::string streamStats() const;
  // Where the relay delivers: http://127.0.0.1:<port>/message
  std::string messageUrl() const;
  std::string controlUrl(const std::string& target) const;

  // POST /control with a JSON object of settings; the reply as it came.
  HttpReply control(const std::string& settings_json) const;
  // The same, but throws std::runtime_error unless the answer is 200, so a
  // typo in a setting stops the test where it was made.
  void configure(const std::string& settings_json) const;
  UpstreamStats stats() const;
  // POST /reset: counters cleared, settings kept.
  void reset() const;

  std::string logText() const;
  bool running() { return process_.running(); }
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(5)) {
    return process_.stop(grace);
  }
  // SIGKILL: gone at once, its connections reset by the kernel.
  int kill9() { return process_.kill9(); }

 private:
  std::string stderr_path_;
  std::string stdout_path_;
  int port_ = 0;
  int control_port_ = 0;
  int stream_port_ = 0;
  ChildProcess process_;
};

}  // namespace redge_test
