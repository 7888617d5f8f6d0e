#pragma once
// HTTP-date (RFC 9110 section 5.6.7) both ways: the Date header value,
// formatted once per second rather than per response, and the parsing of the
// dates a cache reads (Date, Expires, Last-Modified, If-Modified-Since).

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
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

// The IMF-fixdate of `epoch_seconds` ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string formatHttpDate(int64_t epoch_seconds);

// No reference time: a two-digit rfc850 year is read as 1970-2069.
inline constexpr int64_t kNoHttpDateReference = INT64_MIN;

// Seconds since the epoch of an HTTP-date in any of the three formats a
// recipient must accept: IMF-fixdate, the obsolete RFC 850 form and asctime.
// Leading and trailing whitespace is ignored; names of days and months are
// compared without case (what senders get wrong most). Anything else, an
// impossible date (31 Feb) included, is nothing. `now_seconds`, when given,
// places a two-digit RFC 850 year as 5.6.7 asks: a date more than 50 years
// in the future is the most recent past year with those two digits.
std::optional<int64_t> parseHttpDate(std::string_view text,
                                     int64_t now_seconds = kNoHttpDateReference);

}  // namespace redge
