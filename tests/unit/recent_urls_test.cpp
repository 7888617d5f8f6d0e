// RecentUrls: take() yields the pending URLs oldest first, only the newest
// `capacity` are kept, take() empties the ring, and the ring keeps working
// across many wrap-arounds.

#include "services/app/recent_urls.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace redge {
namespace {

std::vector<std::string> takeAll(RecentUrls& urls) {
  std::vector<std::string_view> views;
  urls.take(views);
  return std::vector<std::string>(views.begin(), views.end());
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("recent_urls: a new ring is empty", "[recent_urls]") {
  RecentUrls urls(4);
  CHECK(urls.empty());
  CHECK(urls.size() == 0);
  CHECK(takeAll(urls).empty());
}

TEST_CASE("recent_urls: take() is oldest first", "[recent_urls]") {
  RecentUrls urls(4);
  urls.record("/a");
  CHECK_FALSE(urls.empty());
  CHECK(urls.size() == 1);
  urls.record("/b");
  urls.record("/c");
  CHECK(urls.size() == 3);
  CHECK(takeAll(urls) == Strings{"/a", "/b", "/c"});
}

TEST_CASE("recent_urls: only the newest `capacity` are kept", "[recent_urls]") {
  RecentUrls urls(3);
  for (const char* u : {"/1", "/2", "/3", "/4", "/5"}) urls.record(u);
  CHECK(urls.size() == 3);
  CHECK(takeAll(urls) == Strings{"/3", "/4", "/5"});

  SECTION("exactly full") {
    RecentUrls full(3);
    for (const char* u : {"/x", "/y", "/z"}) full.record(u);
    CHECK(full.size() == 3);
    CHECK(takeAll(full) == Strings{"/x", "/y", "/z"});
  }
}

TEST_CASE("recent_urls: empty after take(), and reusable", "[recent_urls]") {
  RecentUrls urls(3);
  urls.record("/a");
  urls.record("/b");
  CHECK(takeAll(urls) == Strings{"/a", "/b"});
  CHECK(urls.empty());
  CHECK(urls.size() == 0);
  CHECK(takeAll(urls).empty());

  // After a take, old URLs never come back, even once the ring wraps.
  urls.record("/c");
  CHECK(takeAll(urls) == Strings{"/c"});
  for (const char* u : {"/d", "/e", "/f", "/g"}) urls.record(u);
  CHECK(takeAll(urls) == Strings{"/e", "/f", "/g"});
  urls.record("/h");
  CHECK(takeAll(urls) == Strings{"/h"});
}

TEST_CASE("recent_urls: take() appends to what the vector holds", "[recent_urls]") {
  RecentUrls urls(2);
  urls.record("/new");
  std::vector<std::string_view> out{"/already"};
  urls.take(out);
  REQUIRE(out.size() == 2);
  CHECK(out[0] == "/already");
  CHECK(out[1] == "/new");
}

TEST_CASE("recent_urls: capacity 1 keeps the newest only", "[recent_urls]") {
  RecentUrls urls(1);
  urls.record("/a");
  CHECK(urls.size() == 1);
  urls.record("/b");
  urls.record("/c");
  CHECK(urls.size() == 1);
  CHECK(takeAll(urls) == Strings{"/c"});
  CHECK(urls.empty());
  urls.record("/d");
  CHECK(takeAll(urls) == Strings{"/d"});
}

TEST_CASE("recent_urls: capacity 0 behaves as capacity 1", "[recent_urls]") {
  RecentUrls urls(0);
  urls.record("/a");
  urls.record("/b");
  CHECK(urls.size() == 1);
  CHECK(takeAll(urls) == Strings{"/b"});
}

TEST_CASE("recent_urls: the ring copies what it records", "[recent_urls]") {
  RecentUrls urls(2);
  std::string url = "/first";
  urls.record(url);
  url = "/changed-after-record";
  urls.record("");  // an empty URL is recorded like any other
  CHECK(takeAll(urls) == Strings{"/first", ""});
}

TEST_CASE("recent_urls: matches a model across many wrap-arounds", "[recent_urls]") {
  for (size_t capacity : {1u, 2u, 3u, 7u}) {
    RecentUrls urls(capacity);
    Strings model;  // every URL recorded since the last take
    for (int i = 0; i < 200; ++i) {
      // Vary the length so slots are reused with shorter and longer strings.
      const std::string u =
          std::string("/").append(std::to_string(i)).append(static_cast<size_t>(i % 5), 'x');
      urls.record(u);
      model.push_back(u);
      if (i % 11 == 10 || i % 17 == 3) {
        const Strings expected(
            model.size() > capacity ? model.end() - static_cast<long>(capacity) : model.begin(),
            model.end());
        INFO("capacity " << capacity << " at " << i);
        CHECK(urls.size() == expected.size());
        CHECK(takeAll(urls) == expected);
        CHECK(urls.empty());
        model.clear();
      }
    }
  }
}

}  // namespace redge
