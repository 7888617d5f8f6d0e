// An operator who starts redge with nothing listening at relay.upstream_url
// (plain `make run` does) is told so at once: one warning at start-up, before
// any message, not one per message; one line when the upstream appears; one
// more warning when it goes away again. Messages meanwhile are retried, and
// delivered once it listens.

#include <catch2/catch.hpp>
#include <string>

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

size_t countLines(const RedgeProcess& redge, const std::string& needle) {
  return logLinesWith(redge.logText(), needle).size();
}

}  // namespace

TEST_CASE(
    "relay: an upstream that refuses connections is one warning at start-up and one per outage, "
    "not one per message",
    "[relay]") {
  TempDir dir;
  RedisServer redis(dir);
  const int port = findFreePort();  // nothing listens there (yet)
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/message";
  // The breaker is kept out of the way: this is about the connection.
  RedgeProcess redge(dir, redis,
                     {"relay.enabled=true", "relay.upstream_url=" + url, "relay.max_attempts=20",
                      "relay.breaker.consecutive_failures=1000", "relay.breaker.min_calls=1000"});
  redge.waitUntilReady();

  // --- At start-up, before any message. ----------------------------------
  REQUIRE(redge.waitForLog("event=relay_upstream_unreachable ", 3000ms));
  {
    std::string log = redge.logText();
    INFO(log);
    auto lines = logLinesWith(log, "event=relay_upstream_unreachable ");
    REQUIRE(lines.size() == 1);
    CHECK(logfmtValue(lines[0], "level") == "warn");
    CHECK(logfmtValue(lines[0], "url") == url);
    CHECK(lines[0].find("error=\"connection refused\"") != std::string::npos);
    CHECK(lines[0].find("dead-lettered after 20 attempts unless something listens there") !=
          std::string::npos);
    CHECK(logLinesWith(log, "event=delivery_failed ").empty());
  }
  CHECK(scrapeMetric(redge, "redge_relay_upstream_unreachable") == 1.0);
  CHECK(scrapeMetric(redge, "redge_relay_upstream_outages_total") == 1.0);

  // --- Messages meet the refusal; the warning is not repeated. -----------
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(acceptedId(postMessage(redge, "d", "waits")));
  REQUIRE(waitUntil(
      [&] { return countLines(redge, "event=delivery_failed kind=connect_error ") >= 6; }, 5000ms));
  CHECK(countLines(redge, "event=relay_upstream_unreachable ") == 1);

  // --- Something listens there now: noticed, and everything delivered. ---
  FakeUpstreamProcess upstream(dir, {"--port", std::to_string(port)});
  REQUIRE(upstream.port() == port);
  {
    bool regained = redge.waitForLog("event=relay_upstream_reachable ", 8000ms);
    INFO(redge.logText());
    REQUIRE(regained);
    auto lines = logLinesWith(redge.logText(), "event=relay_upstream_reachable ");
    CHECK(lines.size() == 1);
    CHECK(logfmtValue(lines[0], "url") == url);
  }
  SettledMessages fin = waitForSettled(redge, ids, 15000ms);
  INFO(fin.pending);
  REQUIRE(fin.settled);
  UpstreamStats up = upstream.stats();
  INFO(up.raw);
  for (const auto& id : ids) {
    INFO(fin.records[id].raw);
    CHECK(fin.records[id].status == "sent");
    CHECK(fin.records[id].error_kind == "connect_error");
    CHECK(up.deliveriesOf(id) == 1);
  }
  CHECK(scrapeMetric(redge, "redge_relay_upstream_unreachable") == 0.0);

  // --- It goes away again: a new outage, one new warning. ----------------
  upstream.configure(R"({"down":true,"down_mode":"close"})");
  std::vector<std::string> more;
  for (int i = 0; i < 3; ++i) more.push_back(acceptedId(postMessage(redge, "d", "again")));
  REQUIRE(redge.waitForLog("error=connect_error", 3000ms));
  REQUIRE(waitUntil(
      [&] {
        std::string log = redge.logText();
        for (const auto& id : more) {
          if (logLinesWith(log, "kind=connect_error id=" + id + " ").empty()) return false;
        }
        return true;
      },
      5000ms));
  {
    std::string log = redge.logText();
    INFO(log);
    auto lines = logLinesWith(log, "event=relay_upstream_unreachable ");
    REQUIRE(lines.size() == 2);
    CHECK(logfmtValue(lines[1], "error") == "connect_error");
  }
  CHECK(scrapeMetric(redge, "redge_relay_upstream_unreachable") == 1.0);
  CHECK(scrapeMetric(redge, "redge_relay_upstream_outages_total") == 2.0);
}
