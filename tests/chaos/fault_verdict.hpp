#pragma once

#include <set>
#include <string>
#include <vector>

#include "support/load_driver.hpp"

namespace redge_test {

// The judgements the chaos cases make on a load run around a fault, each
// returning the offending outcomes (described, at most `limit` of them) so a
// CHECK on an empty list prints exactly what went wrong.

// Requests that got no answer, or whose answer took longer than `limit_ms`.
std::vector<std::string> slowOrUnanswered(const LoadDriver& driver,
                                          const std::vector<LoadOutcome>& outcomes, double limit_ms,
                                          size_t limit = 10);

// Failures that are not the answer a client is promised while Redis is
// away: HTTP 503 with Retry-After and a JSON error code from `codes`; RESP
// "-ERR redis unavailable" or "-ERR redis timeout". Requests named in
// `never_fail` (routes that do not need Redis) may not fail at all.
std::vector<std::string> improperFailures(const LoadDriver& driver,
                                          const std::vector<LoadOutcome>& outcomes,
                                          const std::set<std::string>& codes,
                                          const std::set<std::string>& never_fail = {},
                                          size_t limit = 10);

// Failures of requests sent outside [from_ms, to_ms].
std::vector<std::string> failuresOutside(const LoadDriver& driver,
                                         const std::vector<LoadOutcome>& outcomes, double from_ms,
                                         double to_ms, size_t limit = 10);

// For every request name: how long after `back_ms` the first success
// arrived. A name with no success after back_ms is reported with -1.
struct Recovery {
  std::string name;
  double after_ms = -1;
};
std::vector<Recovery> recoveryTimes(const LoadDriver& driver,
                                    const std::vector<LoadOutcome>& outcomes, double back_ms);

// How many failed with an answer (the fault was seen at all).
size_t failedCount(const std::vector<LoadOutcome>& outcomes);

}  // namespace redge_test
