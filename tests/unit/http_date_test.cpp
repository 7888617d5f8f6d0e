// HTTP-date parsing (RFC 9110 5.6.7): the three formats and RFC 9110's own
// example, the two-digit year of RFC 850, impossible and malformed dates,
// and formatting back to IMF-fixdate.

#include "net/http/http_date.hpp"

#include <catch2/catch.hpp>

namespace redge {

TEST_CASE("http date: the three formats of RFC 9110's example are one instant", "[http_date]") {
  CHECK(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
  CHECK(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777);
  CHECK(parseHttpDate("Sun Nov  6 08:49:37 1994") == 784111777);
}

TEST_CASE("http date: leap days, the epoch's edges and far years", "[http_date]") {
  CHECK(parseHttpDate("Tue, 29 Feb 2000 00:00:00 GMT") == 951782400);
  CHECK(parseHttpDate("Wed, 31 Dec 1969 23:59:59 GMT") == -1);
  CHECK(parseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT") == 0);
  CHECK(parseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT") == 253402300799);
  CHECK(parseHttpDate("Mon, 01 Jan 1601 00:00:00 GMT") == -11644473600);
  // A leap second counts as the next second.
  CHECK(parseHttpDate("Wed, 31 Dec 1969 23:59:60 GMT") == 0);
}

TEST_CASE("http date: impossible dates are none", "[http_date]") {
  CHECK_FALSE(parseHttpDate("Mon, 29 Feb 1900 00:00:00 GMT"));  // 1900 is no leap year
  CHECK_FALSE(parseHttpDate("Sat, 31 Apr 2000 00:00:00 GMT"));
  CHECK_FALSE(parseHttpDate("Sat, 00 Apr 2000 00:00:00 GMT"));
  CHECK_FALSE(parseHttpDate("Sat, 01 Apr 2000 24:00:00 GMT"));
  CHECK_FALSE(parseHttpDate("Sat, 01 Apr 2000 23:60:00 GMT"));
  CHECK_FALSE(parseHttpDate("Sat, 01 Apr 2000 23:59:61 GMT"));
}

TEST_CASE("http date: malformed text is none", "[http_date]") {
  for (const char* bad : {"", "0", "-1", "now", "Sun, 06 Nov 1994 08:49:37",
                          "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 06 Nox 1994 08:49:37 GMT",
                          "Sun 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 8:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 GMT junk", "Sun, 06-Nov-1994 08:49:37 GMT",
                          "Sunday, 06 Nov 1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994 GMT",
                          "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT\x01",
                          "Sun,  06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 19a4 08:49:37 GMT"}) {
    INFO(bad);
    CHECK_FALSE(parseHttpDate(bad));
  }
}

TEST_CASE("http date: whitespace around and letter case of names are tolerated", "[http_date]") {
  CHECK(parseHttpDate("  Sun, 06 Nov 1994 08:49:37 GMT\t") == 784111777);
  CHECK(parseHttpDate("sun, 06 NOV 1994 08:49:37 gmt") == 784111777);
  CHECK(parseHttpDate("SUNDAY, 06-nov-94 08:49:37 GMT") == 784111777);
  // asctime with a two-digit day, and a single-space single digit.
  CHECK(parseHttpDate("Sun Nov 16 08:49:37 1994") == 784111777 + 10 * 86400);
  CHECK(parseHttpDate("Sun Nov 6 08:49:37 1994") == 784111777);
}

TEST_CASE("http date: an RFC 850 year is placed within 50 years of now", "[http_date]") {
  // Without a reference: 70-99 are 19xx, 00-69 are 20xx.
  CHECK(parseHttpDate("Thursday, 06-Nov-69 08:49:37 GMT") == 3150953377);
  // With now in 2026: "69" is 2069, 43 years ahead; "94" would be 2094, more
  // than 50 years ahead, so 1994.
  const int64_t now_2026 = 1795935600;
  CHECK(parseHttpDate("Thursday, 06-Nov-69 08:49:37 GMT", now_2026) == 3150953377);
  CHECK(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", now_2026) == 784111777);
}

TEST_CASE("http date: formatting gives IMF-fixdate and parses back", "[http_date]") {
  CHECK(formatHttpDate(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(formatHttpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  for (int64_t t : {int64_t{0}, int64_t{951782400}, int64_t{1795935600}, int64_t{253402300799}}) {
    CHECK(parseHttpDate(formatHttpDate(t)) == t);
  }
  HttpDate cached;
  CHECK(cached.get(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
}

}  // namespace redge
