#pragma once
// The URLs visited since the last flush to Redis, newest last, keeping only
// the newest `capacity` of them (older ones would be trimmed away in Redis
// anyway). Pure: no I/O. The ring's strings keep their capacity, so recording
// a visit allocates nothing in steady state.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace redge {

class RecentUrls {
 public:
  explicit RecentUrls(size_t capacity);

  void record(std::string_view url);
  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  // Appends the pending URLs oldest first (the order LPUSH needs so the
  // newest ends at the head) and forgets them. The views stay valid until the
  // next record().
  void take(std::vector<std::string_view>& out);

 private:
  std::vector<std::string> ring_;
  size_t next_ = 0;   // slot the next record goes to
  size_t count_ = 0;  // pending, <= ring_.size()
};

}  // namespace redge
