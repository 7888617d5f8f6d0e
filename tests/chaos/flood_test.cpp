// Floods: connections far past the limit on every listener, 100,000
// pipelined requests on one connection (HTTP and RESP), 1 MiB inline RESP
// commands and oversized declared lengths from many clients at once. Each
// must be answered with its documented refusal (or, for the pipelines, every
// answer in order), counted where a metric promises it, must leave no
// connection slot held, and must cost redge a bounded amount of memory
// (peak RSS from /proc/<pid>/status).

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
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

TestStack cacheStack(std::vector<std::string> settings = {}) {
  return TestStack(std::move(settings), {}, RedgeServices{.cache_proxy = true});
}

struct Listener {
  std::string service;  // the metric label
  int port;
  bool resp;
};

const std::string kHttpProbe = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kRespProbe = "*1\r\n$4\r\nPING\r\n";

// One request on `c`, answered: any HTTP status short of 503, or +PONG.
bool servedOn(WireStream& c, bool resp) {
  auto deadline = Clock::now() + 3s;
  if (!c.sendAll(resp ? kRespProbe : kHttpProbe, deadline)) return false;
  while (true) {
    size_t used = 0;
    if (resp) {
      if (auto r = parseRespReply(c.input(), used)) {
        c.consume(used);
        return r->type == '+' && r->text == "PONG";
      }
    } else if (auto r = parseHttpResponse(c.input(), used)) {
      c.consume(used);
      return r->status != 503;
    }
    if (c.fill(deadline) != WireStream::Fill::Data) return false;
  }
}

// What a connection past the limit got: "" when it is the documented
// refusal followed by a close, else what it was.
std::string refusal(WireStream& c, bool resp) {
  auto deadline = Clock::now() + 3s;
  if (!resp) c.sendAll(kHttpProbe, deadline);  // HTTP answers a request; RESP speaks first
  if (!c.waitForClose(deadline)) return "still open after 3 s: " + std::string(c.input());
  std::string got(c.input());
  if (resp) {
    return got == "-ERR max number of clients reached\r\n" ? "" : "got " + got;
  }
  size_t used = 0;
  auto r = parseHttpResponse(got, used);
  if (!r) return "no whole answer: " + got.substr(0, 120);
  if (r->status != 503 || errorCode(r->body) != "too_many_connections") {
    return "got " + std::to_string(r->status) + " " + r->body.substr(0, 120);
  }
  return used == got.size() ? "" : "bytes after the 503";
}

std::string connectionSeries(const Listener& l, const char* what) {
  return std::string(l.resp ? "redge_resp_connections_" : "redge_http_connections_") + what +
         "{service=\"" + l.service + "\"}";
}

// Peak RSS growth of redge since `before`, once it has settled.
int64_t peakGrowthKib(const RedgeProcess& redge, int64_t before) {
  int64_t last = -2, now = -1;
  waitUntil(
      [&] {
        last = now;
        now = peakResidentKib(redge.pid());
        return now == last;
      },
      5000ms, 200ms);
  return now - before;
}

}  // namespace

TEST_CASE("flood: connections past max_connections on every listener hold no slot",
          "[chaos][flood]") {
  constexpr int kLimit = 20;
  constexpr int kFlood = 200;
  TestStack s = cacheStack({"http.max_connections=" + std::to_string(kLimit),
                            "cacheproxy.max_connections=" + std::to_string(kLimit)});
  const std::vector<Listener> listeners = {{"app", s.redge.appPort(), false},
                                           {"admin", s.redge.adminPort(), false},
                                           {"cacheproxy", s.redge.cacheHttpPort(), false},
                                           {"cacheproxy", s.redge.cacheRespPort(), true}};
  const int64_t before = peakResidentKib(s.redge.pid());
  for (const Listener& l : listeners) {
    INFO("listener " << l.service << (l.resp ? " RESP" : " HTTP") << " port " << l.port);
    const double rejected_before =
        scrapeMetric(s.redge, connectionSeries(l, "rejected_total")).value_or(0);
    // Fill every slot with a served client.
    std::vector<std::unique_ptr<WireStream>> held;
    for (int i = 0; i < kLimit; ++i) {
      held.push_back(std::make_unique<WireStream>(l.port));
      REQUIRE(servedOn(*held.back(), l.resp));
    }
    // The flood: all connected at once, then each one's answer read.
    std::vector<std::unique_ptr<WireStream>> flood;
    for (int i = 0; i < kFlood; ++i) flood.push_back(std::make_unique<WireStream>(l.port, 3000ms));
    std::vector<std::string> wrong;
    for (auto& c : flood) {
      std::string r = refusal(*c, l.resp);
      if (!r.empty()) wrong.push_back(r);
    }
    INFO(wrong.size() << " of " << kFlood << " not refused as documented; first: "
                      << (wrong.empty() ? "" : wrong.front()));
    CHECK(wrong.empty());
    // The served clients never noticed.
    for (auto& c : held) CHECK(servedOn(*c, l.resp));
    // The refused sockets are still open on the client side; they must not
    // hold a slot: give one back and a newcomer is served at once.
    held.pop_back();
    auto freed = Clock::now();
    bool admitted = waitUntil(
        [&] {
          try {
            WireStream c(l.port);
            return servedOn(c, l.resp);
          } catch (const std::exception&) {
            return false;
          }
        },
        3000ms, 20ms);
    CHECK(admitted);
    CHECK(msSince(freed) < 1000);
    held.clear();
    flood.clear();
    // Counted: the flood, plus the newcomers that tried while the slot was
    // still being freed.
    const double rejected =
        scrapeMetric(s.redge, connectionSeries(l, "rejected_total")).value_or(-1);
    CHECK(rejected - rejected_before >= kFlood);
    CHECK(rejected - rejected_before <= kFlood + 60);
    // Nothing lingers: the open gauge falls back to the scrape itself (admin)
    // or zero.
    const double idle = l.service == "admin" ? 1 : 0;
    CHECK(waitUntil([&] { return scrapeMetric(s.redge, connectionSeries(l, "open")) == idle; },
                    5000ms, 50ms));
  }
  const int64_t growth = peakGrowthKib(s.redge, before);
  WARN("connection floods of " << kFlood << " on 4 listeners: peak RSS growth " << growth
                               << " KiB");
  CHECK(growth < 16 * 1024);
  CHECK(stillServes(s.redge));
}

TEST_CASE("flood: 100,000 pipelined requests on one connection come back in order",
          "[chaos][flood][pipeline]") {
  constexpr int kRequests = 100000;
  constexpr int kKeys = 100;
  TestStack s = cacheStack();
  for (int k = 0; k < kKeys; ++k) {
    s.redis.command({"SET", std::string("p").append(std::to_string(k)),
                     std::string("value-").append(std::to_string(k))});
  }
  const bool resp = GENERATE(false, true);
  INFO((resp ? "RESP" : "HTTP"));
  std::string pipeline;
  for (int i = 0; i < kRequests; ++i) {
    std::string key = std::string("p").append(std::to_string(i % kKeys));
    if (resp) {
      pipeline += "*2\r\n$3\r\nGET\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
    } else {
      pipeline += "GET /" + key + " HTTP/1.1\r\nHost: x\r\n\r\n";
    }
  }
  const int64_t before = peakResidentKib(s.redge.pid());
  WireStream c(resp ? s.redge.cacheRespPort() : s.redge.cacheHttpPort());
  auto start = Clock::now();
  auto deadline = start + 60s;
  // Written whole, read while writing: redge pauses a connection that is
  // far ahead of its reader, so both directions must flow.
  REQUIRE(c.sendAll(pipeline, deadline));
  int answered = 0;
  std::string first_wrong;
  while (answered < kRequests) {
    size_t used = 0;
    std::string expected = std::string("value-").append(std::to_string(answered % kKeys));
    bool parsed = false;
    if (resp) {
      if (auto r = parseRespReply(c.input(), used)) {
        parsed = true;
        if (r->text != expected && first_wrong.empty()) {
          first_wrong = "reply " + std::to_string(answered) + ": " + r->summary();
        }
      }
    } else if (auto r = parseHttpResponse(c.input(), used)) {
      parsed = true;
      if ((r->status != 200 || r->body != expected) && first_wrong.empty()) {
        first_wrong = "answer " + std::to_string(answered) + ": " + std::to_string(r->status) +
                      " " + r->body.substr(0, 80);
      }
    }
    if (parsed) {
      c.consume(used);
      ++answered;
      continue;
    }
    if (c.fill(deadline) != WireStream::Fill::Data) break;
  }
  const long long took = msSince(start);
  const int64_t growth = peakGrowthKib(s.redge, before);
  WARN((resp ? "RESP" : "HTTP") << ": " << answered << " of " << kRequests
                                << " pipelined answers in " << took << " ms, peak RSS growth "
                                << growth << " KiB");
  CHECK(answered == kRequests);
  INFO(first_wrong);
  CHECK(first_wrong.empty());
  CHECK(growth < 64 * 1024);
  CHECK(stillServes(s.redge));
}

TEST_CASE("flood: oversized RESP commands and declared lengths from many clients at once",
          "[chaos][flood][resp]") {
  struct Shape {
    const char* name;
    std::string bytes;
    std::string reply;
  };
  const std::vector<Shape> shapes = {
      {"a 1 MiB inline command", "GET " + std::string(1 << 20, 'a') + "\r\n",
       "-ERR Protocol error: too big inline request\r\n"},
      {"a bulk length of 2^31", "*2\r\n$3\r\nGET\r\n$2147483648\r\n",
       "-ERR Protocol error: invalid bulk length\r\n"},
      {"a bulk length of 2^63", "*1\r\n$9223372036854775808\r\n",
       "-ERR Protocol error: invalid bulk length\r\n"},
      {"a multibulk count of 2^31", "*2147483648\r\n",
       "-ERR Protocol error: invalid multibulk length\r\n"},
      {"a 1 MiB bulk length line", "*1\r\n$" + std::string(1 << 20, '9') + "\r\n",
       "-ERR Protocol error: too big bulk count string\r\n"},
  };
  constexpr int kClients = 40;
  TestStack s = cacheStack();
  const int64_t before = peakResidentKib(s.redge.pid());
  for (const Shape& shape : shapes) {
    INFO(shape.name);
    std::vector<std::unique_ptr<WireStream>> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.push_back(std::make_unique<WireStream>(s.redge.cacheRespPort()));
    }
    // Everyone starts sending before anyone reads: the big ones arrive
    // interleaved, as a flood would.
    std::vector<size_t> sent(kClients, 0);
    auto deadline = Clock::now() + 10s;
    bool sending = true;
    while (sending && Clock::now() < deadline) {
      sending = false;
      for (int i = 0; i < kClients; ++i) {
        if (sent[i] >= shape.bytes.size() || clients[i]->peerClosed()) continue;
        long n = clients[i]->sendSome(std::string_view(shape.bytes).substr(sent[i], 65536));
        if (n < 0) {
          sent[i] = shape.bytes.size();  // closed on us: the refusal came early
          continue;
        }
        sent[i] += static_cast<size_t>(n);
        sending = true;
        clients[i]->fill(Clock::now());  // take what has arrived, without waiting
      }
    }
    std::vector<std::string> wrong;
    for (auto& c : clients) {
      if (!c->waitForClose(Clock::now() + 3s)) {
        wrong.push_back("still open");
      } else if (c->input() != shape.reply) {
        wrong.push_back("got " + std::string(c->input().substr(0, 120)));
      }
    }
    INFO(wrong.size() << " of " << kClients << " not answered as Redis would; first: "
                      << (wrong.empty() ? "" : wrong.front()));
    CHECK(wrong.empty());
  }
  const int64_t growth = peakGrowthKib(s.redge, before);
  WARN("oversized RESP commands from " << kClients << " clients at once: peak RSS growth " << growth
                                       << " KiB");
  CHECK(growth < 16 * 1024);
  CHECK(scrapeMetric(s.redge, "redge_resp_protocol_errors_total{service=\"cacheproxy\"}") ==
        kClients * static_cast<int>(shapes.size()));
  RedisConnection fresh(s.redge.cacheRespPort());
  CHECK(fresh.command({"PING"}).str == "PONG");
  CHECK(stillServes(s.redge));
}

TEST_CASE("flood: oversized HTTP heads and declared bodies from many clients at once",
          "[chaos][flood][http]") {
  struct Shape {
    const char* name;
    std::string bytes;
    int status;
    const char* code;
  };
  const std::vector<Shape> shapes = {
      {"a 1 MiB header line",
       "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n", 431,
       "headers_too_large"},
      {"a 1 MiB request line", "GET /" + std::string(1 << 20, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
       431, "headers_too_large"},
      {"Content-Length 2^31 on POST /messages",
       "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       "Content-Length: 2147483648\r\n\r\n{",
       413, "body_too_large"},
      {"Content-Length past 2^64",
       "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
       "99999999999999999999999\r\n\r\n",
       400, "bad_request"},
      {"a chunk size past 2^64",
       "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n",
       400, "bad_request"},
  };
  constexpr int kClients = 40;
  TestStack s;
  const int64_t before = peakResidentKib(s.redge.pid());
  for (const Shape& shape : shapes) {
    INFO(shape.name);
    std::vector<std::unique_ptr<WireStream>> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.push_back(std::make_unique<WireStream>(s.redge.appPort()));
    }
    std::vector<size_t> sent(kClients, 0);
    auto deadline = Clock::now() + 10s;
    bool sending = true;
    while (sending && Clock::now() < deadline) {
      sending = false;
      for (int i = 0; i < kClients; ++i) {
        if (sent[i] >= shape.bytes.size() || clients[i]->peerClosed()) continue;
        long n = clients[i]->sendSome(std::string_view(shape.bytes).substr(sent[i], 65536));
        if (n < 0) {
          sent[i] = shape.bytes.size();
          continue;
        }
        sent[i] += static_cast<size_t>(n);
        sending = true;
        clients[i]->fill(Clock::now());
      }
    }
    std::vector<std::string> wrong;
    for (auto& c : clients) {
      if (!c->waitForClose(Clock::now() + 3s)) {
        wrong.push_back("still open");
        continue;
      }
      std::string got(c->input());
      size_t used = 0;
      std::optional<RawResponse> r;
      try {
        r = parseHttpResponse(got, used);
      } catch (const std::exception& e) {
        wrong.push_back(e.what());
        continue;
      }
      if (!r || r->status != shape.status || errorCode(r->body) != shape.code) {
        wrong.push_back("got " + got.substr(0, 160));
      }
    }
    INFO(wrong.size() << " of " << kClients << " not refused as documented; first: "
                      << (wrong.empty() ? "" : wrong.front()));
    CHECK(wrong.empty());
  }
  const int64_t growth = peakGrowthKib(s.redge, before);
  WARN("oversized HTTP requests from " << kClients << " clients at once: peak RSS growth " << growth
                                       << " KiB");
  CHECK(growth < 16 * 1024);
  CHECK(stillServes(s.redge));
}

// Four clients pipelining small requests as fast as they can (and reading
// every answer) must not hold a normal client's requests for seconds. libuv
// would read a readable connection up to 32 times per loop iteration into
// the 64 KiB shared buffer; redge takes one full buffer per connection per
// iteration and lets the others have their turn (StreamConnection's yield),
// as redis-server reads 16 KiB per client per iteration.
TEST_CASE("flood: clients pipelining as fast as they can do not starve a normal client",
          "[chaos][flood][pipeline]") {
  const bool resp = GENERATE(false, true);
  INFO((resp ? "RESP" : "HTTP"));
  constexpr int kPipeliners = 4;
  TestStack s = cacheStack();
  REQUIRE(s.redis.command({"SET", "small", "s"}).str == "OK");
  REQUIRE(httpGet(s.cache("/small")).status == 200);
  using Wire = LoadRequest::Wire;
  LoadDriver normal(
      {{"app GET /", Wire::Http, s.redge.appPort(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
       {"cacheproxy GET /small", Wire::Http, s.redge.cacheHttpPort(),
        "GET /small HTTP/1.1\r\nHost: x\r\n\r\n"},
       {"cacheproxy RESP GET small", Wire::Resp, s.redge.cacheRespPort(), "GET small\r\n"}},
      LoadOptions{.workers = 2, .interval = 10ms});
  const std::string unit = resp ? "*1\r\n$4\r\nPING\r\n" : "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string batch;
  while (batch.size() < 65536) batch += unit;
  std::atomic<bool> stop{false};
  std::atomic<size_t> pushed{0};
  std::vector<std::thread> pipeliners;
  normal.start();
  for (int i = 0; i < kPipeliners; ++i) {
    pipeliners.emplace_back([&] {
      // Writes whole batches and throws every answer away: a client that
      // reads all it is given, just far faster than it needs to.
      try {
        WireStream c(resp ? s.redge.cacheRespPort() : s.redge.appPort());
        size_t offset = 0;
        while (!stop) {
          long n = c.sendSome(std::string_view(batch).substr(offset));
          if (n < 0) return;
          pushed += static_cast<size_t>(n);
          offset = (offset + static_cast<size_t>(n)) % batch.size();
          c.fill(Clock::now() + 1ms);
          c.consume(c.input().size());
        }
      } catch (const std::exception&) {
      }
    });
  }
  holdLoad(5000ms);
  stop = true;
  for (auto& t : pipeliners) t.join();
  normal.stop();
  const std::vector<LoadOutcome> served = normal.outcomes();
  double slowest = 0;
  for (const auto& o : served) slowest = std::max(slowest, o.latencyMs());
  WARN((resp ? "RESP" : "HTTP") << ": " << kPipeliners << " pipeliners pushed "
                                << pushed / unit.size()
                                << " requests in 5 s; normal client: " << served.size()
                                << " requests, slowest " << static_cast<long>(slowest) << " ms");
  INFO(summarizeLoad(normal, served));
  for (const auto& line : slowOrUnanswered(normal, served, 1000, 20)) UNSCOPED_INFO(line);
  CHECK(slowOrUnanswered(normal, served, 1000).empty());
  CHECK(improperFailures(normal, served, {}).empty());
}
