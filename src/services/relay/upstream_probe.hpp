#pragma once
// One TCP connect to the relay's upstream, to learn whether anything listens
// there without sending it a request: the start-up check behind
// event=relay_upstream_unreachable, and the re-probe while that outage lasts.
//
// At most one probe runs at a time. Its callback runs exactly once, from the
// loop (never inside probe()), unless close() came first; after close() no
// callback runs. Each probe has its own uv_tcp_t, allocated per attempt and
// freed in its close callback, because a TCP handle cannot connect twice.
// close() releases the timer, so every handle it had is closing.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "core/runtime.hpp"

namespace redge {

class UpstreamProbe {
 public:
  // status: 0 when the connection was made, else a negative libuv error
  // (UV_ECONNREFUSED, UV_ETIMEDOUT when nothing answered within timeout_ms, ...).
  using Callback = std::function<void(int status)>;

  // host is a literal IPv4 or IPv6 address (main resolves names at start-up).
  UpstreamProbe(Runtime& runtime, std::string host, int port, int64_t timeout_ms);
  UpstreamProbe(const UpstreamProbe&) = delete;
  UpstreamProbe& operator=(const UpstreamProbe&) = delete;

  // Starts a probe; false (and no callback) if one is already running or the
  // probe is closed.
  bool probe(Callback cb);
  bool busy() const { return attempt_ != nullptr; }
  void close();

 private:
  struct Attempt;
  static void onConnectCb(uv_connect_t* req, int status) noexcept;
  static void onAttemptClosedCb(uv_handle_t* handle) noexcept;
  void onTimer();
  void finish(int status);

  uv_loop_t* loop_;
  std::string host_;
  int port_;
  int64_t timeout_ms_;
  TimerPtr timer_;              // the deadline, or a failure reported from the loop
  Attempt* attempt_ = nullptr;  // the running probe; owned until its handle closes
  int pending_status_ = 0;      // a failure found inside probe(), reported from the loop
  Callback cb_;
  bool closed_ = false;
};

}  // namespace redge
