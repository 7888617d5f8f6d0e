// Cached IMF-fixdate (RFC 9110 section 5.6.7) for the Date response header.

#include "net/http/http_date.hpp"

namespace redge {

std::string_view HttpDate::get(time_t now) {
  if (now != cached_second_) {
    struct tm tm;
    gmtime_r(&now, &tm);
    len_ = strftime(text_, sizeof text_, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second_ = now;
  }
  return {text_, len_};
}

}  // namespace redge
