// Clients that send and never read, on every listener: the answers redge has
// made and the client has not taken must stay bounded per connection, the
// connection is cut off once its backlog passes http.max_output_bytes, and
// redge keeps serving everyone else. RSS is read from /proc/<pid>/status.

#include <catch2/catch.hpp>
#include <string>

#include "support/metrics_text.hpp"
#include "support/never_reader.hpp"
#include "support/process_stats.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

constexpr size_t kBigValueBytes = 64 * 1024;
// What one connection that reads nothing may cost: the output high mark
// (1 MiB), what the kernel holds, allocator slack. Before the bound, the same
// pipelines drove RSS up by 300 MiB.
constexpr int64_t kAllowedGrowthKib = 40 * 1024;

// The peak RSS once redge has stopped taking on work: two readings 300 ms
// apart agree (the peak only grows, so agreement means it has settled).
int64_t settledPeakKib(RedgeProcess& redge) {
  int64_t last = -2;
  int64_t now = -1;
  waitUntil(
      [&] {
        last = now;
        now = peakResidentKib(redge.pid());
        return now == last;
      },
      5000ms, 300ms);
  return now;
}

TestStack cacheStack(std::vector<std::string> settings = {}) {
  return TestStack(std::move(settings), {}, RedgeServices{.cache_proxy = true});
}

void storeBigValue(TestStack& s, const std::string& key) {
  s.redis.command({"SET", key, std::string(kBigValueBytes, 'v')});
}

}  // namespace

TEST_CASE("slow readers: 20,000 pipelined RESP GETs of a 64 KB value, never read, stay bounded",
          "[slow][resp]") {
  TestStack s = cacheStack();
  storeBigValue(s, "big");
  // Warm the cache, so every GET below is a hit answered at once.
  RedisConnection warm(s.redge.cacheRespPort());
  REQUIRE(warm.command({"GET", "big"}).str.size() == kBigValueBytes);
  int64_t before = peakResidentKib(s.redge.pid());

  NeverReader hostile(s.redge.cacheRespPort());
  size_t pushed = hostile.push("GET big\r\n", 20000);
  INFO("commands sent: " << pushed);
  int64_t growth = settledPeakKib(s.redge) - before;
  INFO("peak RSS growth KiB: " << growth);
  CHECK(growth < kAllowedGrowthKib);
  // Everyone else is still served, on the same listener.
  CHECK(warm.command({"GET", "big"}).str.size() == kBigValueBytes);
  CHECK(stillServes(s.redge));
}

TEST_CASE("slow readers: 20,000 pipelined HTTP GETs of a 64 KB value, never read, stay bounded",
          "[slow][http]") {
  TestStack s = cacheStack();
  storeBigValue(s, "big");
  REQUIRE(httpGet(s.cache("/big")).body.size() == kBigValueBytes);
  int64_t before = peakResidentKib(s.redge.pid());

  NeverReader hostile(s.redge.cacheHttpPort());
  size_t pushed = hostile.push("GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 20000);
  INFO("requests sent: " << pushed);
  int64_t growth = settledPeakKib(s.redge) - before;
  INFO("peak RSS growth KiB: " << growth);
  CHECK(growth < kAllowedGrowthKib);
  CHECK(httpGet(s.cache("/big")).body.size() == kBigValueBytes);
  CHECK(stillServes(s.redge));
}

TEST_CASE("slow readers: 100,000 pipelined small requests on the app listener stay bounded",
          "[slow][http]") {
  TestStack s;
  int64_t before = peakResidentKib(s.redge.pid());
  NeverReader hostile(s.redge.appPort());
  hostile.push("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 100000);
  int64_t growth = settledPeakKib(s.redge) - before;
  INFO("peak RSS growth KiB: " << growth);
  CHECK(growth < kAllowedGrowthKib);
  CHECK(stillServes(s.redge));
}

TEST_CASE(
    "slow readers: a pile of answers arriving at once past max_output_bytes cuts the client "
    "off",
    "[slow][resp]") {
  // Not cached: the first GET misses and the other 999 join its one Redis
  // read, so all 1000 answers (64 MB) arrive in one callback.
  TestStack s = cacheStack({"http.max_output_bytes=2097152"});
  storeBigValue(s, "cold");
  NeverReader hostile(s.redge.cacheRespPort());
  REQUIRE(hostile.push("GET cold\r\n", 1000) == 1000);
  CHECK(hostile.closedByPeer(5000ms));
  CHECK(s.redge.waitForLog("event=slow_reader_disconnected", 2000ms));
  CHECK(scrapeMetric(s.redge,
                     "redge_resp_slow_readers_disconnected_total{service=\"cacheproxy\"}") == 1);
  CHECK(stillServes(s.redge));
}

TEST_CASE("slow readers: the same pile on the cache proxy's HTTP port cuts the client off",
          "[slow][http]") {
  TestStack s = cacheStack({"http.max_output_bytes=2097152"});
  storeBigValue(s, "cold");
  NeverReader hostile(s.redge.cacheHttpPort());
  REQUIRE(hostile.push("GET /cold HTTP/1.1\r\nHost: x\r\n\r\n", 100) == 100);
  CHECK(hostile.closedByPeer(5000ms));
  CHECK(s.redge.waitForLog("event=slow_reader_disconnected", 2000ms));
  CHECK(scrapeMetric(s.redge,
                     "redge_http_slow_readers_disconnected_total{service=\"cacheproxy\"}") == 1);
  CHECK(stillServes(s.redge));
}

TEST_CASE(
    "slow readers: a RESP client that reads none of its replies is closed after the write "
    "stall deadline",
    "[slow][resp]") {
  TestStack s = cacheStack({"http.idle_timeout_ms=500"});
  storeBigValue(s, "big");
  RedisConnection warm(s.redge.cacheRespPort());
  REQUIRE(warm.command({"GET", "big"}).str.size() == kBigValueBytes);
  NeverReader hostile(s.redge.cacheRespPort());
  hostile.push("GET big\r\n", 20000, 300ms);
  CHECK(hostile.closedByPeer(5000ms));
  CHECK(stillServes(s.redge));
}
