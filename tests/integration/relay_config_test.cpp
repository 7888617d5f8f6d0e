// The relay's queue limits as an operator sets them through the environment
// names QUEUE_MAX_SIZE and QUEUE_RECOVERY_THRESHOLD: they reach the running
// gate (503 after that many queued, intake back at that threshold), the
// command line still wins over them, and a threshold that is not below the
// maximum is refused at start-up.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>

#include "support/json_fields.hpp"
#include "support/relay_api.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

TEST_CASE("relay: QUEUE_MAX_SIZE and QUEUE_RECOVERY_THRESHOLD set the queue's gate",
          "[relay][config]") {
  // One delivery at a time, hanging at the upstream: everything after the
  // first message stays queued.
  RelayStack s({"relay.concurrency=1", "relay.timeout_ms=1500"}, {"--down", "--down-mode", "hang"},
               {}, {"QUEUE_MAX_SIZE=3", "QUEUE_RECOVERY_THRESHOLD=1"});
  std::vector<std::string> accepted;
  auto post = [&] {
    HttpReply r = postMessage(s.redge, "d", "b");
    if (r.status == 202) accepted.push_back(jsonString(r.body, "id").value_or(""));
    return r;
  };
  REQUIRE(post().status == 202);
  REQUIRE(waitUntil([&] { return s.upstream.stats().parked == 1; }, 3000ms));
  for (int i = 0; i < 3; ++i) {
    HttpReply r = post();
    INFO(i << ": " << r.body);
    REQUIRE(r.status == 202);
  }
  HttpReply full = post();
  INFO(full.body);
  REQUIRE(full.status == 503);
  CHECK(errorCode(full.body) == "queue_full");
  CHECK(jsonInt(full.body, "queue_depth") == 3);
  CHECK(full.hasHeader("Retry-After"));
  RelayStats st = relayStats(s.redge);
  INFO(st.raw);
  CHECK(st.gate_max == 3);
  CHECK(st.gate_recovery == 1);
  CHECK_FALSE(st.accepting);
  CHECK(s.redge.waitForLog("event=enqueue_disabled depth=3 max=3 recovery=1", 1000ms));

  // The upstream comes back; the hung delivery times out and is retried,
  // the queue drains, and intake resumes at depth 1, not 2.
  s.upstream.configure(R"({"down":false})");
  REQUIRE(s.redge.waitForLog("event=enqueue_enabled ", 5000ms));
  auto lines = logLinesWith(s.redge.logText(), "event=enqueue_enabled ");
  REQUIRE(lines.size() == 1);
  CHECK(logfmtValue(lines[0], "depth") == "1");
  CHECK(logfmtValue(lines[0], "recovery") == "1");
  REQUIRE(post().status == 202);

  SettledMessages fin = waitForSettled(s.redge, accepted, 8000ms);
  INFO(fin.pending);
  REQUIRE(fin.settled);
  UpstreamStats up = s.upstream.stats();
  for (const auto& id : accepted) {
    INFO(fin.records[id].raw);
    CHECK(fin.records[id].status == "sent");
    CHECK(up.deliveriesOf(id) == 1);
  }
}

TEST_CASE("relay: the queue's environment names lose to --set and are checked at start-up",
          "[relay][config]") {
  TempDir dir;
  SECTION("the command line overrides the environment") {
    RedgeRun run = runRedge(dir, {"--check-config", "--set", "relay.queue_max=7"},
                            {"QUEUE_MAX_SIZE=3", "QUEUE_RECOVERY_THRESHOLD=2"});
    INFO(run.err);
    REQUIRE(run.exit_code == 0);
    rapidjson::Document doc;
    doc.Parse(run.out.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    CHECK(doc["relay"]["queue_max"].GetInt() == 7);
    CHECK(doc["relay"]["queue_recovery"].GetInt() == 2);
  }
  SECTION("a recovery threshold not below the maximum is refused") {
    RedgeRun run =
        runRedge(dir, {"--check-config"}, {"QUEUE_MAX_SIZE=3", "QUEUE_RECOVERY_THRESHOLD=3"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 2);
    CHECK(run.err.find("relay.queue_recovery") != std::string::npos);
  }
  SECTION("a value that is not a number is refused") {
    RedgeRun run = runRedge(dir, {"--check-config"}, {"QUEUE_MAX_SIZE=ten"});
    INFO(run.out << run.err);
    CHECK(run.exit_code == 2);
    CHECK(run.err.find("QUEUE_MAX_SIZE") != std::string::npos);
  }
}
