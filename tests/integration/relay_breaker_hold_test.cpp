// The third failure kind, circuit_open, as the relay shows it on its own:
// while the breaker is open, each message whose turn comes (a new one, or a
// retry whose time has come) is refused without being sent, with its log
// line, its record's last_error and the metric; its attempt is not counted;
// it is held until the breaker half-opens, so it is refused at most once per
// open period and an open breaker costs a few Redis commands per message,
// not a busy loop; and once the upstream heals, every message is delivered
// exactly once.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <utility>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/relay_api.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

std::string acceptedId(const HttpReply& r) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 202);
  auto id = jsonString(r.body, "id");
  REQUIRE(id);
  return *id;
}

// Commands Redis has run so far (INFO stats), to bound what an open breaker
// costs.
int64_t commandsProcessed(const RedisServer& redis) {
  std::string info = redis.command({"INFO", "stats"}).str;
  const std::string key = "total_commands_processed:";
  size_t at = info.find(key);
  if (at == std::string::npos) return -1;
  return std::atoll(info.c_str() + at + key.size());
}

// circuit_open refusals per (message id, open period), the periods numbered
// by the breaker_open lines before them (1 = the first open). A period runs
// from one breaker_open to the next, its half-open phase included.
std::map<std::pair<std::string, int>, int> refusalsByPeriod(const std::string& log) {
  std::map<std::pair<std::string, int>, int> out;
  int period = 0;
  size_t begin = 0;
  while (begin < log.size()) {
    size_t end = log.find('\n', begin);
    if (end == std::string::npos) break;
    std::string line = log.substr(begin, end - begin);
    begin = end + 1;
    if (line.find(" event=breaker_open ") != std::string::npos) {
      ++period;
    } else if (line.find(" event=delivery_failed kind=circuit_open ") != std::string::npos) {
      ++out[{logfmtValue(line, "id"), period}];
    }
  }
  return out;
}

}  // namespace

TEST_CASE(
    "relay: while the breaker is open, a message whose turn comes is refused once per open "
    "period, held, not counted, and delivered once after healing",
    "[relay][breaker]") {
  // Two failures in a row open the breaker, for 2 s each time (the cap
  // stops the doubling, so each period is long enough to watch and the test
  // stays short). The ratio rule is out of reach; max_attempts is high
  // enough that nothing is dead-lettered.
  RelayStack s({"relay.breaker.consecutive_failures=2", "relay.breaker.min_calls=1000",
                "relay.breaker.open_ms=2000", "relay.breaker.max_open_ms=2000",
                "relay.max_attempts=50", "relay.queue_max=30", "relay.queue_recovery=5"},
               {"--error-ratio", "1"});

  // --- Two messages fail and open the breaker. ----------------------------
  std::vector<std::string> ids;
  ids.push_back(acceptedId(postMessage(s.redge, "d", "opens 1")));
  ids.push_back(acceptedId(postMessage(s.redge, "d", "opens 2")));
  REQUIRE(s.redge.waitForLog("event=breaker_open ", 3000ms));
  REQUIRE(logLinesWith(s.redge.logText(), "event=delivery_failed kind=upstream_error ").size() ==
          2);

  // --- New messages while it is open: refused at once, nothing sent. -----
  std::vector<std::string> later;
  for (int i = 0; i < 6; ++i) {
    later.push_back(acceptedId(postMessage(s.redge, "d", "while open " + std::to_string(i))));
  }
  ids.insert(ids.end(), later.begin(), later.end());
  // The two failed messages' retries come due inside this open period too
  // (backoff 250..500 ms): refused and held like the rest.
  RelayStats held;
  bool all_held = waitUntil(
      [&] {
        held = relayStats(s.redge);
        return held.valid && held.held_by_breaker == 8;
      },
      1500ms, 10ms);
  {
    INFO(held.raw);
    INFO(s.redge.logText());
    REQUIRE(all_held);
    CHECK(held.breaker_state == "open");
    CHECK(held.queue_depth == 8);  // held messages keep their place in the queue's depth
    CHECK(held.ready == 0);
    CHECK(held.retry_scheduled == 0);
    CHECK(held.processing == 0);
    CHECK(held.failures("circuit_open") == 8);
    CHECK(held.rejected_total == 8);
  }
  UpstreamStats up_open = s.upstream.stats();
  INFO(up_open.raw);
  CHECK(up_open.requests == 2);  // the two that opened it, nothing since
  for (const auto& id : later) {
    INFO(id);
    auto lines =
        logLinesWith(s.redge.logText(), "event=delivery_failed kind=circuit_open id=" + id + " ");
    REQUIRE(lines.size() == 1);
    CHECK(logfmtValue(lines[0], "attempt") == "1");
    RelayMessageReply r = getMessage(s.redge, id);
    INFO(r.body);
    REQUIRE(r.message.valid);
    CHECK(r.message.status == "queued");
    CHECK(r.message.attempts == 0);  // refused: not counted as an attempt
    CHECK(r.message.has_error);
    CHECK(r.message.error_kind == "circuit_open");
    CHECK(r.message.error_detail.find("not sent") != std::string::npos);
    CHECK(up_open.attemptsOf(id) == 0);
  }
  for (size_t i = 0; i < 2; ++i) {
    RelayMessageReply r = getMessage(s.redge, ids[i]);
    INFO(r.body);
    CHECK(r.message.attempts == 1);  // its one real attempt; the refusal added none
    CHECK(r.message.error_kind == "circuit_open");
  }
  CHECK(scrapeMetric(s.redge, "redge_relay_delivery_failures_total{kind=\"circuit_open\"}") == 8.0);

  // --- Held, not polled: the open breaker costs next to nothing. ---------
  // Per 100 ms poll: one promote and one hold step that finds the queue
  // empty. A worker taking and refusing the same messages again and again
  // would run thousands of commands in this window.
  RelayStats window = relayStats(s.redge);
  INFO(window.raw);
  REQUIRE(window.remaining_open_ms >= 600);
  int64_t before = commandsProcessed(s.redis);
  std::this_thread::sleep_for(400ms);  // a measuring window, not a wait for a condition
  int64_t spent = commandsProcessed(s.redis) - before;
  CHECK(relayStats(s.redge).breaker_state == "open");
  INFO("commands in 400 ms while open: " << spent);
  CHECK(spent >= 1);
  CHECK(spent <= 40);

  // --- Two more open periods: each failed probe re-opens it. -------------
  REQUIRE(waitUntil(
      [&] { return logLinesWith(s.redge.logText(), "event=breaker_open ").size() >= 3; }, 8000ms));

  // --- The upstream heals: everything is delivered, once. -----------------
  s.upstream.configure(R"({"error_ratio":0})");
  SettledMessages fin = waitForSettled(s.redge, ids, 15000ms);
  INFO(fin.pending);
  INFO(s.redge.logText());
  REQUIRE(fin.settled);
  REQUIRE(waitUntil([&] { return s.upstream.stats().pending == 0; }, 3000ms));
  UpstreamStats up = s.upstream.stats();
  INFO(up.raw);
  for (const auto& id : ids) {
    const RelayMessage& m = fin.records[id];
    INFO(m.raw);
    CHECK(m.status == "sent");
    CHECK(up.deliveriesOf(id) == 1);
    // Only requests that reached the upstream are attempts.
    CHECK(m.attempts == up.attemptsOf(id));
  }
  CHECK(up.duplicates == 0);

  // At most one refusal per message per open period; every message posted
  // while open was refused in the first one.
  const std::string log = s.redge.logText();
  auto refusals = refusalsByPeriod(log);
  size_t total = 0;
  for (const auto& [key, n] : refusals) {
    INFO("message " << key.first << " open period " << key.second);
    CHECK(key.second >= 1);
    CHECK(n == 1);
    total += static_cast<size_t>(n);
  }
  for (const auto& id : later) {
    INFO(id);
    CHECK(refusals.count({id, 1}) == 1);
  }
  // The periods after the first refused the waiting messages again (all but
  // each period's probe): held until half-open, then refused anew.
  CHECK(total > 8);

  // One story in the log, the record, the stats and the metric.
  RelayStats st;
  REQUIRE(waitUntil(
      [&] {
        st = relayStats(s.redge);
        return st.valid && st.queue_depth == 0 && st.in_flight == 0;
      },
      3000ms));
  INFO(st.raw);
  CHECK(st.held_by_breaker == 0);
  CHECK(st.breaker_state == "closed");
  CHECK(st.status("sent") == static_cast<int64_t>(ids.size()));
  CHECK(st.failures("circuit_open") == static_cast<int64_t>(total));
  CHECK(st.rejected_total == static_cast<int64_t>(total));
  CHECK(scrapeMetric(s.redge, "redge_relay_delivery_failures_total{kind=\"circuit_open\"}") ==
        static_cast<double>(total));
}
