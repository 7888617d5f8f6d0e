// Alert rules and receivers on SIGHUP: a rule left as it was goes on firing
// without a second notification, a removed one is gone, a new one fires to
// a receiver the reload added, and a rule that does not parse refuses the
// whole reload with the running rules kept. A real redge, a real Redis, two
// real webhook receivers (HTTP servers in the test).

#include <rapidjson/document.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>

#include "support/config_reload.hpp"
#include "support/http_client.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_until.hpp"
#include "support/webhook_sink.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

void writeAlertsConfig(const std::string& path, const std::string& receivers,
                       const std::string& rules) {
  writeConfigFile(path,
                  R"({"alerts": {"enabled": true, "interval_ms": 100, "defaults": {"cpu": false,
             "memory": false, "app_error_ratio": false, "app_p99": false},
             "receivers": )" +
                      receivers + R"(, "rules": )" + rules + "}}");
}

// A rule over a series every redge has; `op` decides whether it holds.
std::string rule(const std::string& name, const std::string& op, const std::string& receiver) {
  return R"({"name": ")" + name + R"(", "expr": "process_start_time_seconds )" + op +
         R"( 0", "receivers": [")" + receiver + R"("]})";
}

// Rule name → state, from GET /alerts.
std::map<std::string, std::string> ruleStates(const RedgeProcess& redge) {
  rapidjson::Document d;
  d.Parse(httpGet(redge.adminUrl("/alerts")).body.c_str());
  std::map<std::string, std::string> out;
  if (d.HasParseError() || !d.IsObject() || !d.HasMember("rules")) return out;
  for (const auto& r : d["rules"].GetArray()) out[r["name"].GetString()] = r["state"].GetString();
  return out;
}

}  // namespace

TEST_CASE("reload: alert rules and receivers change live, an unchanged rule keeps firing",
          "[reload][alerts]") {
  TempDir dir;
  RedisServer redis(dir);
  WebhookSink first, second;
  const std::string config = dir.file("redge.json");
  writeAlertsConfig(config, R"({"first": {"url": ")" + first.url("/hook") + R"("}})",
                    "[" + rule("Always", ">", "first") + "," + rule("Never", "<", "first") + "]");
  RedgeServices services;
  services.args = {"--config", config};
  RedgeProcess redge(dir, redis, {}, {}, services);
  redge.waitUntilReady();
  REQUIRE(waitUntil([&] { return first.requests() >= 1; }, 5s));
  CHECK(ruleStates(redge) ==
        std::map<std::string, std::string>{{"Always", "firing"}, {"Never", "inactive"}});

  // Always as it was; Never gone; AlsoAlways new, to a receiver new too.
  writeAlertsConfig(
      config,
      R"({"first": {"url": ")" + first.url("/hook") + R"("}, "second": {"url": ")" +
          second.url("/other") + R"("}})",
      "[" + rule("Always", ">", "first") + "," + rule("AlsoAlways", ">", "second") + "]");
  redge.signal(SIGHUP);
  REQUIRE(redge.waitForLog("event=config_reloaded", 5s));
  INFO("redge log:\n" << redge.logText());
  const std::string log = redge.logText();
  CHECK(log.find("applied=alerts.rules,alerts.receivers restart_needed=none") != std::string::npos);
  CHECK(log.find("event=alerts_reloaded rules=2 kept=1 changed=0 added=1 removed=1 receivers=2") !=
        std::string::npos);
  REQUIRE(waitUntil([&] { return second.requests() >= 1; }, 5s));
  CHECK(second.bodies()[0].find("\"alertname\":\"AlsoAlways\"") != std::string::npos);
  // The unchanged rule went on firing: its receiver heard of it once.
  CHECK(first.requests() == 1);
  const std::map<std::string, std::string> both_firing = {{"Always", "firing"},
                                                          {"AlsoAlways", "firing"}};
  CHECK(ruleStates(redge) == both_firing);

  // A rule that does not parse: the whole file is refused, the rules stay.
  writeAlertsConfig(config, R"({"first": {"url": ")" + first.url("/hook") + R"("}})",
                    R"([{"name": "Broken", "expr": "process_start_time_seconds >"}])");
  redge.signal(SIGHUP);
  REQUIRE(redge.waitForLog("event=config_reload_refused", 5s));
  CHECK(redge.logText().find("rule 'Broken'") != std::string::npos);
  CHECK(ruleStates(redge) == both_firing);
  CHECK(redge.running());
}
