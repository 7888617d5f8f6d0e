// The master's restart schedule for one worker (restart_backoff.hpp).

#include "ops/workers/restart_backoff.hpp"

#include <algorithm>

namespace redge {

int64_t RestartBackoff::onExit(int64_t lived_ms, bool was_ready) {
  if (lived_ms >= options_.reset_after_ms) next_delay_ms_ = options_.first_ms;
  if (was_ready) {
    start_failures_ = 0;
  } else if (++start_failures_ >= options_.max_start_failures) {
    return -1;
  }
  int64_t delay = next_delay_ms_;
  next_delay_ms_ = std::min(next_delay_ms_ * 2, options_.max_ms);
  return delay;
}

}  // namespace redge
