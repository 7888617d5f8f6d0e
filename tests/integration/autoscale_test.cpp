// The autoscaler end to end: a real redge gateway with discovery and
// autoscale on, in front of real redge app instances it spawns itself
// (discovery.spawn_command), all on one real redis-server. With no instance
// it brings the service to min; a bounded request loop scales it from 1 to 3
// through real spawns; once the load stops it scales back to 1 after the
// scale-down window, one instance per step period, by POST /destroy.

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/gateway_echo.hpp"
#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

std::string autoscaleList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ",\"" : "\"") + items[i] + "\"";
  return out + "]";
}

// Spawned instances run in their own session: their pids go to a file the
// test reads to stop them at the end, whatever happened.
struct SpawnedPids {
  std::string file;
  ~SpawnedPids() {
    std::ifstream in(file);
    long pid = 0;
    while (in >> pid) {
      if (pid > 0) ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
  }
};

double instancesOf(const RedgeProcess& gw) {
  return scrapeMetric(gw, "redge_gateway_pool_members_healthy{pool=\"web\"}").value_or(-1);
}

std::string spawnTemplate(const std::string& pid_file) {
  return autoscaleList({"/bin/sh",
                        "-c",
                        "echo $$ >> " + pid_file + "; exec \\\"$@\\\"",
                        "sh",
                        REDGE_BINARY,
                        "--redis",
                        "{redis}",
                        "--set",
                        "app.port={port}",
                        "--set",
                        "admin.enabled=false",
                        "--set",
                        "relay.enabled=false",
                        "--set",
                        "cacheproxy.enabled=false",
                        "--set",
                        "discovery.enabled=true",
                        "--set",
                        "discovery.service={service}",
                        "--set",
                        "discovery.id={id}",
                        "--set",
                        "discovery.lease_ms=1000"});
}

// A gateway routing everything to the registry service "web", which it
// spawns and destroys itself as autoscale.services (JSON) says, then `more`.
std::vector<std::string> autoscaledGateway(const SpawnedPids& spawned, const std::string& services,
                                           std::vector<std::string> more = {}) {
  std::vector<std::string> settings = {"discovery.enabled=true",
                                       "discovery.register_self=false",
                                       "discovery.spawn_command=" + spawnTemplate(spawned.file),
                                       "discovery.spawn_timeout_ms=10000",
                                       "autoscale.enabled=true",
                                       "autoscale.interval_ms=200",
                                       "autoscale.services=" + services};
  settings.insert(settings.end(), more.begin(), more.end());
  return gatewaySettings(
      R"([{"prefix": "/", "pool": "web"}])",
      R"({"web": {"discover": "web", "health": {"path": "/", "interval_ms": 100, "rise": 1}}})",
      settings);
}

}  // namespace

TEST_CASE("autoscale: a load scales a service from 1 to 3 through real spawns, and back to 1",
          "[autoscale][discovery]") {
  TempDir dir;
  RedisServer redis(dir);
  SpawnedPids spawned{dir.file("spawned.pids")};
  RedgeProcess gw(
      dir, redis,
      autoscaledGateway(spawned,
                        R"({"web": {"metric": "requests_per_second", "target": 20, "min": 1,
               "max": 3, "scale_down_stabilization_ms": 2000, "step_period_ms": 500}})"));
  gw.waitUntilReady();

  // Below min: one instance is spawned without any load.
  REQUIRE(gw.waitForLog("event=autoscale_scaled service=web direction=out from=0 to=1 outcome=done",
                        15s));
  REQUIRE(waitUntil([&] { return instancesOf(gw) == 1; }, 5s));

  // A bounded load: two clients for at most 15 s, until three instances serve.
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&] {
      auto deadline = std::chrono::steady_clock::now() + 15s;
      while (!stop && std::chrono::steady_clock::now() < deadline) {
        if (httpGet(gw.gatewayUrl("/")).status == 200) ++answered;
      }
    });
  }
  bool scaled_out = waitUntil([&] { return instancesOf(gw) == 3; }, 15s);
  stop = true;
  for (auto& t : clients) t.join();
  INFO("answered " << answered << " requests during the load");
  REQUIRE(scaled_out);
  CHECK(gw.logText().find(
            "event=autoscale_decision service=web current=1 metric=requests_per_second") !=
        std::string::npos);
  CHECK(gw.logText().find("direction=out from=1 to=3 outcome=done") != std::string::npos);
  HttpReply status = httpGet(gw.adminUrl("/autoscale"));
  CHECK(status.status == 200);
  CHECK(status.body.find("\"leader\":true") != std::string::npos);

  // No load: back to 1 after the 2 s window, one instance per 500 ms period.
  REQUIRE(waitUntil([&] { return instancesOf(gw) == 1; }, 15s));
  CHECK(gw.logText().find("direction=in from=3 to=2") != std::string::npos);
  CHECK(gw.logText().find("direction=in from=2 to=1") != std::string::npos);
  CHECK(scrapeMetric(gw, "redge_autoscale_actions_total{direction=\"in\"}") == 2);
  CHECK(scrapeMetric(gw, "redge_autoscale_actions_total{direction=\"out\"}") == 2);
  // The registry agrees once the destroyed instances deregistered.
  CHECK(waitUntil(
      [&] {
        return httpGet(gw.adminUrl("/autoscale")).body.find("\"current\":1,") != std::string::npos;
      },
      5s));
}

// With admin.token set, the autoscaler's own spawn and destroy calls carry it.
TEST_CASE("autoscale: an alert rule's scale_out action adds one instance, once for the fleet",
          "[autoscale][alerts]") {
  TempDir dir;
  RedisServer redis(dir);
  SpawnedPids spawned{dir.file("spawned.pids")};
  std::vector<std::string> settings = autoscaledGateway(
      spawned, R"({"web": {"target": 1000000, "min": 1, "max": 2}})",
      {"alerts.enabled=true", "alerts.interval_ms=100", "alerts.defaults.cpu=false",
       "alerts.defaults.memory=false", "alerts.defaults.app_error_ratio=false",
       "alerts.defaults.app_p99=false", "admin.token=autoscale-test-token",
       R"(alerts.rules=[{"name": "NeedMore", "expr": "redge_gateway_pool_members_healthy{pool='web'} == 1", "for_ms": 500, "actions": ["scale_out:web"]}])"});
  // Two gateways with the same rule: only the lease holder carries it out.
  RedgeProcess a(dir, redis, settings);
  RedgeProcess b(dir, redis, settings);
  a.waitUntilReady();
  b.waitUntilReady();
  const bool both_see_two =
      waitUntil([&] { return instancesOf(a) == 2 && instancesOf(b) == 2; }, 30s);
  std::string logs = a.logText() + b.logText();
  INFO("gateway a saw " << instancesOf(a) << ", b saw " << instancesOf(b) << "\ngateway a:\n"
                        << a.logText() << "\ngateway b:\n"
                        << b.logText());
  REQUIRE(both_see_two);
  CHECK(logs.find("event=autoscale_order service=web current=1 desired=2 by=alert:NeedMore") !=
        std::string::npos);
  CHECK(logs.find("action=scale_out:web outcome=done detail=started") != std::string::npos);
  CHECK(logs.find("direction=out from=1 to=2 outcome=done") != std::string::npos);
  // At max now: the rule no longer holds, and nothing scaled past 2.
  double out = scrapeMetric(a, "redge_autoscale_actions_total{direction=\"out\"}").value_or(0) +
               scrapeMetric(b, "redge_autoscale_actions_total{direction=\"out\"}").value_or(0);
  CHECK(out == 2);  // to min (1), then the order (2)
}

// metric=cpu: each instance's heartbeat puts its CPU (percent of one core)
// in its registry hash; the autoscaler reads it back. A request loop makes
// the one instance busy well past a 5% target: a second one is spawned.
TEST_CASE("autoscale: the cpu metric reads each instance's heartbeat and scales out under load",
          "[autoscale][discovery]") {
  TempDir dir;
  RedisServer redis(dir);
  SpawnedPids spawned{dir.file("spawned.pids")};
  RedgeProcess gw(
      dir, redis,
      autoscaledGateway(spawned, R"({"web": {"metric": "cpu", "target": 5, "min": 1, "max": 2}})"));
  gw.waitUntilReady();
  REQUIRE(waitUntil([&] { return instancesOf(gw) == 1; }, 15s));

  // The instance's hash carries what it used since its last heartbeat.
  RedisValue ids = redis.command({"ZRANGE", "redge:instances:leases", "0", "-1"});
  REQUIRE(ids.elements.size() == 1);
  const std::string hash = "redge:instances:" + ids.elements[0].str;
  REQUIRE(waitUntil([&] { return !redis.command({"HGET", hash, "cpu_percent"}).str.empty(); }, 5s));

  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&] {
      auto deadline = std::chrono::steady_clock::now() + 15s;
      while (!stop && std::chrono::steady_clock::now() < deadline) httpGet(gw.gatewayUrl("/"));
    });
  }
  const bool scaled_out = waitUntil([&] { return instancesOf(gw) == 2; }, 15s);
  stop = true;
  for (auto& t : clients) t.join();
  INFO("gateway log:\n" << gw.logText());
  REQUIRE(scaled_out);
  CHECK(gw.logText().find("event=autoscale_decision service=web current=1 metric=cpu") !=
        std::string::npos);
  CHECK(gw.logText().find("direction=out from=1 to=2 outcome=done") != std::string::npos);
  const std::string stored = redis.command({"HGET", hash, "cpu_percent"}).str;
  const double reported = std::stod(stored);
  CHECK(reported >= 0);
  CHECK(reported <= 400);  // percent of one core, on a machine with a few
  // GET /listservers shows each instance's figure as its last heartbeat wrote it.
  const std::string id = ids.elements[0].str;
  REQUIRE(waitUntil(
      [&] {
        std::string now = redis.command({"HGET", hash, "cpu_percent"}).str;
        std::string listing = httpGet(gw.adminUrl("/listservers?service=web")).body;
        return listing.find("\"id\":\"" + id + "\"") != std::string::npos &&
               listing.find("\"cpu_percent\":" + now + "}") != std::string::npos;
      },
      5s));
  HttpReply status = httpGet(gw.adminUrl("/autoscale"));
  CHECK(status.body.find("\"metric\":\"cpu\"") != std::string::npos);
}
