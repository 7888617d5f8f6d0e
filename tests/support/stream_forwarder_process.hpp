#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace redge_test {

// What GET /stats of stream_forwarder says: exchanges alive, upstream
// connections open and idle, and exchanges started on a kept-alive upstream
// connection (reused) or a new one.
struct ForwarderStats {
  bool valid = false;
  int64_t live = 0;
  int64_t upstream_open = 0;
  int64_t upstream_idle = 0;
  int64_t reused = 0;
  int64_t fresh = 0;
  std::string raw;
};

// build/stream_forwarder (tests/support/stream_forwarder) as a child of one
// test, in front of an upstream port; `flags` are appended
// (--connect-timeout-ms, --response-timeout-ms, --pool-idle-ms, ...). The
// destructor stops it.
class StreamForwarderProcess {
 public:
  // Throws (with the log) if it exits or does not listen within 10 s.
  StreamForwarderProcess(const TempDir& dir, int upstream_port,
                         std::vector<std::string> flags = {});
  StreamForwarderProcess(const StreamForwarderProcess&) = delete;
  StreamForwarderProcess& operator=(const StreamForwarderProcess&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& target) const;
  ForwarderStats stats() const;
  pid_t pid() const { return process_.pid(); }
  std::string logText() const;
  // SIGTERM, then SIGKILL; the exit code (0: nothing left behind).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10)) {
    return process_.stop(grace);
  }

 private:
  std::string stderr_path_;
  int port_ = 0;
  int stats_port_ = 0;
  ChildProcess process_;
};

}  // namespace redge_test
