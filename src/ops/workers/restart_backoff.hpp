#pragma once
// When the master starts a worker again after it exited, and when it stops
// trying. Pure: the caller says how long the worker lived and whether it had
// reported ready; no clock of its own.
//
// The delay starts at first_ms and doubles with every exit in a row, up to
// max_ms; a worker that lived reset_after_ms or longer starts the series
// again (one crash a day is not a crash loop). A worker that exits before it
// ever reported ready, max_start_failures times in a row, is one that cannot
// start (its port taken, a file it needs missing): the master gives up
// rather than fork forever.

#include <cstdint>

namespace redge {

struct RestartBackoffOptions {
  int64_t first_ms = 100;
  int64_t max_ms = 5000;
  int64_t reset_after_ms = 30000;
  int max_start_failures = 5;
};

class RestartBackoff {
 public:
  explicit RestartBackoff(const RestartBackoffOptions& options = {})
      : options_(options), next_delay_ms_(options.first_ms) {}

  // A worker exited after `lived_ms`; `was_ready` says whether it had
  // reported ready. Returns the delay before starting it again, or -1 to
  // give up.
  int64_t onExit(int64_t lived_ms, bool was_ready);

  // Exits before ready, in a row.
  int startFailures() const { return start_failures_; }

 private:
  RestartBackoffOptions options_;
  int64_t next_delay_ms_;
  int start_failures_ = 0;
};

}  // namespace redge
