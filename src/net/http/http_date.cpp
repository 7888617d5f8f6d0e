// HTTP-date (RFC 9110 section 5.6.7): the cached IMF-fixdate of the Date
// response header, and a parser for the three formats recipients accept
// (IMF-fixdate, obsolete RFC 850, asctime). The parser computes the epoch
// seconds itself (days from the civil date) rather than through timegm(),
// which depends on the process's time zone state and accepts out-of-range
// fields by normalising them.

#include "net/http/http_date.hpp"

#include <array>
#include <cstdint>

#include "core/ascii.hpp"

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

std::string formatHttpDate(int64_t epoch_seconds) {
  // One loop thread asks for the same second many times (every stored
  // answer without a Date): strftime once per second.
  thread_local int64_t last_seconds = INT64_MIN;
  thread_local std::string last_text;
  if (epoch_seconds == last_seconds) return last_text;
  time_t t = static_cast<time_t>(epoch_seconds);
  struct tm tm;
  if (gmtime_r(&t, &tm) == nullptr) return {};
  char text[64];
  size_t len = strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  last_seconds = epoch_seconds;
  last_text.assign(text, len);
  return last_text;
}

namespace {

constexpr std::array<std::string_view, 12> kDateMonthNames = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDateShortDays = {"mon", "tue", "wed", "thu",
                                                            "fri", "sat", "sun"};
constexpr std::array<std::string_view, 7> kDateLongDays = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

// A left-to-right reader over the date text; every step fails closed.
class DateCursor {
 public:
  explicit DateCursor(std::string_view text) : text_(text) {}
  bool atEnd() const { return pos_ == text_.size(); }
  bool literal(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // Exactly `n` digits.
  bool digits(size_t n, int& out) {
    if (text_.size() - pos_ < n) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      char c = text_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    out = v;
    return true;
  }
  // Letters up to the next non-letter.
  std::string_view word() {
    size_t start = pos_;
    while (pos_ < text_.size() && ((text_[pos_] >= 'a' && text_[pos_] <= 'z') ||
                                   (text_[pos_] >= 'A' && text_[pos_] <= 'Z')))
      ++pos_;
    return text_.substr(start, pos_ - start);
  }
  bool month(int& out) {
    std::string_view w = word();
    for (size_t i = 0; i < kDateMonthNames.size(); ++i) {
      if (equalsIgnoreCase(w, kDateMonthNames[i])) {
        out = static_cast<int>(i) + 1;
        return true;
      }
    }
    return false;
  }
  // hh:mm:ss
  bool timeOfDay(int& h, int& m, int& s) {
    return digits(2, h) && literal(':') && digits(2, m) && literal(':') && digits(2, s);
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

bool isDayName(std::string_view w, const std::array<std::string_view, 7>& names) {
  for (std::string_view n : names) {
    if (equalsIgnoreCase(w, n)) return true;
  }
  return false;
}

bool isLeapYear(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int daysInMonth(int64_t year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && isLeapYear(year) ? 29 : kDays[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (the era arithmetic:
// 400-year eras of 146097 days, years starting in March so the leap day is
// last).
int64_t daysSinceEpoch(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;
  const int64_t day_of_year = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

std::optional<int64_t> epochOf(int64_t year, int month, int day, int h, int m, int s) {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return std::nullopt;
  // 60: a leap second, which 5.6.7 allows; it counts as the next second.
  if (h > 23 || m > 59 || s > 60) return std::nullopt;
  return daysSinceEpoch(year, month, day) * 86400 + h * 3600 + m * 60 + s;
}

std::string_view trimDateWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<int64_t> parseImfFixdate(std::string_view text) {
  DateCursor c(text);
  int day, month, year, h, m, s;
  if (!isDayName(c.word(), kDateShortDays) || !c.literal(',') || !c.literal(' ') ||
      !c.digits(2, day) || !c.literal(' ') || !c.month(month) || !c.literal(' ') ||
      !c.digits(4, year) || !c.literal(' ') || !c.timeOfDay(h, m, s) || !c.literal(' '))
    return std::nullopt;
  if (!equalsIgnoreCase(c.word(), "GMT") || !c.atEnd()) return std::nullopt;
  return epochOf(year, month, day, h, m, s);
}

// "Sunday, 06-Nov-94 08:49:37 GMT"
std::optional<int64_t> parseRfc850Date(std::string_view text, int64_t now_seconds) {
  DateCursor c(text);
  int day, month, yy, h, m, s;
  if (!isDayName(c.word(), kDateLongDays) || !c.literal(',') || !c.literal(' ') ||
      !c.digits(2, day) || !c.literal('-') || !c.month(month) || !c.literal('-') ||
      !c.digits(2, yy) || !c.literal(' ') || !c.timeOfDay(h, m, s) || !c.literal(' '))
    return std::nullopt;
  if (!equalsIgnoreCase(c.word(), "GMT") || !c.atEnd()) return std::nullopt;
  int64_t year;
  if (now_seconds == kNoHttpDateReference) {
    year = yy >= 70 ? 1900 + yy : 2000 + yy;
  } else {
    // The century that puts the date at most 50 years ahead of now.
    const int64_t now_year = 1970 + now_seconds / 31556952;  // mean Gregorian year
    year = now_year - now_year % 100 + yy;
    if (year > now_year + 50) year -= 100;
  }
  return epochOf(year, month, day, h, m, s);
}

// "Sun Nov  6 08:49:37 1994" (the day of month padded with a space)
std::optional<int64_t> parseAsctimeDate(std::string_view text) {
  DateCursor c(text);
  int day, month, year, h, m, s;
  if (!isDayName(c.word(), kDateShortDays) || !c.literal(' ') || !c.month(month) || !c.literal(' '))
    return std::nullopt;
  // The day is padded with a space ("Nov  6"); a sender that drops the
  // padding ("Nov 6") is read too.
  if (c.literal(' ')) {
    if (!c.digits(1, day)) return std::nullopt;
  } else if (!c.digits(2, day) && !c.digits(1, day)) {
    return std::nullopt;
  }
  if (!c.literal(' ') || !c.timeOfDay(h, m, s) || !c.literal(' ') || !c.digits(4, year) ||
      !c.atEnd())
    return std::nullopt;
  return epochOf(year, month, day, h, m, s);
}

}  // namespace

std::optional<int64_t> parseHttpDate(std::string_view text, int64_t now_seconds) {
  text = trimDateWhitespace(text);
  // The three forms differ at the character after the day name.
  size_t i = 0;
  while (i < text.size() && text[i] != ',' && text[i] != ' ') ++i;
  if (i == text.size()) return std::nullopt;
  if (text[i] == ' ') return parseAsctimeDate(text);
  if (i == 3) return parseImfFixdate(text);
  return parseRfc850Date(text, now_seconds);
}

}  // namespace redge
