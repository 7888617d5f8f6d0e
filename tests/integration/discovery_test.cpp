// The service registry end to end: real redis-server, several real redge
// processes registering in it and a gateway redge following it, its admin
// routes (GET /listservers, POST /spawn with real child redge processes,
// POST /destroy), expiry after SIGKILL, the drain's deregistration, and the
// view kept while Redis is down. Every promised log event and metric is
// read back from the process that promises it.

#include <rapidjson/document.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// Settings of a redge that registers as `service`.
std::vector<std::string> instanceSettings(const std::string& service, int64_t lease_ms,
                                          std::vector<std::string> extra = {}) {
  std::vector<std::string> s = {"discovery.enabled=true", "discovery.service=" + service,
                                "discovery.lease_ms=" + std::to_string(lease_ms)};
  s.insert(s.end(), extra.begin(), extra.end());
  return s;
}

// Settings of a gateway: follows the registry, registers nothing itself.
std::vector<std::string> gatewaySettings(std::vector<std::string> extra = {}) {
  std::vector<std::string> s = {"discovery.enabled=true", "discovery.register_self=false"};
  s.insert(s.end(), extra.begin(), extra.end());
  return s;
}

std::string jsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += "\"" + items[i] + "\"";
  }
  return out + "]";
}

// The spawn template a gateway uses to start a real redge child on {port}.
std::string redgeSpawnCommand(int64_t lease_ms = 2000) {
  return "discovery.spawn_command=" +
         jsonList({REDGE_BINARY, "--redis", "{redis}", "--set", "app.port={port}", "--set",
                   "admin.port=0", "--set", "relay.enabled=false", "--set",
                   "cacheproxy.enabled=false", "--set", "discovery.enabled=true", "--set",
                   "discovery.service={service}", "--set", "discovery.id={id}", "--set",
                   "discovery.lease_ms=" + std::to_string(lease_ms)});
}

struct Listed {
  std::string id, service, address, version, host;
  std::vector<std::string> tags;
  int64_t pid = 0, lease_ms = 0, started_at = 0, heartbeat_at = 0, expires_at = 0;
  bool traffic_null = false;
};

struct Listing {
  long status = 0;
  bool stale = false;
  std::vector<Listed> instances;

  const Listed* find(const std::string& id) const {
    for (const auto& l : instances) {
      if (l.id == id) return &l;
    }
    return nullptr;
  }
};

std::vector<Listed> readInstances(const rapidjson::Value& array) {
  std::vector<Listed> out;
  for (const auto& v : array.GetArray()) {
    Listed l;
    l.id = v["id"].GetString();
    l.service = v["service"].GetString();
    l.address = v["address"].GetString();
    l.version = v["version"].GetString();
    l.host = v["host"].GetString();
    for (const auto& t : v["tags"].GetArray()) l.tags.emplace_back(t.GetString());
    l.pid = v["pid"].GetInt64();
    l.lease_ms = v["lease_ms"].GetInt64();
    l.started_at = v["started_at"].GetInt64();
    l.heartbeat_at = v["heartbeat_at"].GetInt64();
    l.expires_at = v["expires_at"].GetInt64();
    if (v.HasMember("health")) {
      l.traffic_null = v["health"].IsNull() && v["inflight"].IsNull() && v["requests"].IsNull();
    }
    out.push_back(std::move(l));
  }
  return out;
}

Listing listServers(const RedgeProcess& gateway, const std::string& query = "") {
  HttpReply r = httpGet(gateway.adminUrl("/listservers" + query));
  Listing out;
  out.status = r.status;
  if (r.status != 200) return out;
  rapidjson::Document doc;
  doc.Parse(r.body.c_str(), r.body.size());
  REQUIRE_FALSE(doc.HasParseError());
  out.stale = doc["stale"].GetBool();
  out.instances = readInstances(doc["instances"]);
  CHECK(doc["count"].GetInt64() == static_cast<int64_t>(out.instances.size()));
  return out;
}

// The id an instance registers under, from its own log (written once it
// listens, so it may come a moment after the listening lines).
std::string instanceId(const RedgeProcess& redge) {
  const std::string marker = "event=discovery_started id=";
  if (!redge.waitForLog(marker, 5000ms)) return "";
  std::string log = redge.logText();
  size_t at = log.find(marker);
  if (at == std::string::npos) return "";
  at += marker.size();
  return log.substr(at, log.find(' ', at) - at);
}

// A gateway answers POST /spawn once it follows the registry: subscribed to
// the change channel and loaded (until then it says 503, Retry-After).
void waitFollowing(const RedgeProcess& gateway) {
  REQUIRE(gateway.waitForLog("event=redis_subscribed client=discovery", 5000ms));
  REQUIRE(waitUntil([&] { return listServers(gateway).status == 200; }, 5000ms));
}

bool listed(const RedgeProcess& gateway, const std::string& id) {
  Listing l = listServers(gateway);
  return l.status == 200 && l.find(id) != nullptr;
}

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// Spawned instances run in their own session and outlive the gateway that
// started them: the test stops whatever it spawned.
struct SpawnedProcesses {
  std::vector<pid_t> pids;
  void add(int64_t pid) {
    if (pid > 0) pids.push_back(static_cast<pid_t>(pid));
  }
  ~SpawnedProcesses() {
    for (pid_t pid : pids) ::kill(pid, SIGKILL);
  }
};

// The spawned redge children of a 201 answer, with their pids noted for
// cleanup.
std::vector<Listed> spawnedInstances(const HttpReply& reply, SpawnedProcesses& spawned) {
  rapidjson::Document doc;
  doc.Parse(reply.body.c_str(), reply.body.size());
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("instances")) return {};
  std::vector<Listed> list = readInstances(doc["instances"]);
  for (const auto& l : list) spawned.add(l.pid);
  return list;
}

HttpReply postJson(const RedgeProcess& redge, const std::string& path, const std::string& body,
                   std::chrono::milliseconds timeout = kHttpTimeout) {
  return httpPost(redge.adminUrl(path), body, {"Content-Type: application/json"}, timeout);
}

}  // namespace

TEST_CASE("discovery: instances register and a gateway lists them with their details",
          "[discovery]") {
  TestStack s(gatewaySettings());
  // Following before the instances start, so both registrations reach it as
  // changes (one made earlier would arrive in its first load instead, and
  // instances_registered_total counts changes seen).
  waitFollowing(s.redge);
  RedgeProcess a(s.dir, s.redis,
                 instanceSettings("web", 5000, {"discovery.tags=[\"zone=a\",\"canary\"]"}));
  RedgeProcess b(s.dir, s.redis, instanceSettings("api", 5000, {"discovery.id=api-fixed-1"}));
  std::string id_a = instanceId(a);
  REQUIRE_FALSE(id_a.empty());
  CHECK(id_a.rfind("web-", 0) == 0);
  CHECK(instanceId(b) == "api-fixed-1");

  REQUIRE(waitUntil([&] { return listServers(s.redge).instances.size() == 2; }, 5000ms));
  Listing all = listServers(s.redge);
  CHECK_FALSE(all.stale);
  const Listed* la = all.find(id_a);
  REQUIRE(la != nullptr);
  CHECK(la->service == "web");
  CHECK(la->address == "127.0.0.1:" + std::to_string(a.appPort()));
  CHECK(la->tags == std::vector<std::string>{"zone=a", "canary"});
  CHECK(la->version == REDGE_VERSION);
  CHECK(la->pid == a.pid());
  CHECK(la->lease_ms == 5000);
  CHECK(la->started_at > 0);
  CHECK(la->heartbeat_at >= la->started_at);
  CHECK(la->expires_at == la->heartbeat_at + 5000);
  CHECK(la->traffic_null);  // no gateway traffic hook installed
  const Listed* lb = all.find("api-fixed-1");
  REQUIRE(lb != nullptr);
  CHECK(lb->address == "127.0.0.1:" + std::to_string(b.appPort()));
  CHECK(lb->tags.empty());

  Listing web = listServers(s.redge, "?service=web");
  REQUIRE(web.instances.size() == 1);
  CHECK(web.instances[0].id == id_a);

  // The keys the README promises.
  RedisValue hash = s.redis.command({"HGET", "redge:instances:" + id_a, "address"});
  CHECK(hash.str == la->address);
  CHECK(s.redis.command({"HGET", "redge:instances:" + id_a, "tags"}).str == "zone=a,canary");
  RedisValue score = s.redis.command({"ZSCORE", "redge:instances:leases", id_a});
  CHECK(score.type == RedisValue::Type::String);
  CHECK(s.redis.command({"ZCARD", "redge:instances:leases"}).integer == 2);

  CHECK(s.redge.waitForLog("event=instance_registered id=" + id_a + " service=web", 2000ms));
  CHECK(a.waitForLog("event=discovery_registered id=" + id_a, 2000ms));
  HttpReply metrics = httpGet(s.redge.adminUrl("/metrics"));
  INFO(metrics.status << " " << metrics.error << "\n" << metrics.body);
  CHECK(metricValue(metrics.body, "redge_discovery_instances") == 2);
  // Each registration is seen once: by its message, or, when a full load
  // (the periodic check for missed messages) read the hash before the
  // message arrived, by that load.
  CHECK(metricValue(metrics.body, "redge_discovery_instances_registered_total").value_or(0) +
            metricValue(metrics.body, "redge_discovery_instances_resynced_total").value_or(0) ==
        2);
  CHECK(scrapeMetric(a, "redge_discovery_heartbeats_total") >= 1);
}

TEST_CASE("discovery: heartbeats renew the lease every lease/3", "[discovery]") {
  TestStack s(gatewaySettings());
  RedgeProcess a(s.dir, s.redis, instanceSettings("web", 600));
  std::string id = instanceId(a);
  REQUIRE(waitUntil([&] { return listed(s.redge, id); }, 5000ms));
  auto heartbeatAt = [&] {
    return std::stoll(s.redis.command({"HGET", "redge:instances:" + id, "heartbeat_at"}).str);
  };
  auto deadline = [&] {
    return std::stoll(s.redis.command({"ZSCORE", "redge:instances:leases", id}).str);
  };
  int64_t first = heartbeatAt();
  int64_t first_deadline = deadline();
  CHECK(first_deadline == first + 600);
  // Three leases pass; the instance stays, its heartbeat and deadline move.
  REQUIRE(waitUntil([&] { return heartbeatAt() > first + 1500; }, 4000ms));
  CHECK(deadline() > first_deadline + 1500);
  CHECK(listed(s.redge, id));
  CHECK(scrapeMetric(a, "redge_discovery_heartbeats_total") >= 8);  // every 200 ms
  CHECK(scrapeMetric(a, "redge_discovery_heartbeat_failures_total") == 0);
  // /listservers reads the registry again, so it shows the recent heartbeat.
  const Listing now = listServers(s.redge);  // kept: find() points into it
  const Listed* l = now.find(id);
  REQUIRE(l != nullptr);
  CHECK(l->heartbeat_at > first + 1500);
  CHECK(scrapeMetric(s.redge, "redge_discovery_instances_expired_total") == 0);
}

TEST_CASE("discovery: a graceful stop deregisters at once", "[discovery]") {
  TestStack s(gatewaySettings());
  RedgeProcess a(s.dir, s.redis, instanceSettings("web", 5000));
  std::string id = instanceId(a);
  REQUIRE(waitUntil([&] { return listed(s.redge, id); }, 5000ms));
  auto start = std::chrono::steady_clock::now();
  CHECK(a.stop() == 0);
  REQUIRE(waitUntil([&] { return !listed(s.redge, id); }, 5000ms, 10ms));
  // Far inside the 5 s lease: it left, it did not expire.
  CHECK(msSince(start) < 1000);
  CHECK(a.logText().find("event=discovery_deregistered id=" + id + " removed=true") !=
        std::string::npos);
  CHECK(s.redge.waitForLog("event=instance_deregistered id=" + id, 2000ms));
  CHECK(s.redis.command({"EXISTS", "redge:instances:" + id}).integer == 0);
  CHECK(s.redis.command({"ZSCORE", "redge:instances:leases", id}).isNil());
  CHECK(scrapeMetric(s.redge, "redge_discovery_instances_deregistered_total") == 1);
  CHECK(scrapeMetric(s.redge, "redge_discovery_instances") == 0);
}

TEST_CASE("discovery: an instance killed with SIGKILL is gone within lease + 1 s", "[discovery]") {
  constexpr int64_t kLease = 1000;
  TestStack s(gatewaySettings());
  RedgeProcess a(s.dir, s.redis, instanceSettings("web", kLease));
  RedgeProcess b(s.dir, s.redis, instanceSettings("web", kLease));
  std::string id_a = instanceId(a), id_b = instanceId(b);
  REQUIRE(waitUntil([&] { return listServers(s.redge, "?service=web").instances.size() == 2; },
                    5000ms));
  auto killed = std::chrono::steady_clock::now();
  a.kill9();
  REQUIRE(waitUntil([&] { return !listed(s.redge, id_a); }, 5000ms, 10ms));
  long long gone_ms = msSince(killed);
  INFO("removed " << gone_ms << " ms after SIGKILL");
  CHECK(gone_ms <= kLease + 1000);
  CHECK(gone_ms >= kLease / 3);  // it expired; nobody deregistered it
  CHECK(listed(s.redge, id_b));  // the survivor heartbeats on
  // Seen once, by the reaper's message (instance_expired), or, when a full
  // load (a GET /listservers of the polling above asks for one) read the
  // registry after the reaper and before its message, by that load
  // (instance_removed reason=resync).
  CHECK(waitUntil(
      [&] {
        std::string log = s.redge.logText();
        return log.find("event=instance_expired id=" + id_a) != std::string::npos ||
               log.find("event=instance_removed id=" + id_a) != std::string::npos;
      },
      2000ms));
  CHECK(s.redis.command({"EXISTS", "redge:instances:" + id_a}).integer == 0);
  // Once, not twice: counted from its own log lines, as a resync also
  // counts the survivor's records it reads again.
  std::string log = s.redge.logText();
  auto count = [&log](const std::string& needle) {
    size_t n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  };
  CHECK(count("event=instance_expired id=" + id_a + " ") +
            count("event=instance_removed id=" + id_a + " ") ==
        1);
  CHECK(scrapeMetric(s.redge, "redge_discovery_instances") == 1);
}

TEST_CASE("discovery: with Redis down the gateway keeps its last snapshot, then resyncs",
          "[discovery]") {
  TestStack s(gatewaySettings({redgeSpawnCommand()}));
  RedgeProcess a(s.dir, s.redis, instanceSettings("web", 1000));
  std::string id = instanceId(a);
  REQUIRE(waitUntil([&] { return listed(s.redge, id); }, 5000ms));

  s.redis.stop();
  REQUIRE(waitUntil([&] { return listServers(s.redge).stale; }, 3000ms));
  // Longer than the lease: nobody can reap, and the gateway routes on what
  // it last knew.
  std::this_thread::sleep_for(1500ms);
  Listing during = listServers(s.redge);
  CHECK(during.status == 200);
  CHECK(during.stale);
  CHECK(during.find(id) != nullptr);
  CHECK(countOf(s.redge.logText(), "event=discovery_registry_stale") == 1);  // once per outage
  CHECK(scrapeMetric(s.redge, "redge_discovery_registry_stale") == 1);

  HttpReply spawn = postJson(s.redge, "/spawn", R"({"service":"web"})");
  CHECK(spawn.status == 503);
  CHECK(errorCode(spawn.body) == "redis_unavailable");
  CHECK(spawn.hasHeader("Retry-After"));
  HttpReply destroy = postJson(s.redge, "/destroy", "{\"id\":\"" + id + "\"}");
  CHECK(destroy.status == 503);
  CHECK(errorCode(destroy.body) == "redis_unavailable");

  // Redis comes back empty: the instance registers again by its heartbeat
  // and the gateway loads the registry again.
  s.redis.start();
  REQUIRE(waitUntil(
      [&] {
        Listing l = listServers(s.redge);
        return !l.stale && l.find(id) != nullptr;
      },
      5000ms));
  CHECK(s.redge.waitForLog("event=discovery_registry_resynced", 2000ms));
  CHECK(scrapeMetric(s.redge, "redge_discovery_registry_stale") == 0);
  CHECK(a.waitForLog("event=discovery_reregistered id=" + id, 2000ms));
  CHECK(s.redis.command({"EXISTS", "redge:instances:" + id}).integer == 1);
}

TEST_CASE("discovery: POST /spawn starts real instances, answers 201 once they registered",
          "[discovery]") {
  TestStack s(gatewaySettings({redgeSpawnCommand(), "discovery.spawn_output=null"}));
  waitFollowing(s.redge);
  SpawnedProcesses spawned;
  HttpReply r = postJson(s.redge, "/spawn", R"({"service":"web","count":2})", 15000ms);
  INFO(r.body << "\n" << s.redge.logText());
  REQUIRE(r.status == 201);
  std::vector<Listed> made = spawnedInstances(r, spawned);
  REQUIRE(made.size() == 2);
  CHECK(jsonString(r.body, "service") == "web");
  for (const Listed& m : made) {
    CHECK(m.service == "web");
    CHECK(m.id.rfind("web-", 0) == 0);
    // Each child serves on the free port it was given.
    HttpReply hello = httpGet("http://" + m.address + "/");
    CHECK(hello.status == 200);
    CHECK(hello.body == "hello world");
    CHECK(listed(s.redge, m.id));
    CHECK(s.redge.logText().find("event=spawn_started id=" + m.id) != std::string::npos);
    CHECK(s.redge.logText().find("event=spawn_finished id=" + m.id) != std::string::npos);
  }
  CHECK(made[0].address != made[1].address);
  CHECK(scrapeMetric(s.redge, "redge_discovery_spawns_started_total") == 2);
  CHECK(scrapeMetric(s.redge, "redge_discovery_spawns_finished_total") == 2);
  CHECK(scrapeMetric(s.redge, "redge_discovery_spawns_pending") == 0);
  CHECK(scrapeMetric(s.redge, "redge_discovery_spawns_failed_total") == 0);
}

TEST_CASE("discovery: POST /destroy drains the instance, which leaves the list and exits 0",
          "[discovery]") {
  TempDir dir;
  RedisServer redis(dir);
  const std::string marker_file = dir.file("destroyed.txt");
  RedgeProcess gateway(
      dir, redis,
      gatewaySettings({redgeSpawnCommand(), "discovery.spawn_output=null",
                       "discovery.destroy_command=" +
                           jsonList({"/bin/sh", "-c", "echo $0 $1 $2 >> " + marker_file, "{id}",
                                     "{address}", "{service}"})}));
  gateway.waitUntilReady();
  waitFollowing(gateway);
  SpawnedProcesses spawned;
  HttpReply r = postJson(gateway, "/spawn", R"({"service":"web"})", 15000ms);
  REQUIRE(r.status == 201);
  std::vector<Listed> made = spawnedInstances(r, spawned);
  REQUIRE(made.size() == 1);
  const Listed& child = made[0];

  HttpReply d = postJson(gateway, "/destroy", "{\"id\":\"" + child.id + "\"}");
  INFO(d.body << "\n" << gateway.logText());
  REQUIRE(d.status == 202);
  CHECK(jsonString(d.body, "status") == "stopping");
  CHECK(jsonString(d.body, "address") == child.address);
  CHECK(jsonString(d.body, "destroy_command") == "started");
  // It left the pools before it stopped: the very next listing lacks it.
  CHECK_FALSE(listed(gateway, child.id));
  CHECK(gateway.waitForLog("event=instance_destroyed id=" + child.id, 2000ms));
  // The child drained and exited by itself, with status 0 (its parent, the
  // gateway, reaped it and says so).
  CHECK(gateway.waitForLog(
      "event=spawned_process_exited id=" + child.id + " exit_status=0 signal=0", 10000ms));
  CHECK(httpGet("http://" + child.address + "/", {}, 1000ms).status == 0);
  // destroy_command ran with its placeholders filled (it runs in the
  // gateway's working directory).
  REQUIRE(gateway.waitForLog("event=destroy_command_finished id=" + child.id, 5000ms));
  CHECK(readFile(marker_file) == child.id + " " + child.address + " web\n");
  CHECK(scrapeMetric(gateway, "redge_discovery_destroys_total") == 1);
  CHECK(scrapeMetric(gateway, "redge_discovery_instances_destroyed_total") == 1);

  // Gone is gone: a second destroy finds nothing.
  HttpReply again = postJson(gateway, "/destroy", "{\"id\":\"" + child.id + "\"}");
  CHECK(again.status == 404);
  CHECK(errorCode(again.body) == "not_found");
}

TEST_CASE("discovery: a destroyed instance started by hand drains and exits 0", "[discovery]") {
  TestStack s(gatewaySettings());
  RedgeProcess a(s.dir, s.redis, instanceSettings("web", 5000));
  std::string id = instanceId(a);
  REQUIRE(waitUntil([&] { return listed(s.redge, id); }, 5000ms));
  HttpReply d = postJson(s.redge, "/destroy", "{\"id\":\"" + id + "\"}");
  REQUIRE(d.status == 202);
  CHECK(jsonString(d.body, "destroy_command") == "none");
  std::optional<int> code = a.waitForExit(10000ms);
  INFO(a.logText());
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(a.logText().find("event=discovery_stop_requested id=" + id) != std::string::npos);
  CHECK(a.logText().find("event=draining cause=stop_requested") != std::string::npos);
  CHECK(a.logText().find("event=loop_not_empty") == std::string::npos);
}

TEST_CASE("discovery: an instance whose stop request was missed stops at its next heartbeat",
          "[discovery]") {
  TestStack s;
  RedgeProcess a(s.dir, s.redis, instanceSettings("web", 600));
  std::string id = instanceId(a);
  REQUIRE(a.waitForLog("event=discovery_registered id=" + id, 5000ms));
  // What POST /destroy leaves in Redis, without the control message.
  s.redis.command({"SET", "redge:instances:stop:" + id, "1", "PX", "60000"});
  s.redis.command({"DEL", "redge:instances:" + id});
  s.redis.command({"ZREM", "redge:instances:leases", id});
  std::optional<int> code = a.waitForExit(5000ms);
  INFO(a.logText());
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(a.logText().find("event=discovery_registration_refused id=" + id) != std::string::npos);
  CHECK(s.redis.command({"EXISTS", "redge:instances:" + id}).integer == 0);
}

TEST_CASE("discovery: POST /spawn answers 504 when an instance does not register in time",
          "[discovery]") {
  TestStack s(gatewaySettings(
      {"discovery.spawn_command=" + jsonList({"/bin/sh", "-c", "exec sleep 30", "{id}"}),
       "discovery.spawn_timeout_ms=500"}));
  waitFollowing(s.redge);
  auto start = std::chrono::steady_clock::now();
  HttpReply r = postJson(s.redge, "/spawn", R"({"service":"web"})");
  INFO(r.body);
  CHECK(r.status == 504);
  CHECK(errorCode(r.body) == "spawn_timeout");
  CHECK(msSince(start) >= 500);
  CHECK(msSince(start) < 3000);
  rapidjson::Document doc;
  doc.Parse(r.body.c_str());
  REQUIRE(doc.IsObject());
  REQUIRE(doc["missing"].Size() == 1);
  std::string id = doc["missing"][0].GetString();
  CHECK(doc["registered"].Size() == 0);
  CHECK(s.redge.waitForLog("event=spawn_failed id=" + id + " service=web reason=timeout", 2000ms));
  // The command that never registered was stopped, not left behind.
  CHECK(s.redge.waitForLog("event=spawned_process_exited id=" + id + " exit_status=0 signal=15",
                           5000ms));
  CHECK(scrapeMetric(s.redge, "redge_discovery_spawns_failed_total") == 1);
  CHECK(scrapeMetric(s.redge, "redge_discovery_spawns_pending") == 0);
}

TEST_CASE("discovery: POST /spawn answers 502 when the command fails or cannot run",
          "[discovery]") {
  SECTION("the command exits non-zero before the instance registered") {
    TestStack s(gatewaySettings(
        {"discovery.spawn_command=" + jsonList({"/bin/sh", "-c", "exit 3", "{id}"})}));
    waitFollowing(s.redge);
    HttpReply r = postJson(s.redge, "/spawn", R"({"service":"web","count":2})");
    CHECK(r.status == 502);
    CHECK(errorCode(r.body) == "spawn_failed");
    CHECK(r.elapsed < 2000ms);
    CHECK(r.body.find("exited with status 3") != std::string::npos);
    CHECK(scrapeMetric(s.redge, "redge_discovery_spawns_failed_total") == 2);
  }
  SECTION("the program does not exist") {
    TestStack s(gatewaySettings(
        {"discovery.spawn_command=" + jsonList({"/nonexistent/redge", "--id={id}"})}));
    waitFollowing(s.redge);
    HttpReply r = postJson(s.redge, "/spawn", R"({"service":"web"})");
    CHECK(r.status == 502);
    CHECK(errorCode(r.body) == "spawn_failed");
    CHECK(r.body.find("cannot run /nonexistent/redge") != std::string::npos);
    CHECK(s.redge.logText().find("event=spawn_failed") != std::string::npos);
  }
}

TEST_CASE("discovery: POST /spawn beyond max_instances answers 409 and starts nothing",
          "[discovery]") {
  TestStack s(gatewaySettings(
      {"discovery.max_instances=2",
       "discovery.spawn_command=" + jsonList({"/bin/sh", "-c", "exec sleep 30", "{id}"})}));
  waitFollowing(s.redge);
  RedgeProcess a(s.dir, s.redis, instanceSettings("web", 5000));
  REQUIRE(waitUntil([&] { return listed(s.redge, instanceId(a)); }, 5000ms));
  HttpReply r = postJson(s.redge, "/spawn", R"({"service":"web","count":2})");
  CHECK(r.status == 409);
  CHECK(errorCode(r.body) == "max_instances");
  CHECK(jsonInt(r.body, "max_instances") == 2);
  CHECK(jsonInt(r.body, "current") == 1);
  HttpReply other = postJson(s.redge, "/spawn", R"({"service":"api","count":3})");
  CHECK(other.status == 409);
  CHECK(jsonInt(other.body, "current") == 0);
  CHECK(scrapeMetric(s.redge, "redge_discovery_spawns_started_total") == 0);
  CHECK(s.redge.logText().find("event=spawn_started") == std::string::npos);
}

TEST_CASE("discovery: admin requests with bad bodies are refused with the error model",
          "[discovery]") {
  TestStack s(gatewaySettings({redgeSpawnCommand()}));
  auto check = [&](const std::string& path, const std::string& body, long status,
                   const std::string& code) {
    HttpReply r = postJson(s.redge, path, body);
    INFO(path << " " << body << " -> " << r.status << " " << r.body);
    CHECK(r.status == status);
    CHECK(errorCode(r.body) == code);
    CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
    return r;
  };
  check("/spawn", "{\"service\":", 400, "invalid_json");
  check("/spawn", std::string(5000, '[') + std::string(5000, ']'), 400, "invalid_json");
  check("/spawn", "[]", 400, "invalid_json");
  HttpReply unknown = check("/spawn", R"({"service":"web","cuont":2})", 400, "invalid_field");
  CHECK(jsonString(unknown.body, "field") == "cuont");
  check("/spawn", R"({"count":2})", 400, "invalid_field");
  check("/spawn", R"({"service":"web","count":0})", 400, "invalid_field");
  check("/spawn", R"({"service":"web","count":"2"})", 400, "invalid_field");
  check("/spawn", R"({"service":"no spaces"})", 400, "invalid_field");
  check("/destroy", R"({"id":""})", 400, "invalid_field");
  check("/destroy", R"({"id":5})", 400, "invalid_field");
  check("/destroy", R"({})", 400, "invalid_field");
  check("/destroy", R"({"id":"web-nobody"})", 404, "not_found");
  CHECK(httpGet(s.admin("/spawn")).status == 405);
  CHECK(scrapeMetric(s.redge,
                     "redge_http_errors_total{service=\"admin\",code=\"invalid_field\"}") >= 8);
  CHECK(s.redge.logText().find("event=http_error service=admin status=404 error=not_found") !=
        std::string::npos);
  CHECK(stillServes(s.redge));
}

TEST_CASE("discovery: POST /spawn without a spawn_command is a disabled feature", "[discovery]") {
  TestStack s(gatewaySettings());
  HttpReply r = postJson(s.redge, "/spawn", R"({"service":"web"})");
  CHECK(r.status == 404);
  CHECK(errorCode(r.body) == "feature_disabled");
}

TEST_CASE("discovery: the section is configuration like any other, checked at start-up",
          "[discovery]") {
  TempDir dir;
  RedgeRun shown = runRedge(dir, {"--check-config", "--set", "discovery.lease_ms=900"},
                            {"REDGE_DISCOVERY_ENABLED=true"});
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out.find("\"discovery\": {\n    \"enabled\": true,") != std::string::npos);
  CHECK(shown.out.find("\"lease_ms\": 900") != std::string::npos);
  RedgeRun help = runRedge(dir, {"--help"});
  CHECK(help.out.find("discovery.lease_ms (integer 300..86400000, default 5000)") !=
        std::string::npos);

  RedgeRun no_id = runRedge(dir, {"--set", "discovery.spawn_command=[\"redge\",\"{port}\"]"});
  CHECK(no_id.exit_code == 2);
  CHECK(no_id.err.find("config error: discovery.spawn_command: must pass {id}") == 0);
  RedgeRun typo = runRedge(dir, {"--set", "discovery.spawn_command=[\"redge\",\"{ID}\"]"});
  CHECK(typo.exit_code == 2);
  CHECK(typo.err.find("config error: discovery.spawn_command[1]: unknown placeholder {ID}") == 0);
  RedgeRun tag = runRedge(dir, {"--set", "discovery.tags=[\"a,b\"]"});
  CHECK(tag.exit_code == 2);
  CHECK(tag.err.find("config error: discovery.tags[0]:") == 0);
  RedgeRun lease = runRedge(dir, {"--set", "discovery.lease_ms=100"});
  CHECK(lease.exit_code == 2);
  RedgeRun reserved = runRedge(dir, {"--set", "discovery.id=leases"});
  CHECK(reserved.exit_code == 2);
  RedgeRun advertise = runRedge(dir, {"--set", "discovery.advertise=10.0.0.1"});
  CHECK(advertise.exit_code == 2);
  CHECK(advertise.err.find("config error: discovery.advertise:") == 0);
}
