// How the relay treats each kind of upstream failure on its own: a 4xx is
// final at once, a 5xx or 429 is retried until relay.max_attempts and then
// dead-lettered with its reason, a refused connection is a connect_error that
// heals, and while the breaker is open a refused client is told to come back
// no sooner than the breaker will let messages through.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/relay_api.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// Breaker thresholds no test here reaches, so each failure kind is seen
// without the breaker stepping in.
const std::vector<std::string> kLenientBreaker = {"relay.breaker.consecutive_failures=1000",
                                                  "relay.breaker.min_calls=1000"};

std::vector<std::string> with(std::vector<std::string> base, const std::vector<std::string>& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

std::string acceptedId(const HttpReply& r) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 202);
  auto id = jsonString(r.body, "id");
  REQUIRE(id);
  return *id;
}

}  // namespace

TEST_CASE("relay: a 4xx other than 429 fails the message at once, without retry or breaker",
          "[relay]") {
  RelayStack s(kLenientBreaker, {"--error-ratio", "1", "--fail-status", "422"});
  std::string id = acceptedId(postMessage(s.redge, "d", "refused by the upstream"));
  SettledMessages fin = waitForSettled(s.redge, {id}, 5000ms);
  INFO(fin.pending);
  REQUIRE(fin.settled);
  const RelayMessage& m = fin.records[id];
  INFO(m.raw);
  CHECK(m.status == "failed");
  CHECK(m.attempts == 1);
  CHECK(m.has_error);
  CHECK(m.error_kind == "upstream_error");
  CHECK(m.error_detail == "HTTP 422");

  UpstreamStats up = s.upstream.stats();
  CHECK(up.attemptsOf(id) == 1);
  CHECK(up.deliveriesOf(id) == 0);
  REQUIRE(s.redge.waitForLog("event=dead_lettered id=" + id, 2000ms));
  auto failed = parseMessageList(httpGet(s.redge.appUrl("/messages?status=failed")).body);
  REQUIRE(failed);
  REQUIRE(failed->size() == 1);
  CHECK((*failed)[0].id == id);
  RelayStats st = relayStats(s.redge);
  INFO(st.raw);
  CHECK(st.status("failed") == 1);
  CHECK(st.retry_scheduled == 0);
  CHECK(st.breaker_state == "closed");
  CHECK(st.opened_total == 0);
  CHECK(st.failures("upstream_error") == 1);
  CHECK(scrapeMetric(s.redge, "redge_relay_messages_total{outcome=\"failed\"}") == 1.0);
}

TEST_CASE("relay: a 5xx or 429 is retried with backoff and dead-lettered after max_attempts",
          "[relay]") {
  const int status = GENERATE(500, 503, 429);
  INFO("fail status " << status);
  RelayStack s(with(kLenientBreaker, {"relay.max_attempts=3"}),
               {"--error-ratio", "1", "--fail-status", std::to_string(status)});
  auto start = std::chrono::steady_clock::now();
  std::string id = acceptedId(postMessage(s.redge, "d", "never accepted upstream"));
  // Backoff from 500 ms, doubling, jittered down to half: the two waits
  // take at least 250 + 500 ms.
  SettledMessages fin = waitForSettled(s.redge, {id}, 8000ms);
  INFO(fin.pending);
  REQUIRE(fin.settled);
  CHECK(msSince(start) >= 700);
  const RelayMessage& m = fin.records[id];
  INFO(m.raw);
  CHECK(m.status == "failed");
  CHECK(m.attempts == 3);
  CHECK(m.error_kind == "upstream_error");
  CHECK(m.error_detail == "HTTP " + std::to_string(status));
  UpstreamStats up = s.upstream.stats();
  CHECK(up.attemptsOf(id) == 3);
  CHECK(up.deliveriesOf(id) == 0);

  auto lines =
      logLinesWith(s.redge.logText(), "event=delivery_failed kind=upstream_error id=" + id);
  REQUIRE(lines.size() == 3);
  for (size_t i = 0; i < lines.size(); ++i) {
    CHECK(logfmtValue(lines[i], "attempt") == std::to_string(i + 1));
  }
  CHECK(s.redge.waitForLog("event=dead_lettered id=" + id, 2000ms));
  CHECK(scrapeMetric(s.redge, "redge_relay_delivery_failures_total{kind=\"upstream_error\"}") ==
        3.0);
}

TEST_CASE("relay: a refused connection is a connect_error, retried until the upstream is back",
          "[relay]") {
  RelayStack s(with(kLenientBreaker, {"relay.max_attempts=10"}));
  s.upstream.configure(R"({"down":true,"down_mode":"close"})");
  std::string id = acceptedId(postMessage(s.redge, "d", "waits for the upstream"));
  REQUIRE(s.redge.waitForLog("event=delivery_failed kind=connect_error id=" + id, 3000ms));
  RelayMessageReply during = getMessage(s.redge, id);
  INFO(during.body);
  CHECK(during.message.status != "sent");
  CHECK(during.message.status != "failed");

  s.upstream.configure(R"({"down":false})");
  SettledMessages fin = waitForSettled(s.redge, {id}, 8000ms);
  INFO(fin.pending);
  REQUIRE(fin.settled);
  const RelayMessage& m = fin.records[id];
  INFO(m.raw);
  CHECK(m.status == "sent");
  CHECK(m.attempts >= 2);
  // The record keeps the last failure it met on the way.
  CHECK(m.error_kind == "connect_error");
  CHECK(s.upstream.stats().deliveriesOf(id) == 1);
  CHECK(scrapeMetric(s.redge, "redge_relay_delivery_failures_total{kind=\"connect_error\"}") >=
        1.0);
}

TEST_CASE("relay: while the breaker is open, Retry-After covers its remaining open time",
          "[relay]") {
  // One failure opens the breaker for 20 s; the queue (max 3) then fills
  // because nothing is taken while it is open.
  RelayStack s({"relay.breaker.consecutive_failures=1", "relay.breaker.open_ms=20000",
                "relay.breaker.max_open_ms=60000", "relay.queue_max=3", "relay.queue_recovery=1"},
               {"--error-ratio", "1"});
  acceptedId(postMessage(s.redge, "d", "opens the breaker"));
  REQUIRE(s.redge.waitForLog("event=breaker_open ", 3000ms));
  HttpReply full;
  for (int i = 0; i < 10; ++i) {
    HttpReply r = postMessage(s.redge, "d", "fills the queue");
    if (r.status == 503) {
      full = r;
      break;
    }
    REQUIRE(r.status == 202);
  }
  RelayStats st = relayStats(s.redge);
  INFO(st.raw);
  INFO(full.body);
  REQUIRE(full.status == 503);
  CHECK(errorCode(full.body) == "queue_full");
  CHECK(st.breaker_state == "open");
  int retry_after = std::atoi(full.header("Retry-After").c_str());
  // 20 s minus the few moments since it opened, rounded up; never past 60.
  CHECK(retry_after >= 15);
  CHECK(retry_after <= 20);
  CHECK(jsonInt(full.body, "retry_after_s") == retry_after);
  CHECK(jsonInt(full.body, "queue_depth") >= 3);  // the retry may be back in the queue too
  CHECK(st.remaining_open_ms > 15000);
  CHECK(st.remaining_open_ms <= 20000);
}
