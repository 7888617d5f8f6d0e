// RecentUrls: a fixed ring of the newest visited URLs awaiting their LPUSH.

#include "services/app/recent_urls.hpp"

namespace redge {

RecentUrls::RecentUrls(size_t capacity) : ring_(capacity == 0 ? 1 : capacity) {}

void RecentUrls::record(std::string_view url) {
  ring_[next_].assign(url);
  next_ = (next_ + 1) % ring_.size();
  if (count_ < ring_.size()) ++count_;
}

void RecentUrls::take(std::vector<std::string_view>& out) {
  size_t start = (next_ + ring_.size() - count_) % ring_.size();
  for (size_t i = 0; i < count_; ++i) out.emplace_back(ring_[(start + i) % ring_.size()]);
  count_ = 0;
}

}  // namespace redge
