// RetryBudget: the retries-in-flight limit (a ratio of active requests, with
// a floor), and which HTTP methods are idempotent.

#include "upstream/retry_budget.hpp"

#include <algorithm>
#include <cmath>

namespace redge {

int64_t RetryBudget::limit() const {
  // The small epsilon keeps 0.2 × 5 from flooring to 0 in binary floating point.
  auto by_ratio =
      static_cast<int64_t>(std::floor(options_.budget_ratio * static_cast<double>(active_) + 1e-9));
  return std::max(options_.min_retry_concurrency, by_ratio);
}

bool RetryBudget::tryStartRetry() {
  if (retries_ < limit()) {
    ++retries_;
    ++allowed_total_;
    return true;
  }
  ++refused_total_;
  return false;
}

bool isIdempotentMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
         method == "PUT" || method == "DELETE";
}

}  // namespace redge
