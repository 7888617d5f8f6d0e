// redge SIGKILLed under load, three times in a row, with POST /messages
// arriving from four clients and deliveries in flight at a slow upstream: the
// kill lands mid-enqueue (requests that never get their answer) and
// mid-delivery (ids left in the processing list). After the last restart
// every message that was answered 202 must end sent (the upstream is
// healthy), every message Redis holds must end final (also those whose 202
// never reached the client), the upstream must have received nothing redge
// did not store, and only an id that was in flight at a kill may have been
// delivered twice.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "chaos_stack.hpp"
#include "fault_verdict.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// redge names its processing list after gethostname(), so a restart on the
// same host finds it again.
std::string processingKey() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    return "redge:relay:processing:local";
  }
  return std::string("redge:relay:processing:") + host;
}

}  // namespace

TEST_CASE("relay: redge SIGKILLed mid-enqueue and mid-delivery loses no accepted message",
          "[chaos][relay]") {
  constexpr int kKills = 3;
  TempDir dir;
  RedisServer redis(dir);
  // Slow enough that every kill finds deliveries in flight.
  FakeUpstreamProcess upstream(dir, {"--latency-ms", "20"});
  // A fixed app port, so the clients find each new redge where the last was.
  const int app_port = findFreePort();
  const auto settings =
      relaySettings(upstream, {"app.port=" + std::to_string(app_port), "relay.queue_max=100000",
                               "relay.queue_recovery=50000", "relay.concurrency=8"});
  auto redge = std::make_unique<RedgeProcess>(dir, redis, settings);
  redge->waitUntilReady();

  const std::string body = messageJson("chaos", "crash under load");
  LoadDriver load({{"relay POST /messages",
                    LoadRequest::Wire::Http,
                    app_port,
                    "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    "application/json\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body,
                    {202}}},
                  LoadOptions{.workers = 4, .interval = 10ms});
  load.start();
  // How many times each id was in flight at a kill: its bound on deliveries.
  std::map<std::string, int> stranded;
  std::vector<double> kill_ms;
  for (int kill = 0; kill < kKills; ++kill) {
    holdLoad(800ms);
    REQUIRE(waitUntil([&] { return upstream.stats().pending > 0; }, 3000ms, 5ms));
    // Mid-enqueue: a POST is on its way (spin; a request lasts about a millisecond).
    waitUntil([&] { return load.inFlight() > 0; }, 1000ms, 0ms);
    kill_ms.push_back(load.nowMs());
    redge->kill9();
    RedisValue processing = redis.command({"LRANGE", processingKey(), "0", "-1"});
    for (const auto& e : processing.elements) ++stranded[e.str];
    redge = std::make_unique<RedgeProcess>(dir, redis, settings);
    redge->waitUntilReady();
  }
  holdLoad(800ms);
  load.stop();

  const std::vector<LoadOutcome> all = load.outcomes();
  std::vector<std::string> ids;
  size_t cut_mid_request = 0;
  for (const auto& o : all) {
    std::string id = acceptedId(o);
    if (!id.empty()) ids.push_back(id);
    // Sent before a kill and never answered: cut off mid-request (not a
    // request that found the connection already dead after it).
    for (double k : kill_ms) {
      if (o.failure == "closed without an answer" && o.sent_ms < k && o.done_ms >= k) {
        ++cut_mid_request;
      }
    }
  }
  WARN(kKills << " kills: " << ids.size() << " messages accepted, " << cut_mid_request
              << " posts cut off unanswered, " << stranded.size() << " ids in flight at a kill");
  INFO(summarizeLoad(load, all));
  REQUIRE(ids.size() > 100);
  CHECK(cut_mid_request > 0);  // a kill landed while requests were in flight
  CHECK(!stranded.empty());    // ... and while deliveries were

  SettledMessages fin = waitForSettled(*redge, ids, 60000ms);
  INFO("not settled: " << fin.pending.substr(0, 600));
  REQUIRE(fin.settled);
  REQUIRE(waitUntil([&] { return upstream.stats().pending == 0; }, 5000ms));
  UpstreamStats up = upstream.stats();

  std::vector<std::string> lost, wrong_count;
  for (const auto& id : ids) {
    const RelayMessage& m = fin.records[id];
    int64_t delivered = up.deliveriesOf(id);
    if (m.status != "sent" || delivered < 1) {
      lost.push_back(id + " " + m.status + " delivered " + std::to_string(delivered));
    } else if (delivered > 1 + (stranded.count(id) ? stranded[id] : 0)) {
      wrong_count.push_back(id + " delivered " + std::to_string(delivered));
    }
  }
  INFO("first lost: " << (lost.empty() ? "" : lost.front()));
  CHECK(lost.empty());
  INFO("first delivered more often than it was in flight at a kill: "
       << (wrong_count.empty() ? "" : wrong_count.front()));
  CHECK(wrong_count.empty());

  // Everything Redis holds, including messages stored by a POST whose 202
  // was cut off, ends final; nothing reached the upstream that was not stored.
  RedisValue every = redis.command({"ZRANGE", "redge:relay:status:all", "0", "-1"});
  std::set<std::string> stored;
  for (const auto& e : every.elements) stored.insert(e.str);
  CHECK(stored.size() >= ids.size());
  std::vector<std::string> stored_ids(stored.begin(), stored.end());
  SettledMessages everything = waitForSettled(*redge, stored_ids, 30000ms);
  INFO("stored but not final: " << everything.pending.substr(0, 600));
  CHECK(everything.settled);
  for (const auto& [key, n] : up.deliveries) {
    INFO("delivered but never stored: " << key);
    CHECK(stored.count(key) == 1);
  }
  CHECK(redis.command({"LLEN", processingKey()}).integer == 0);
  CHECK(redis.command({"LLEN", "redge:relay:queue"}).integer == 0);
}
