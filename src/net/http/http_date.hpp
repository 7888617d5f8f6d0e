#pragma once
// The Date header value, formatted once per second rather than per response.

#include <ctime>
#include <string_view>

namespace redge {

class HttpDate {
 public:
  // Returns the IMF-fixdate for `now` (seconds since the epoch); reformats
  // only when the second changes.
  std::string_view get(time_t now);

 private:
  time_t cached_second_ = -1;
  char text_[40] = {};
  size_t len_ = 0;
};

}  // namespace redge
