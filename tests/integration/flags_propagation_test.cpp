// Feature flags across instances, against a real redis-server and real
// redge processes: a switch on one instance takes effect on another within
// 100 ms (pub/sub), the classic "switch /set off in production" (404
// feature_disabled while its flag is off, 200 after), a Redis restart with a
// change made while an instance could not hear it (caught up by the reload),
// and a start while Redis is down, which serves the snapshot file.

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

const std::string kBindSet = R"(app.flags={"/set":"set_enabled"})";

long setStatus(const RedgeProcess& r) {
  return httpGet(r.appUrl("/set")).status;
}

HttpReply switchFlag(const RedgeProcess& r, const std::string& name, bool on) {
  return httpPost(r.adminUrl("/flags/" + name + (on ? "/on" : "/off")), "");
}

bool flagEnabledOn(const RedgeProcess& r, const std::string& name, bool enabled) {
  HttpReply got = httpGet(r.adminUrl("/flags/" + name));
  return got.status == 200 &&
         got.body.find(enabled ? "\"enabled\":true" : "\"enabled\":false") != std::string::npos;
}

}  // namespace

TEST_CASE("flags propagation: /set switched off on one instance is off on the other within 100 ms",
          "[flags]") {
  TempDir dir;
  RedisServer redis(dir);
  RedgeProcess a(dir, redis, {kBindSet});
  RedgeProcess b(dir, redis, {kBindSet});
  a.waitUntilReady();
  b.waitUntilReady();
  // Bound to a flag that does not exist yet: served, and said once in the log.
  CHECK(setStatus(b) == 200);
  CHECK(b.waitForLog("event=flag_route_unbound route=/set flag=set_enabled", 2s));

  REQUIRE(httpRequest("PUT", a.adminUrl("/flags/set_enabled"), R"({"enabled":true})").status ==
          201);
  REQUIRE(waitUntil([&] { return flagEnabledOn(b, "set_enabled", true); }, 2s));
  CHECK(setStatus(b) == 200);

  // Off through A's admin API; B answers 404 within 100 ms of A's answer.
  for (int round = 0; round < 3; ++round) {
    REQUIRE(switchFlag(a, "set_enabled", false).status == 200);
    auto switched = std::chrono::steady_clock::now();
    bool off = waitUntil([&] { return setStatus(b) == 404; }, 2s, 1ms);
    long long ms = msSince(switched);
    INFO("round " << round << ": B saw the flag off after " << ms << " ms");
    REQUIRE(off);
    CHECK(ms < 100);
    REQUIRE(switchFlag(a, "set_enabled", true).status == 200);
    switched = std::chrono::steady_clock::now();
    REQUIRE(waitUntil([&] { return setStatus(b) == 200; }, 2s, 1ms));
    CHECK(msSince(switched) < 100);
  }

  // The answer while off: 404 feature_disabled naming the flag, on both.
  REQUIRE(switchFlag(a, "set_enabled", false).status == 200);
  REQUIRE(waitUntil([&] { return setStatus(b) == 404; }, 2s, 1ms));
  for (RedgeProcess* r : {&a, &b}) {
    HttpReply refused = httpGet(r->appUrl("/set"));
    CHECK(refused.status == 404);
    CHECK(errorCode(refused.body) == "feature_disabled");
    CHECK(jsonString(refused.body, "flag") == "set_enabled");
    CHECK(jsonString(refused.body, "message").value_or("").find("\"set_enabled\"") !=
          std::string::npos);
    CHECK(httpGet(r->appUrl("/get")).status != 404);  // unbound routes are untouched
  }
  CHECK(b.waitForLog("error=feature_disabled", 2s));
  CHECK(scrapeMetric(b, "redge_flags_evaluations_total{flag=\"set_enabled\",result=\"off\"}")
            .value_or(0) >= 1);
  CHECK(scrapeMetric(b, "redge_flags_propagation_lag_seconds_count").value_or(0) >= 7);
  CHECK(scrapeMetric(b, "redge_http_errors_total{service=\"app\",code=\"feature_disabled\"}")
            .value_or(0) >= 1);

  // On again from an operator's shell: both serve /set.
  RedgeRun on = runRedge(dir, {"--redis", redis.url(), "flags", "on", "set_enabled"});
  REQUIRE(on.exit_code == 0);
  CHECK(waitUntil([&] { return setStatus(a) == 200 && setStatus(b) == 200; }, 2s, 5ms));
}

TEST_CASE("flags propagation: a partial rollout gives each user one answer on every instance",
          "[flags]") {
  TempDir dir;
  RedisServer redis(dir);
  RedgeProcess a(dir, redis, {kBindSet});
  RedgeProcess b(dir, redis, {kBindSet});
  a.waitUntilReady();
  b.waitUntilReady();
  REQUIRE(httpRequest("PUT", a.adminUrl("/flags/set_enabled"),
                      R"({"enabled":true,"rollout":50,"stickiness":"header:X-User-Id"})")
              .status == 201);
  REQUIRE(waitUntil([&] { return httpGet(b.adminUrl("/flags/set_enabled")).status == 200; }, 2s));
  int served = 0;
  for (int i = 0; i < 40; ++i) {
    HeaderList user = {"X-User-Id: user-" + std::to_string(i)};
    HttpReply ra = httpGet(a.appUrl("/set"), user);
    long sb = httpGet(b.appUrl("/set"), user).status;
    INFO("user-" << i);
    CHECK(ra.status == sb);
    CHECK((ra.status == 200 || ra.status == 404));
    if (ra.status == 404) {
      CHECK(errorCode(ra.body) == "feature_disabled");
      CHECK(
          jsonString(ra.body, "message")
              .value_or("")
              .find(
                  "not rolled out to this client by feature flag \"set_enabled\" (rollout 50%, by "
                  "header:X-User-Id)") != std::string::npos);
    }
    served += ra.status == 200 ? 1 : 0;
  }
  // Half of 40, give or take what chance allows.
  CHECK(served > 5);
  CHECK(served < 35);
}

TEST_CASE("flags propagation: a change made while an instance was cut off is caught up",
          "[flags]") {
  TempDir dir;
  RedisServer redis(dir, {"--appendonly", "yes"});
  RedgeProcess b(dir, redis, {kBindSet});
  b.waitUntilReady();
  RedgeRun create =
      runRedge(dir, {"--redis", redis.url(), "flags", "set", "set_enabled", R"({"enabled":true})"});
  REQUIRE(create.exit_code == 0);
  REQUIRE(waitUntil([&] { return flagEnabledOn(b, "set_enabled", true); }, 2s));
  double loads_before = scrapeMetric(b, "redge_flags_loads_total").value_or(0);

  // B frozen: it cannot hear the restart nor the message published after it.
  b.signal(SIGSTOP);
  redis.stop();
  redis.start();
  RedgeRun off = runRedge(dir, {"--redis", redis.url(), "flags", "off", "set_enabled"});
  b.signal(SIGCONT);
  REQUIRE(off.exit_code == 0);

  CHECK(waitUntil([&] { return setStatus(b) == 404; }, 5s));
  CHECK(flagEnabledOn(b, "set_enabled", false));
  CHECK(scrapeMetric(b, "redge_flags_loads_total").value_or(0) > loads_before);
  CHECK(b.waitForLog("event=flag_changed flag=set_enabled enabled=false", 2s));
  CHECK(b.logText().find("cause=resync") != std::string::npos);
  CHECK(waitUntil([&] { return scrapeMetric(b, "redge_flags_stale") == 0; }, 3s));
}

TEST_CASE("flags propagation: a start while Redis is down serves the snapshot file", "[flags]") {
  TempDir dir;
  RedisServer redis(dir, {"--appendonly", "yes"});
  std::string path = dir.file("flags.json");
  std::vector<std::string> settings = {kBindSet, "flags.snapshot_path=" + path};
  {
    RedgeProcess first(dir, redis, settings);
    first.waitUntilReady();
    REQUIRE(
        httpRequest("PUT", first.adminUrl("/flags/set_enabled"), R"({"enabled":true})").status ==
        201);
    REQUIRE(switchFlag(first, "set_enabled", false).status == 200);
    REQUIRE(waitUntil([&] { return readFile(path).find("\"enabled\":false") != std::string::npos; },
                      2s));
    CHECK(scrapeMetric(first, "redge_flags_snapshot_writes_total").value_or(0) >= 1);
  }
  redis.stop();

  RedgeProcess second(dir, redis, settings);
  CHECK(second.waitForLog("event=flags_snapshot_restored", 2s));
  // The last known flags, not defaults: /set stays off with Redis down.
  HttpReply refused = httpGet(second.appUrl("/set"));
  CHECK(refused.status == 404);
  CHECK(errorCode(refused.body) == "feature_disabled");
  HttpReply listed = httpGet(second.adminUrl("/flags"));
  CHECK(listed.body.find("\"stale\":true") != std::string::npos);
  CHECK(listed.body.find("\"name\":\"set_enabled\"") != std::string::npos);
  CHECK(scrapeMetric(second, "redge_flags_stale") == 1);
  CHECK(scrapeMetric(second, "redge_flags_snapshot_version") == 2);
  CHECK(scrapeMetric(second, "redge_flags_snapshot_age_seconds").value_or(-1) >= 0);

  // Redis back: the store is followed again, and a change reaches it.
  redis.start();
  second.waitUntilReady(10s);
  CHECK(waitUntil([&] { return scrapeMetric(second, "redge_flags_stale") == 0; }, 5s));
  RedgeRun on = runRedge(dir, {"--redis", redis.url(), "flags", "on", "set_enabled"});
  REQUIRE(on.exit_code == 0);
  CHECK(waitUntil([&] { return setStatus(second) == 200; }, 3s));
  CHECK(
      waitUntil([&] { return readFile(path).find("\"enabled\":true") != std::string::npos; }, 2s));
}
