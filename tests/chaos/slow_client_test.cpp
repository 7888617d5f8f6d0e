// Slow clients, three hundred at once, while a normal client keeps being
// served: never-readers on every protocol (HTTP and RESP, small and 64 KB
// answers, pipelined until redge stops taking their bytes or a cap),
// slowloris heads trickled a byte at a time on every HTTP listener, and
// request bodies trickled below http.body_min_rate. Each must be cut off by
// its own deadline, redge's peak RSS growth (/proc/<pid>/status) must stay
// within what its output bounds promise, and the normal client must see no
// error and a bounded latency.

#include <poll.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chaos_stack.hpp"
#include "fault_verdict.hpp"
#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/process_stats.hpp"
#include "support/test_stack.hpp"
#include "support/wire_stream.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kBigValueBytes = 64 * 1024;
constexpr int kHeaderTimeoutMs = 2000;
constexpr int kIdleTimeoutMs = 3000;
constexpr int kEach = 40;
// The normal client's bound. The first loop iterations after the flood
// arrives build up to 1 MiB of answers for each of the 80 large-answer
// never-readers (about 100 MB; measured about 300 ms of redge CPU, mostly
// page faults), and the normal client's request waits behind them; on a
// shared 2-core machine that stretched to 1.5 s. A hang would be 5 s.
constexpr double kNormalBoundMs = 2000;

enum class Kind { NeverReader, Slowloris, TrickledBody };

// One hostile connection and how far it has got.
struct Hostile {
  Kind kind;
  std::string label;
  std::unique_ptr<WireStream> stream;
  std::string unit;   // never-reader: the request it repeats; others: the bytes to trickle
  size_t cap = 0;     // never-readers: copies at most
  size_t sent = 0;    // never-readers: whole copies; trickles: bytes
  size_t offset = 0;  // never-readers: into the current copy
  Clock::time_point last_progress = Clock::now();
  bool done = false;  // stalled, capped or closed: nothing more to send
};

// Whether a slowloris or trickled body has been answered and closed.
bool isClosed(Hostile& h) {
  h.stream->fill(Clock::now());
  return h.stream->peerClosed();
}

// redge's own count of a listener's open connections. A never-reader cannot
// see its connection being closed: the FIN waits in the kernel behind the
// answers it has not read (or, when redge had not read all its requests,
// comes as a reset only once the client writes again), so these cases ask
// redge instead.
double openConnections(const RedgeProcess& redge, const char* series) {
  return scrapeMetric(redge, series).value_or(-1);
}

// Sends the next part of a hostile's bytes: up to 8 KiB of copies for a
// never-reader (a steady push that redge can keep up with; the pipelining
// flood measures a push that it cannot), a byte of a slowloris head, the
// head and then 10 bytes of a trickled body.
void advance(Hostile& h, std::string& batch, bool trickle_now) {
  if (h.done) return;
  if (h.kind == Kind::NeverReader) {
    if (h.sent >= h.cap) {
      h.done = true;
      return;
    }
    if (batch.size() < h.unit.size() || batch.compare(0, h.unit.size(), h.unit) != 0) {
      batch.clear();
      while (batch.size() < 65536) batch += h.unit;
    }
    size_t left = std::min<size_t>((h.cap - h.sent) * h.unit.size() - h.offset, 8192);
    long n = h.stream->sendSome(std::string_view(batch).substr(h.offset, left));
    if (n > 0) {
      h.sent += (h.offset + static_cast<size_t>(n)) / h.unit.size();
      h.offset = (h.offset + static_cast<size_t>(n)) % h.unit.size();
      h.last_progress = Clock::now();
    } else if (n < 0 || Clock::now() - h.last_progress > 1000ms) {
      h.done = true;  // redge stopped reading it, or cut it off
    }
    return;
  }
  if (!trickle_now) return;
  if (h.sent >= h.unit.size() || isClosed(h)) {
    h.done = true;
    return;
  }
  size_t step = 1;
  if (h.kind == Kind::TrickledBody) step = h.sent == 0 ? h.unit.find("\r\n\r\n") + 4 : 10;
  long n = h.stream->sendSome(std::string_view(h.unit).substr(h.sent, step));
  if (n > 0) h.sent += static_cast<size_t>(n);
}

}  // namespace

TEST_CASE("slow clients: three hundred at once cost bounded memory and no service",
          "[chaos][slow]") {
  TestStack s({"http.header_timeout_ms=" + std::to_string(kHeaderTimeoutMs),
               "http.idle_timeout_ms=" + std::to_string(kIdleTimeoutMs)},
              {}, RedgeServices{.cache_proxy = true});
  REQUIRE(s.redis.command({"SET", "big", std::string(kBigValueBytes, 'v')}).str == "OK");
  REQUIRE(s.redis.command({"SET", "small", "s"}).str == "OK");
  REQUIRE(httpGet(s.cache("/big")).body.size() == kBigValueBytes);  // cached: answered at once
  REQUIRE(httpGet(s.cache("/small")).status == 200);

  using Wire = LoadRequest::Wire;
  LoadDriver normal(
      {{"app GET /", Wire::Http, s.redge.appPort(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
       {"admin GET /healthz", Wire::Http, s.redge.adminPort(),
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"},
       {"cacheproxy GET /small", Wire::Http, s.redge.cacheHttpPort(),
        "GET /small HTTP/1.1\r\nHost: x\r\n\r\n"},
       {"cacheproxy RESP GET small", Wire::Resp, s.redge.cacheRespPort(), "GET small\r\n"}},
      LoadOptions{.workers = 2, .interval = 10ms});

  const int64_t before = peakResidentKib(s.redge.pid());
  normal.start();
  std::vector<Hostile> hostiles;
  auto add = [&](Kind kind, const std::string& label, int port, const std::string& unit,
                 size_t cap = 0) {
    for (int i = 0; i < kEach; ++i) {
      // Never-readers keep a small window, so their answers stay in redge.
      auto stream =
          std::make_unique<WireStream>(port, 3000ms, kind == Kind::NeverReader ? 4096 : 0);
      hostiles.push_back(Hostile{kind, label, std::move(stream), unit, cap});
    }
  };
  add(Kind::NeverReader, "HTTP never-reader, 64 KB answers", s.redge.cacheHttpPort(),
      "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 20000);
  add(Kind::NeverReader, "RESP never-reader, 64 KB replies", s.redge.cacheRespPort(), "GET big\r\n",
      20000);
  add(Kind::NeverReader, "HTTP never-reader, small answers", s.redge.appPort(),
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2000);
  add(Kind::NeverReader, "RESP never-reader, small replies", s.redge.cacheRespPort(),
      "*1\r\n$4\r\nPING\r\n", 2000);
  const std::string slow_head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'a');
  add(Kind::Slowloris, "slowloris head on app", s.redge.appPort(), slow_head);
  add(Kind::Slowloris, "slowloris head on admin", s.redge.adminPort(), slow_head);
  add(Kind::Slowloris, "slowloris head on cacheproxy", s.redge.cacheHttpPort(), slow_head);
  const std::string body = messageJson("chaos", std::string(900, 'b'));
  add(Kind::TrickledBody, "body trickled at 40 B/s on app", s.redge.appPort(),
      "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body);

  // Trickles go every 250 ms: a byte (slowloris), 10 bytes (bodies, 40 B/s
  // against http.body_min_rate's 1024 B/s), after their heads went whole.
  const auto start = Clock::now();
  auto next_trickle = start;
  std::string batch;
  while (msSince(start) < 15000) {
    const bool trickle_now = Clock::now() >= next_trickle;
    if (trickle_now) next_trickle += 250ms;
    bool finished = true;
    for (Hostile& h : hostiles) {
      advance(h, batch, trickle_now);
      if (h.kind == Kind::NeverReader ? !h.done : !isClosed(h)) finished = false;
    }
    if (finished) break;
    std::this_thread::sleep_for(5ms);
  }
  normal.stop();
  // Every never-reader cut off but those whose RESP replies all fit in the
  // kernel's socket buffers: redge holds none of their replies, and RESP has
  // no idle timeout (as Redis's default `timeout 0`), so they may stay.
  const char* kAppOpen = "redge_http_connections_open{service=\"app\"}";
  const char* kCacheOpen = "redge_http_connections_open{service=\"cacheproxy\"}";
  const char* kRespOpen = "redge_resp_connections_open{service=\"cacheproxy\"}";
  double app_open = -1, cache_open = -1, resp_open = -1;
  const bool cut_off = waitUntil(
      [&] {
        app_open = openConnections(s.redge, kAppOpen);
        cache_open = openConnections(s.redge, kCacheOpen);
        resp_open = openConnections(s.redge, kRespOpen);
        return app_open == 0 && cache_open == 0 && resp_open >= 0 && resp_open <= kEach;
      },
      std::chrono::milliseconds(kIdleTimeoutMs + 10000), 100ms);
  const long long took = msSince(start);
  const int64_t growth = peakResidentKib(s.redge.pid()) - before;

  const std::vector<LoadOutcome> served = normal.outcomes();
  double slowest = 0;
  for (const auto& o : served) slowest = std::max(slowest, o.latencyMs());
  std::map<std::string, size_t> copies;
  for (const Hostile& h : hostiles) copies[h.label] += h.sent;
  std::string pushed;
  for (const auto& [label, n] : copies) pushed += label + ": " + std::to_string(n) + "; ";
  WARN(hostiles.size() << " slow clients cut off in " << took << " ms; peak RSS growth " << growth
                       << " KiB; normal client: " << served.size() << " requests, slowest "
                       << static_cast<long>(slowest) << " ms; sent (copies or bytes): " << pushed);

  INFO("open at the end: app " << app_open << ", cacheproxy HTTP " << cache_open
                               << ", cacheproxy RESP " << resp_open);
  CHECK(cut_off);
  // Each slowloris and trickled body got its 408 and was closed.
  std::map<std::string, int> wrong;
  std::string first_wrong;
  for (Hostile& h : hostiles) {
    std::string why;
    if (h.kind == Kind::NeverReader) {
      continue;
    } else if (!h.stream->peerClosed()) {
      why = "still open";
    } else {
      size_t used = 0;
      std::optional<RawResponse> r;
      try {
        r = parseHttpResponse(h.stream->input(), used);
      } catch (const std::exception& e) {
        why = e.what();
      }
      if (why.empty() && (!r || r->status != 408 || errorCode(r->body) != "request_timeout")) {
        why = "got " + std::string(h.stream->input().substr(0, 120));
      }
    }
    if (!why.empty()) {
      ++wrong[h.label];
      if (first_wrong.empty()) first_wrong = h.label + ": " + why;
    }
  }
  for (const auto& [label, n] : wrong) {
    INFO(label << ": " << n << " of " << kEach
               << " not cut off as promised; first: " << first_wrong);
    CHECK(n == 0);
  }
  // Output bounds: redge stops executing a connection's requests while 1 MiB
  // of its answers is unread, so a 64 KB never-reader holds at most about
  // 1.1 MiB; 1.25 MiB each for those, 32 MiB for everything else.
  CHECK(growth < static_cast<int64_t>(2 * kEach) * 1280 + 32 * 1024);
  // The normal client never failed and never waited long (the figure of a
  // run is in the warning above).
  INFO(summarizeLoad(normal, served));
  for (const auto& line : slowOrUnanswered(normal, served, kNormalBoundMs, 20)) UNSCOPED_INFO(line);
  CHECK(slowOrUnanswered(normal, served, kNormalBoundMs).empty());
  CHECK(improperFailures(normal, served, {}).empty());
  CHECK(served.size() > 100);
  CHECK(stillServes(s.redge));
  hostiles.clear();
  CHECK(waitUntil([&] { return openConnections(s.redge, kRespOpen) == 0; }, 5000ms, 50ms));
}

// A never-reader whose unread answers stay below the output high mark:
// redge stops executing its requests only past 1 MiB, so here nothing is
// paused; what it has not taken sits in the kernel or in redge's queue, and
// the connection must still be closed once it has been stalled for
// http.idle_timeout_ms (Idle or WriteStall, whichever applies), never held.
TEST_CASE("slow clients: a never-reader below the output high mark is closed after idle_timeout",
          "[chaos][slow]") {
  constexpr int kIdleMs = 1000;
  TestStack s({"http.idle_timeout_ms=" + std::to_string(kIdleMs)}, {},
              RedgeServices{.cache_proxy = true});
  REQUIRE(s.redis.command({"SET", "big", std::string(kBigValueBytes, 'v')}).str == "OK");
  REQUIRE(httpGet(s.cache("/big")).body.size() == kBigValueBytes);
  struct Shape {
    const char* name;
    int port;
    const char* series;
    std::string request;
    size_t copies;
  };
  const std::vector<Shape> shapes = {
      {"2,000 GET / on app (about 260 KB of answers)", s.redge.appPort(),
       "redge_http_connections_open{service=\"app\"}", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 2000},
      {"8 GET /big on the cache proxy (512 KB of answers)", s.redge.cacheHttpPort(),
       "redge_http_connections_open{service=\"cacheproxy\"}",
       "GET /big HTTP/1.1\r\nHost: x\r\n\r\n", 8},
  };
  for (const Shape& shape : shapes) {
    INFO(shape.name);
    WireStream c(shape.port, 3000ms, 4096);
    std::string all;
    for (size_t i = 0; i < shape.copies; ++i) all += shape.request;
    REQUIRE(c.sendAll(all, Clock::now() + 5s));  // reads only if redge would block on it
    REQUIRE(waitUntil([&] { return openConnections(s.redge, shape.series) == 1; }, 2000ms));
    const auto sent = Clock::now();
    const bool closed =
        waitUntil([&] { return openConnections(s.redge, shape.series) == 0; }, 10000ms, 50ms);
    const long long after = msSince(sent);
    WARN(shape.name << ", never read: closed by redge " << after << " ms after the last request");
    CHECK(closed);
    CHECK(after < kIdleMs + 2000);
  }
  CHECK(stillServes(s.redge));
}

// A RESP client that sends a few GETs of a 64 KB value and never reads must
// not be held for ever: less than any watermark stays in redge once the
// kernel's socket buffers have taken their share, and RESP keeps idle
// connections (as Redis does). The output check of an idle connection looks
// at what the kernel still holds for the client (SIOCOUTQ) and closes a
// connection whose client took none of it over two write-stall periods.
TEST_CASE("slow clients: a RESP never-reader below the stall mark is closed after idle_timeout",
          "[chaos][slow][resp]") {
  constexpr int kIdleMs = 1000;
  TestStack s({"http.idle_timeout_ms=" + std::to_string(kIdleMs)}, {},
              RedgeServices{.cache_proxy = true});
  REQUIRE(s.redis.command({"SET", "big", std::string(kBigValueBytes, 'v')}).str == "OK");
  REQUIRE(httpGet(s.cache("/big")).body.size() == kBigValueBytes);
  const char* series = "redge_resp_connections_open{service=\"cacheproxy\"}";
  WireStream c(s.redge.cacheRespPort(), 3000ms, 4096);
  std::string all;
  for (int i = 0; i < 12; ++i) all += "GET big\r\n";
  REQUIRE(c.sendAll(all, Clock::now() + 5s));
  REQUIRE(waitUntil([&] { return openConnections(s.redge, series) == 1; }, 2000ms));
  const auto sent = Clock::now();
  const bool closed =
      waitUntil([&] { return openConnections(s.redge, series) == 0; }, 10000ms, 50ms);
  WARN("12 GET big over RESP, never read: "
       << (closed
               ? "closed by redge " + std::to_string(msSince(sent)) + " ms after the last command"
               : std::string("still open 10 s after the last command")));
  CHECK(closed);
  CHECK(stillServes(s.redge));
}
