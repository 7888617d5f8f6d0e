// The relay's promise that a 202 is never lost: redge killed with SIGKILL in
// the middle of deliveries, and Redis (with an fsync-always append-only
// file) restarted under a running redge. In both cases every accepted
// message must end sent (or failed with its reason), delivered at least once;
// a message can reach the upstream twice only if it was in flight at the
// moment of the crash.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>

#include "support/json_fields.hpp"
#include "support/relay_api.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// The processing list redge keeps for this host (redge names it after
// gethostname(), so a restart on the same host finds it again).
std::string processingKey() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0')
    return "redge:relay:processing:local";
  return std::string("redge:relay:processing:") + host;
}

std::vector<std::string> postMany(const RedgeProcess& redge, int n, const std::string& tag) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    std::string body = tag;
    body += ' ';
    body += std::to_string(i);
    HttpReply r = postMessage(redge, "durable", body);
    INFO(r.status << " " << r.body);
    REQUIRE(r.status == 202);
    auto id = jsonString(r.body, "id");
    REQUIRE(id);
    ids.push_back(*id);
  }
  return ids;
}

// Every id final; sent ones delivered at least once, failed ones with a
// reason; nothing delivered that was never accepted.
void checkNoneLost(const SettledMessages& fin, const std::vector<std::string>& ids,
                   const UpstreamStats& up) {
  for (const auto& id : ids) {
    auto it = fin.records.find(id);
    REQUIRE(it != fin.records.end());
    const RelayMessage& m = it->second;
    INFO(m.raw);
    if (m.status == "sent") {
      CHECK(up.deliveriesOf(id) >= 1);
    } else {
      CHECK(m.status == "failed");
      CHECK(m.has_error);
      CHECK(!m.error_kind.empty());
    }
  }
  std::set<std::string> known(ids.begin(), ids.end());
  for (const auto& [key, n] : up.deliveries) {
    INFO(key);
    CHECK(known.count(key) == 1);
  }
}

std::set<std::string> listMembers(const RedisServer& redis, const std::string& key) {
  std::set<std::string> out;
  RedisValue v = redis.command({"LRANGE", key, "0", "-1"});
  for (const auto& e : v.elements) out.insert(e.str);
  return out;
}

}  // namespace

TEST_CASE("relay: after SIGKILL mid-delivery the next start recovers and delivers every message",
          "[relay][durability]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess upstream(dir, {"--latency-ms", "300"});
  const auto settings = relaySettings(upstream, {"relay.queue_max=30", "relay.queue_recovery=5"});
  auto redge = std::make_unique<RedgeProcess>(dir, redis, settings);
  redge->waitUntilReady();

  std::vector<std::string> ids = postMany(*redge, 20, "crash");
  // Kill once some are delivered and a full round (the concurrency, 4) is
  // in flight at the upstream.
  UpstreamStats before;
  REQUIRE(waitUntil(
      [&] {
        before = upstream.stats();
        return before.ok >= 4 && before.pending == 4;
      },
      5000ms, 5ms));
  redge->kill9();

  // What the crash left behind: the deliveries in flight, still in this
  // host's processing list, their records still "delivering".
  std::set<std::string> stranded = listMembers(redis, processingKey());
  INFO("stranded: " << stranded.size());
  CHECK(!stranded.empty());
  CHECK(stranded.size() <= 4);
  for (const auto& id : stranded) {
    CHECK(redis.command({"HGET", "redge:relay:msg:" + id, "status"}).str == "delivering");
  }

  redge = std::make_unique<RedgeProcess>(dir, redis, settings);
  redge->waitUntilReady();
  CHECK(redge->waitForLog("event=relay_recovered messages=" + std::to_string(stranded.size()),
                          3000ms));

  SettledMessages fin = waitForSettled(*redge, ids, 15000ms);
  INFO(redge->logText());
  INFO(fin.pending);
  REQUIRE(fin.settled);
  // The upstream may still be answering the killed run's last requests.
  REQUIRE(waitUntil([&] { return upstream.stats().pending == 0; }, 3000ms));
  UpstreamStats up = upstream.stats();
  INFO(up.raw);
  checkNoneLost(fin, ids, up);
  for (const auto& id : ids) {
    INFO(id);
    CHECK(fin.records[id].status == "sent");
    // Twice only for what was in flight when redge died: the upstream did
    // the work but the answer went nowhere.
    if (stranded.count(id) == 0)
      CHECK(up.deliveriesOf(id) == 1);
    else
      CHECK(up.deliveriesOf(id) <= 2);
  }
  CHECK(up.duplicates <= static_cast<int64_t>(stranded.size()));
  CHECK(redis.command({"LLEN", processingKey()}).integer == 0);
  CHECK(redis.command({"LLEN", "redge:relay:queue"}).integer == 0);
  RelayStats st = relayStats(*redge);
  INFO(st.raw);
  CHECK(st.status("sent") == 20);
  CHECK(st.status("delivering") == 0);
}

TEST_CASE("relay: a Redis restart under load loses no accepted message", "[relay][durability]") {
  // The round in flight when Redis goes away either succeeds at the
  // upstream (its "sent" cannot be written) or fails there (its retry
  // cannot be scheduled); either outcome must survive the outage.
  const bool upstream_fails = GENERATE(false, true);
  INFO("upstream fails during the outage: " << upstream_fails);
  TempDir dir;
  RedisServer redis(dir, {"--appendonly", "yes", "--appendfsync", "always"});
  FakeUpstreamProcess upstream(dir, {"--latency-ms", "300"});
  RedgeProcess redge(
      dir, redis,
      relaySettings(upstream, {"relay.queue_max=30", "relay.queue_recovery=5",
                               "relay.max_attempts=10", "redis.reconnect_max_ms=300"}));
  redge.waitUntilReady();

  // The upstream decides a request's fate when it arrives, so a failing
  // round must be failing from the start.
  if (upstream_fails) upstream.configure(R"({"error_ratio":1})");
  std::vector<std::string> ids = postMany(redge, 12, "before");
  // Stop Redis while a round of deliveries is at the upstream (after one
  // round has completed, when they succeed): their outcomes arrive while
  // Redis is gone.
  REQUIRE(waitUntil(
      [&] {
        UpstreamStats up = upstream.stats();
        return (upstream_fails || up.ok >= 4) && up.pending == 4;
      },
      5000ms, 5ms));
  redis.stop();

  // Without Redis nothing is accepted, and the refusal is quick and clear.
  HttpReply refused = postMessage(redge, "durable", "while Redis is down");
  INFO(refused.body);
  CHECK(refused.status == 503);
  CHECK(errorCode(refused.body) == "redis_unavailable");
  CHECK(refused.elapsed < 1500ms);
  // Let the round in flight finish against a Redis that is not there.
  REQUIRE(waitUntil([&] { return upstream.stats().pending == 0; }, 3000ms));
  if (upstream_fails) upstream.configure(R"({"error_ratio":0})");

  redis.start();
  REQUIRE(
      waitUntil([&] { return httpGet(redge.adminUrl("/readyz")).status == 200; }, 5000ms, 50ms));
  // The append-only file brought every accepted message back.
  CHECK(redis.command({"ZCARD", "redge:relay:status:all"}).integer == 12);
  // Accepted again, and delivered with the rest.
  std::vector<std::string> after = postMany(redge, 3, "after");
  ids.insert(ids.end(), after.begin(), after.end());

  SettledMessages fin = waitForSettled(redge, ids, 15000ms);
  RelayStats st = relayStats(redge);
  INFO(st.raw);
  INFO(fin.pending);
  INFO(redge.logText());
  CHECK(fin.settled);
  UpstreamStats up = upstream.stats();
  INFO(up.raw);
  if (fin.settled) checkNoneLost(fin, ids, up);
  for (const auto& id : ids) {
    INFO(id << " " << fin.records[id].raw);
    CHECK(fin.records[id].status == "sent");
    // redge kept the outcomes it could not write and wrote them on
    // reconnect, so nothing was sent twice.
    CHECK(up.deliveriesOf(id) == 1);
  }
  CHECK(up.duplicates == 0);
  // The failed round's retries were scheduled after the outage.
  if (upstream_fails) CHECK(st.failures("upstream_error") >= 4);
  CHECK(st.status("delivering") == 0);
  CHECK(st.processing == 0);
  CHECK(st.queue_depth == 0);
}
