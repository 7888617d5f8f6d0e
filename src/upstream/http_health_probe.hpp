#pragma once
// The real HealthProbe: GET <path> on the member over HTTP/1.1, through one
// small HttpClientPool per member (at most one kept-alive connection, so a
// probe every interval reuses it). The status goes back as is; the health
// checker decides what passes.
//
// Members are given by address: host must be a literal IPv4 or IPv6 address
// (names are resolved before the loop starts, as everywhere in redge). Each
// member's client counts under redge_http_client_*{client="health/<pool>/<member>"}.
//
// Lifetimes. A probe of an unknown or removed member, or after close(),
// answers Closed at once. Removing a member closes its pool, which answers
// its probe in flight with Closed; the pool is freed once its connections'
// close callbacks have run. close() closes every pool; the probe may be
// destroyed once closed() is true (run the loop until then).

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "net/http/http_client.hpp"
#include "upstream/health_probe.hpp"

namespace redge {

class HttpHealthProbe final : public HealthProbe {
 public:
  HttpHealthProbe(uv_loop_t* loop, MetricsRegistry& metrics, std::string pool);
  ~HttpHealthProbe() override;
  HttpHealthProbe(const HttpHealthProbe&) = delete;
  HttpHealthProbe& operator=(const HttpHealthProbe&) = delete;

  // `authority` is the Host header (host:port when empty). False if the
  // index is taken or the probe is closed.
  bool addMember(uint32_t member, const std::string& name, const std::string& host, int port,
                 const std::string& authority = {});
  bool removeMember(uint32_t member);

  void probe(uint32_t member, std::string_view path, int64_t timeout_ms,
             HealthProbeCallback cb) override;

  void close();
  // close() was called and every pool's handles are closed.
  bool closed();

  // A health page is small; a larger answer fails the check (too_large).
  static constexpr int64_t kMaxResponseBytes = 64 * 1024;
  // Longer than any sensible interval, so the next probe finds the
  // connection still open.
  static constexpr int64_t kIdleTimeoutMs = 60000;

 private:
  void reapClosing();

  uv_loop_t* loop_;
  MetricsRegistry& metrics_;
  std::string pool_;
  std::vector<std::unique_ptr<HttpClientPool>> clients_;  // by member index
  std::vector<std::unique_ptr<HttpClientPool>> closing_;  // closed, handles still closing
  bool closed_ = false;
};

}  // namespace redge
