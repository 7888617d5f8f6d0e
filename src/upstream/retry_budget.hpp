#pragma once
// Whether a failed try may be retried now: a budget that keeps retries from
// multiplying the load on a pool that is already failing (a retry storm).
// A retry is allowed while the retries in flight stay within budget_ratio of
// the active requests, and always up to min_retry_concurrency retries at
// once, so a quiet gateway (3 requests in flight, 20% of which is 0) can
// still retry.
//
// Active requests are the client requests being forwarded now, each counted
// once however many tries it takes; a retry in flight is a request on its
// second (or later) try. So the budget is checked against a stable base:
// retrying does not itself raise the number of retries allowed.
//
// What may be retried at all (a connect failure or a reset before any
// response byte, an idempotent method or an Idempotency-Key, a different
// member) is the gateway's decision; isIdempotentMethod() is the method half.
//
// Pure counting: no clock, no allocation. Single-threaded.

#include <cstdint>
#include <string_view>

namespace redge {

struct RetryBudgetOptions {
  double budget_ratio = 0.2;          // retries in flight / active requests, at most
  int64_t min_retry_concurrency = 3;  // retries in flight always allowed
};

class RetryBudget {
 public:
  // budget_ratio in [0, 1], min_retry_concurrency >= 0 (the config checks).
  explicit RetryBudget(RetryBudgetOptions options = {}) : options_(options) {}

  // A client request started / ended (whatever its outcome).
  void onRequestStarted() { ++active_; }
  void onRequestFinished() {
    if (active_ > 0) --active_;
  }

  // May a retry start now? True counts it as in flight: the caller then
  // calls onRetryFinished() when that try ends. False counts a refusal.
  bool tryStartRetry();
  void onRetryFinished() {
    if (retries_ > 0) --retries_;
  }

  // Retries allowed in flight at once now.
  int64_t limit() const;
  int64_t activeRequests() const { return active_; }
  int64_t retriesInFlight() const { return retries_; }
  uint64_t allowedTotal() const { return allowed_total_; }
  uint64_t refusedTotal() const { return refused_total_; }

  const RetryBudgetOptions& options() const { return options_; }

 private:
  RetryBudgetOptions options_;
  int64_t active_ = 0;
  int64_t retries_ = 0;
  uint64_t allowed_total_ = 0;
  uint64_t refused_total_ = 0;
};

// RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE may be repeated
// without changing the outcome. Method names are case-sensitive.
bool isIdempotentMethod(std::string_view method);

}  // namespace redge
