// The retry budget: a floor of retries always allowed, then at most
// budget_ratio of the active requests; a finished retry frees its place;
// refusals are counted. And which methods are idempotent.

#include "upstream/retry_budget.hpp"

#include <catch2/catch.hpp>

namespace redge {

TEST_CASE("retry budget: a quiet gateway may still make min_retry_concurrency retries",
          "[retry_budget]") {
  RetryBudget budget;  // 20%, at least 3
  budget.onRequestStarted();
  CHECK(budget.limit() == 3);
  CHECK(budget.tryStartRetry());
  CHECK(budget.tryStartRetry());
  CHECK(budget.tryStartRetry());
  CHECK_FALSE(budget.tryStartRetry());
  CHECK(budget.retriesInFlight() == 3);
  CHECK(budget.allowedTotal() == 3);
  CHECK(budget.refusedTotal() == 1);
  budget.onRetryFinished();
  CHECK(budget.tryStartRetry());
}

TEST_CASE("retry budget: beyond the floor, retries in flight stay within 20% of active requests",
          "[retry_budget]") {
  RetryBudget budget;
  for (int i = 0; i < 100; ++i) budget.onRequestStarted();
  CHECK(budget.limit() == 20);
  int allowed = 0;
  while (budget.tryStartRetry()) ++allowed;
  CHECK(allowed == 20);
  CHECK(budget.retriesInFlight() == 20);
  // Fewer active requests lower the limit; retries in flight are not cut
  // short, but no new one starts until they are back under it.
  for (int i = 0; i < 50; ++i) budget.onRequestFinished();
  CHECK(budget.limit() == 10);
  for (int i = 0; i < 10; ++i) budget.onRetryFinished();
  CHECK_FALSE(budget.tryStartRetry());
  budget.onRetryFinished();
  CHECK(budget.tryStartRetry());
}

TEST_CASE("retry budget: exact at the boundary of the ratio", "[retry_budget]") {
  RetryBudget budget(RetryBudgetOptions{0.2, 0});
  for (int i = 0; i < 4; ++i) budget.onRequestStarted();
  CHECK(budget.limit() == 0);  // 0.8 of a retry is none
  CHECK_FALSE(budget.tryStartRetry());
  budget.onRequestStarted();
  CHECK(budget.limit() == 1);  // 0.2 × 5 is exactly one
  CHECK(budget.tryStartRetry());
  CHECK_FALSE(budget.tryStartRetry());
}

TEST_CASE("retry budget: the ratio and the floor are configurable", "[retry_budget]") {
  RetryBudget budget(RetryBudgetOptions{0.5, 1});
  for (int i = 0; i < 10; ++i) budget.onRequestStarted();
  CHECK(budget.limit() == 5);
  RetryBudget none(RetryBudgetOptions{0.0, 0});
  none.onRequestStarted();
  CHECK_FALSE(none.tryStartRetry());
}

TEST_CASE("retry budget: counts never go below zero", "[retry_budget]") {
  RetryBudget budget;
  budget.onRequestFinished();
  budget.onRetryFinished();
  CHECK(budget.activeRequests() == 0);
  CHECK(budget.retriesInFlight() == 0);
}

TEST_CASE("retry budget: idempotent methods per RFC 9110", "[retry_budget]") {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    CHECK(isIdempotentMethod(m));
  }
  for (const char* m : {"POST", "PATCH", "CONNECT", "get", ""}) CHECK_FALSE(isIdempotentMethod(m));
}

}  // namespace redge
