#pragma once
// The active health check's I/O seam: one probe of one member. The health
// checker decides when to probe and what an answer means; a HealthProbe only
// asks. HttpHealthProbe asks over HTTP (GET path on the member); unit tests
// answer by hand.
//
// Contract for implementations:
// - probe() calls `cb` at most once: with the response's status (error None)
//   or with why there is none. It may call it synchronously, inside probe().
// - A probe may be abandoned by the checker (its timeout passed, the member
//   left, the checker stopped): a late callback must still be safe to make,
//   and the checker ignores it.
// - timeout_ms bounds the probe; the checker also keeps its own timeout, so
//   a probe that never calls back still counts as failed on time.

#include <cstdint>
#include <functional>
#include <string_view>

#include "net/http/http_client.hpp"

namespace redge {

using HealthProbeCallback = std::function<void(HttpClientError error, int status)>;

class HealthProbe {
 public:
  virtual ~HealthProbe() = default;
  virtual void probe(uint32_t member, std::string_view path, int64_t timeout_ms,
                     HealthProbeCallback cb) = 0;
};

// What one check came to, as counted and logged.
enum class HealthCheckResult {
  Pass,     // answered with an expected status (200-399 by default)
  Fail,     // answered with another status
  Timeout,  // no answer within timeout_ms
  Error,    // no answer: connect refused, reset, not HTTP, too large
};
constexpr size_t kHealthCheckResults = 4;

// "pass" | "fail" | "timeout" | "error".
std::string_view healthCheckResultName(HealthCheckResult result);

}  // namespace redge
