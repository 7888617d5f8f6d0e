// LeastRequest: two uniform draws among the available members, then the
// lighter of the two. See least_request.hpp for the draw's two paths.

#include "upstream/least_request.hpp"

namespace redge {

size_t LeastRequest::draw(const PickContext& ctx, size_t exclude) {
  const size_t n = members_.size();
  // Rejection sampling is uniform among the available members; it only
  // stops being cheap when few of them are, and then the counting path
  // below (also uniform) takes over.
  for (int i = 0; i < kDirectDraws; ++i) {
    size_t pos = random_.below(static_cast<uint32_t>(n));
    if (pos != exclude && available(members_[pos], ctx)) return pos;
  }
  uint32_t count = 0;
  for (size_t pos = 0; pos < n; ++pos) {
    if (pos != exclude && available(members_[pos], ctx)) ++count;
  }
  if (count == 0) return n;
  uint32_t k = random_.below(count);
  for (size_t pos = 0; pos < n; ++pos) {
    if (pos == exclude || !available(members_[pos], ctx)) continue;
    if (k-- == 0) return pos;
  }
  return n;  // not reached
}

std::optional<uint32_t> LeastRequest::pick(const PickContext& ctx) {
  const size_t n = members_.size();
  if (n == 0) return std::nullopt;
  size_t first = draw(ctx, n);
  if (first == n) return std::nullopt;
  size_t second = draw(ctx, first);
  if (second == n) return members_[first].index;
  const Member& a = members_[first];
  const Member& b = members_[second];
  if (b.active_requests < a.active_requests ||
      (b.active_requests == a.active_requests && b.weight > a.weight)) {
    return b.index;
  }
  return a.index;
}

}  // namespace redge
