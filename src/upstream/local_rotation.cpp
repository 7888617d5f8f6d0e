// LocalRotation: a cursor over the members' table that skips whoever cannot
// take the request; see local_rotation.hpp for the Redis rotation it stands
// in for.

#include "upstream/local_rotation.hpp"

namespace redge {

void LocalRotation::rebuild() {
  // Keep the turn where it was when the table grew or shrank around it, so a
  // membership change does not send the next request back to the first member.
  if (next_ >= members_.size()) next_ = 0;
}

std::optional<uint32_t> LocalRotation::pick(const PickContext& ctx) {
  const size_t n = members_.size();
  size_t pos = next_ < n ? next_ : 0;
  for (size_t step = 0; step < n; ++step) {
    const Member& m = members_[pos];
    size_t after = pos + 1 == n ? 0 : pos + 1;
    if (available(m, ctx)) {
      next_ = after;
      return m.index;
    }
    pos = after;
  }
  return std::nullopt;
}

}  // namespace redge
