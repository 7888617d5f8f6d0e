// The relay's whole failure story in one run, as an operator would live it:
// a healthy upstream, then one that hangs (timeouts) and one that answers 500
// (upstream_error), the breaker opening (and refusing a message it had
// already taken: circuit_open), the queue filling until POST /messages
// answers 503 queue_full with Retry-After, the upstream healing, a half-open
// probe closing the breaker, the queue draining with intake held off until
// the recovery threshold, and in the end every accepted message delivered
// exactly once or failed with its reason.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <set>
#include <string>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/relay_api.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// A Redis frozen by the test is thawed however the test leaves the scope, so
// a failed REQUIRE never leaves a stopped process behind for the teardown.
struct ThawOnExit {
  RedisServer& redis;
  ~ThawOnExit() { redis.resume(); }
};

size_t countLines(const RedgeProcess& redge, const std::string& needle, size_t from) {
  return logLinesWith(redge.logText(), needle, from).size();
}

}  // namespace

TEST_CASE(
    "relay: breaker opens on a failing upstream, the queue fills and refuses, and after healing "
    "every accepted message is delivered once",
    "[relay][scenario]") {
  // Small periods keep the run short. consecutive_failures equals the
  // concurrency so that one round of four timeouts opens the breaker; the
  // ratio (0.5 over at least 5 calls) cannot trip first, because the healthy
  // phase leaves 6 successes in the 10 s window. command_timeout_ms covers
  // the moment the test freezes Redis below.
  RelayStack s(
      {"relay.timeout_ms=600", "relay.concurrency=4", "relay.max_attempts=10", "relay.queue_max=10",
       "relay.queue_recovery=5", "relay.breaker.consecutive_failures=4",
       "relay.breaker.min_calls=5", "relay.breaker.failure_ratio=0.5",
       "relay.breaker.window_ms=10000", "relay.breaker.open_ms=500",
       "relay.breaker.max_open_ms=2000", "redis.command_timeout_ms=3000"},
      {"--latency-ms", "20"});
  std::vector<std::string> accepted;
  int serial = 0;
  auto post = [&]() {
    std::string body = "message ";
    body += std::to_string(++serial);
    HttpReply r = postMessage(s.redge, "scenario", body);
    if (r.status == 202) {
      auto id = jsonString(r.body, "id");
      REQUIRE(id);
      accepted.push_back(*id);
    }
    return r;
  };

  // --- 1. Healthy: messages go straight through. -------------------------
  for (int i = 0; i < 6; ++i) REQUIRE(post().status == 202);
  {
    SettledMessages healthy = waitForSettled(s.redge, accepted, 5000ms);
    INFO(healthy.pending);
    REQUIRE(healthy.settled);
    UpstreamStats up = s.upstream.stats();
    INFO(up.raw);
    for (const auto& id : accepted) {
      CHECK(healthy.records[id].status == "sent");
      CHECK(up.deliveriesOf(id) == 1);
    }
    RelayStats st = relayStats(s.redge);
    CHECK(st.breaker_state == "closed");
  }

  // --- 2. The upstream hangs: four deliveries time out together. ---------
  // Six messages: four taken (the concurrency) and hanging, two queued.
  // Redis is frozen while the four time out, so a take that refills a slot
  // freed by an early timeout is still unanswered when the fourth timeout
  // opens the breaker; when Redis answers, it brings a message the breaker
  // refuses (circuit_open), which goes back to the queue.
  const size_t mark_sick = s.redge.logText().size();
  s.upstream.configure(R"({"down":true,"down_mode":"hang"})");
  for (int i = 0; i < 6; ++i) REQUIRE(post().status == 202);
  UpstreamStats hanging;
  REQUIRE(waitUntil(
      [&] {
        hanging = s.upstream.stats();
        return hanging.parked == 4;
      },
      3000ms, 5ms));
  {
    ThawOnExit thaw{s.redis};
    s.redis.pause();
    bool timed_out = waitUntil(
        [&] { return countLines(s.redge, "event=delivery_failed kind=timeout ", mark_sick) >= 4; },
        3000ms, 5ms);
    bool opened = waitUntil(
        [&] { return countLines(s.redge, "event=breaker_open ", mark_sick) >= 1; }, 1000ms, 5ms);
    s.redis.resume();
    INFO(s.redge.logText().substr(mark_sick));
    REQUIRE(timed_out);
    REQUIRE(opened);
  }
  {
    bool refused = waitUntil(
        [&] {
          return countLines(s.redge, "event=delivery_failed kind=circuit_open ", mark_sick) >= 1;
        },
        3000ms);
    INFO(s.redge.logText().substr(mark_sick));
    CHECK(refused);
    auto open_lines = logLinesWith(s.redge.logText(), "event=breaker_open ", mark_sick);
    REQUIRE(!open_lines.empty());
    CHECK(logfmtValue(open_lines[0], "from") == "closed");
    CHECK(logfmtValue(open_lines[0], "consecutive_failures") == "4");
    for (const auto& line :
         logLinesWith(s.redge.logText(), "event=delivery_failed kind=timeout ", mark_sick)) {
      CHECK(logfmtValue(line, "attempt") == "1");
      CHECK(!logfmtValue(line, "id").empty());
    }
  }

  // --- 3. The upstream answers again, but only 500s. ---------------------
  s.upstream.configure(R"({"down":false,"error_ratio":1,"latency_ms":20})");
  {
    bool errored = waitUntil(
        [&] {
          return countLines(s.redge, "event=delivery_failed kind=upstream_error ", mark_sick) >= 1;
        },
        5000ms);
    INFO(s.redge.logText().substr(mark_sick));
    REQUIRE(errored);
    auto line = logLinesWith(s.redge.logText(), "kind=upstream_error ", mark_sick)[0];
    CHECK(line.find("detail=\"HTTP 500\"") != std::string::npos);
  }
  RelayStats open_stats;
  REQUIRE(waitUntil(
      [&] {
        open_stats = relayStats(s.redge);
        return open_stats.valid && open_stats.breaker_state == "open";
      },
      5000ms, 10ms));
  {
    INFO(open_stats.raw);
    CHECK(open_stats.remaining_open_ms > 0);
    CHECK(open_stats.remaining_open_ms <= 2000);
    CHECK(open_stats.opened_total >= 1);
    CHECK(open_stats.rejected_total >= 1);  // the circuit_open refusal
  }

  // --- 4. Nothing is taken while the breaker is open: the queue fills. ---
  const size_t mark_full = s.redge.logText().size();
  HttpReply full;
  for (int i = 0; i < 40; ++i) {
    HttpReply r = post();
    if (r.status == 503) {
      full = r;
      break;
    }
    INFO(r.body);
    REQUIRE(r.status == 202);
  }
  {
    INFO(full.body);
    REQUIRE(full.status == 503);
    CHECK(errorCode(full.body) == "queue_full");
    CHECK(full.header("Content-Type").rfind("application/json", 0) == 0);
    int retry_after = std::atoi(full.header("Retry-After").c_str());
    CHECK(retry_after >= 1);
    CHECK(retry_after <= 60);
    CHECK(jsonInt(full.body, "retry_after_s") == retry_after);
    auto depth = jsonInt(full.body, "queue_depth");
    REQUIRE(depth);
    CHECK(*depth >= 10);
    auto disabled = logLinesWith(s.redge.logText(), "event=enqueue_disabled ", mark_full);
    INFO(s.redge.logText().substr(mark_full));
    REQUIRE(disabled.size() == 1);
    CHECK(logfmtValue(disabled[0], "depth") == std::to_string(*depth));
    CHECK(logfmtValue(disabled[0], "max") == "10");
    CHECK(logfmtValue(disabled[0], "recovery") == "5");
  }
  // Still full: refused again, and the gate shows it.
  HttpReply again = post();
  CHECK(again.status == 503);
  CHECK(errorCode(again.body) == "queue_full");
  RelayStats full_stats = relayStats(s.redge);
  CHECK_FALSE(full_stats.accepting);
  CHECK(scrapeMetric(s.redge, "redge_relay_enqueue_enabled") == 0.0);

  // --- 5. The upstream heals, slowly enough to watch the queue drain. ----
  // 300 ms per delivery, four at a time: the depth steps down by four every
  // 300 ms, so it rests at some value from 6 to 9 long enough for a POST.
  const size_t mark_heal = s.redge.logText().size();
  s.upstream.configure(R"({"error_ratio":0,"latency_ms":300})");
  RelayStats draining;
  HttpReply mid;
  bool seen_between = waitUntil(
      [&] {
        draining = relayStats(s.redge);
        if (!draining.valid || draining.accepting || draining.queue_depth < 6 ||
            draining.queue_depth > 9) {
          return false;
        }
        mid = post();
        return true;
      },
      8000ms, 10ms);
  {
    INFO(draining.raw);
    INFO(s.redge.logText().substr(mark_heal));
    REQUIRE(seen_between);
    // Below max but above the recovery threshold: still refused.
    INFO(mid.body);
    CHECK(mid.status == 503);
    CHECK(errorCode(mid.body) == "queue_full");
    auto depth = jsonInt(mid.body, "queue_depth");
    CHECK(depth >= 6);
    CHECK(depth <= 9);
  }

  {
    bool closed = waitUntil(
        [&] { return countLines(s.redge, "event=breaker_closed ", mark_heal) >= 1; }, 6000ms);
    INFO(s.redge.logText().substr(mark_sick));
    REQUIRE(closed);
    auto line = logLinesWith(s.redge.logText(), "event=breaker_closed ", mark_heal)[0];
    CHECK(logfmtValue(line, "from") == "half_open");
    CHECK(countLines(s.redge, "event=breaker_half_open ", mark_sick) >= 1);
  }

  {
    bool enabled = waitUntil(
        [&] { return countLines(s.redge, "event=enqueue_enabled ", mark_heal) >= 1; }, 8000ms);
    INFO(s.redge.logText().substr(mark_heal));
    REQUIRE(enabled);
    auto lines = logLinesWith(s.redge.logText(), "event=enqueue_enabled ", mark_heal);
    CHECK(lines.size() == 1);
    // Exactly at the recovery threshold, not at max - 1.
    CHECK(logfmtValue(lines[0], "depth") == "5");
    CHECK(logfmtValue(lines[0], "recovery") == "5");
  }
  // Intake is back.
  HttpReply resumed = post();
  INFO(resumed.body);
  CHECK(resumed.status == 202);

  // --- 6. Everything accepted ends final: sent once, or failed with why. --
  SettledMessages fin = waitForSettled(s.redge, accepted, 20000ms);
  INFO(fin.pending);
  INFO(s.redge.logText().substr(mark_sick));
  REQUIRE(fin.settled);
  UpstreamStats up = s.upstream.stats();
  INFO(up.raw);
  REQUIRE(up.valid);
  int64_t sent = 0, failed = 0;
  for (const auto& id : accepted) {
    const RelayMessage& m = fin.records[id];
    INFO(m.raw);
    if (m.status == "sent") {
      ++sent;
      // Every 2xx reached the relay in time (300 ms < 600 ms), so at least
      // once is exactly once here.
      CHECK(up.deliveriesOf(id) == 1);
    } else {
      ++failed;
      CHECK(m.status == "failed");
      CHECK(m.has_error);
      CHECK(!m.error_kind.empty());
      CHECK(!m.error_detail.empty());
      CHECK(up.deliveriesOf(id) == 0);
    }
  }
  CHECK(up.duplicates == 0);
  CHECK(up.unique_delivered == sent);
  std::set<std::string> known(accepted.begin(), accepted.end());
  for (const auto& [key, n] : up.deliveries) {
    INFO(key);
    CHECK(known.count(key) == 1);  // nothing delivered that was not accepted
  }

  RelayStats st;
  REQUIRE(waitUntil(
      [&] {
        st = relayStats(s.redge);
        return st.valid && st.in_flight == 0 && st.queue_depth == 0;
      },
      3000ms));
  INFO(st.raw);
  CHECK(st.processing == 0);
  CHECK(st.retry_scheduled == 0);
  CHECK(st.accepting);
  CHECK(st.breaker_state == "closed");
  CHECK(st.status("sent") == sent);
  CHECK(st.status("failed") == failed);
  CHECK(st.status("queued") == 0);
  CHECK(st.status("delivering") == 0);
  CHECK(st.failures("timeout") >= 4);
  CHECK(st.failures("upstream_error") >= 1);
  CHECK(st.failures("circuit_open") >= 1);
  CHECK(st.opened_total >= 1);

  auto metric = [&](const std::string& series) { return scrapeMetric(s.redge, series); };
  CHECK(metric("redge_relay_delivery_failures_total{kind=\"timeout\"}") >= 4.0);
  CHECK(metric("redge_relay_delivery_failures_total{kind=\"upstream_error\"}") >= 1.0);
  CHECK(metric("redge_relay_delivery_failures_total{kind=\"circuit_open\"}") >= 1.0);
  CHECK(metric("redge_relay_breaker_transitions_total{to=\"open\"}") >= 1.0);
  CHECK(metric("redge_relay_breaker_transitions_total{to=\"half_open\"}") >= 1.0);
  CHECK(metric("redge_relay_breaker_transitions_total{to=\"closed\"}") >= 1.0);
  CHECK(metric("redge_relay_messages_total{outcome=\"sent\"}") == static_cast<double>(sent));
  CHECK(metric("redge_relay_enqueue_enabled") == 1.0);
  CHECK(metric("redge_relay_queue_depth") == 0.0);
}
