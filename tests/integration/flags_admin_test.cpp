// Feature flags through their three doors, against a real redis-server and
// the real redge: the admin API (create, read, switch, replace with
// If-Match, delete, every refusal with its code), `redge flags` on the same
// binary, and OFREP (single and bulk, each reason and error code the
// protocol names, the bulk ETag). The log line per change and the metrics
// are read back from the process that promises them.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

const HeaderList kJson = {"Content-Type: application/json"};

HttpReply putFlag(const TestStack& s, const std::string& name, const std::string& json,
                  HeaderList headers = kJson) {
  return httpRequest("PUT", s.admin("/flags/" + name), json, headers);
}

HttpReply ofrep(const TestStack& s, const std::string& key, const std::string& body) {
  return httpPost(s.admin("/ofrep/v1/evaluate/flags/" + key), body, kJson);
}

RedgeRun flagsCli(const TestStack& s, std::vector<std::string> args) {
  std::vector<std::string> argv = {"--redis", s.redis.url(), "flags"};
  argv.insert(argv.end(), args.begin(), args.end());
  return runRedge(s.dir, argv);
}

}  // namespace

TEST_CASE("flags admin: create then read and switch and replace and delete", "[flags]") {
  TestStack s;
  HttpReply empty = httpGet(s.admin("/flags"));
  REQUIRE(empty.status == 200);
  CHECK(jsonInt(empty.body, "version") == 0);

  HttpReply created =
      putFlag(s, "set_enabled", R"({"enabled":true,"description":"/set","rollout":100})",
              {"Content-Type: application/json", "X-Redge-Actor: deploy-bot"});
  REQUIRE(created.status == 201);
  CHECK(jsonString(created.body, "name") == "set_enabled");
  CHECK(jsonString(created.body, "updated_by") == "deploy-bot");
  CHECK(jsonString(created.body, "updated_at").value_or("").size() == 24);
  int64_t v1 = jsonInt(created.body, "version").value_or(0);
  CHECK(v1 == 1);
  CHECK(s.redge.waitForLog("event=flag_created flag=set_enabled enabled=true", 2s));

  HttpReply got = httpGet(s.admin("/flags/set_enabled"));
  REQUIRE(got.status == 200);
  CHECK(got.body.find("\"enabled\":true") != std::string::npos);
  HttpReply listed = httpGet(s.admin("/flags"));
  CHECK(listed.body.find("\"name\":\"set_enabled\"") != std::string::npos);
  CHECK(listed.body.find("\"stale\":false") != std::string::npos);

  HttpReply off = httpPost(s.admin("/flags/set_enabled/off"), "");
  REQUIRE(off.status == 200);
  CHECK(off.body.find("\"enabled\":false") != std::string::npos);
  CHECK(jsonInt(off.body, "version") == 2);
  CHECK(jsonString(off.body, "description") == "/set");  // the rest kept as written
  CHECK(jsonString(off.body, "updated_by").value_or("").rfind("admin-api@127.0.0.1", 0) == 0);
  CHECK(s.redge.waitForLog("event=flag_changed flag=set_enabled enabled=false", 2s));
  // Switching to the state it is in writes nothing.
  HttpReply again = httpPost(s.admin("/flags/set_enabled/off"), "");
  CHECK(again.status == 200);
  CHECK(jsonInt(again.body, "version") == 2);

  // Replace with a precondition: the right version passes, a stale one not.
  HttpReply stale = putFlag(s, "set_enabled", R"({"enabled":true})",
                            {"Content-Type: application/json", "If-Match: \"1\""});
  CHECK(stale.status == 412);
  CHECK(errorCode(stale.body) == "version_conflict");
  CHECK(jsonInt(stale.body, "current_version") == 2);
  HttpReply replaced = putFlag(s, "set_enabled", R"({"enabled":true,"rollout":50})",
                               {"Content-Type: application/json", "If-Match: \"2\""});
  CHECK(replaced.status == 200);
  CHECK(replaced.body.find("\"rollout\":50") != std::string::npos);
  HttpReply create_only =
      putFlag(s, "set_enabled", R"({})", {"Content-Type: application/json", "If-None-Match: *"});
  CHECK(create_only.status == 412);
  CHECK(errorCode(create_only.body) == "flag_exists");

  HttpReply deleted = httpRequest("DELETE", s.admin("/flags/set_enabled"), "");
  REQUIRE(deleted.status == 200);
  CHECK(jsonString(deleted.body, "deleted") == "set_enabled");
  CHECK(s.redge.waitForLog("event=flag_deleted flag=set_enabled", 2s));
  HttpReply gone = httpGet(s.admin("/flags/set_enabled"));
  CHECK(gone.status == 404);
  CHECK(errorCode(gone.body) == "flag_not_found");

  // Stored in the one hash, with the counter beside it: four changes (the
  // refused writes and the switch to the state it was in took no number).
  CHECK(s.redis.command({"HLEN", "redge:flags"}).integer == 0);
  CHECK(s.redis.command({"GET", "redge:flags:version"}).str == "4");
  CHECK(scrapeMetric(s.redge, "redge_flags_snapshot_version") == 4);
  CHECK(scrapeMetric(s.redge, "redge_flags_changes_total").value_or(0) >= 4);
}

TEST_CASE("flags admin: every refusal has its status and code", "[flags]") {
  TestStack s;
  HttpReply bad_json = putFlag(s, "f", "{");
  CHECK(bad_json.status == 400);
  CHECK(errorCode(bad_json.body) == "invalid_flag");
  HttpReply bad_field = putFlag(s, "f", R"({"rollout":150})");
  CHECK(bad_field.status == 400);
  CHECK(jsonString(bad_field.body, "field") == "rollout");
  CHECK(jsonString(bad_field.body, "message").value_or("").find("0 to 100") != std::string::npos);
  HttpReply typo = putFlag(s, "f", R"({"enabeld":true})");
  CHECK(jsonString(typo.body, "field") == "enabeld");
  HttpReply bad_name = putFlag(s, "a%20b", R"({})");
  CHECK(bad_name.status == 400);
  CHECK(errorCode(bad_name.body) == "invalid_flag_name");
  HttpReply bad_if = putFlag(s, "f", R"({})", {"If-Match: soon"});
  CHECK(bad_if.status == 400);
  CHECK(errorCode(bad_if.body) == "invalid_precondition");
  HttpReply missing_on = httpPost(s.admin("/flags/nope/on"), "");
  CHECK(missing_on.status == 404);
  CHECK(errorCode(missing_on.body) == "flag_not_found");
  HttpReply missing_del = httpRequest("DELETE", s.admin("/flags/nope"), "");
  CHECK(missing_del.status == 404);
  HttpReply big = putFlag(s, "f", "{\"description\":\"" + std::string(70000, 'x') + "\"}");
  CHECK(big.status == 413);
  // Nothing was written by any of them.
  CHECK(s.redis.command({"EXISTS", "redge:flags"}).integer == 0);
  // A flag another tool wrote in a shape redge cannot switch in place.
  s.redis.command({"HSET", "redge:flags", "odd", R"({"enabled":true,"name":"odd"})"});
  HttpReply odd = httpPost(s.admin("/flags/odd/off"), "");
  CHECK(odd.status == 409);
  CHECK(errorCode(odd.body) == "flag_unreadable");
  // Redis down: 503 with Retry-After, and reads still answer from the snapshot.
  REQUIRE(putFlag(s, "kept", R"({"enabled":true})").status == 201);
  s.redis.stop();
  HttpReply down = httpPost(s.admin("/flags/kept/off"), "");
  CHECK(down.status == 503);
  CHECK(errorCode(down.body) == "redis_unavailable");
  CHECK(down.hasHeader("Retry-After"));
  CHECK(httpGet(s.admin("/flags/kept")).status == 200);
  CHECK(waitUntil(
      [&] { return httpGet(s.admin("/flags")).body.find("\"stale\":true") != std::string::npos; },
      3s));
  CHECK(scrapeMetric(s.redge, "redge_flags_stale") == 1);
}

TEST_CASE("flags cli: list get set on off and delete on the same binary", "[flags]") {
  TestStack s;
  RedgeRun help = runRedge(s.dir, {"--help"});
  CHECK(help.out.find("flags list|get NAME|set NAME JSON|on NAME|off NAME|delete NAME") !=
        std::string::npos);

  RedgeRun set = flagsCli(s, {"set", "beta", R"({"enabled":true,"rollout":10})"});
  REQUIRE(set.exit_code == 0);
  CHECK(jsonString(set.out, "name") == "beta");
  CHECK(jsonString(set.out, "updated_by").value_or("").rfind("cli:", 0) == 0);
  // The daemon follows what the CLI wrote.
  CHECK(waitUntil([&] { return httpGet(s.admin("/flags/beta")).status == 200; }, 2s));

  RedgeRun off = flagsCli(s, {"off", "beta"});
  REQUIRE(off.exit_code == 0);
  CHECK(off.out.find("\"enabled\":false") != std::string::npos);
  CHECK(waitUntil(
      [&] {
        return httpGet(s.admin("/flags/beta")).body.find("\"enabled\":false") != std::string::npos;
      },
      2s));
  RedgeRun on = flagsCli(s, {"on", "beta"});
  CHECK(on.exit_code == 0);
  RedgeRun get = flagsCli(s, {"get", "beta"});
  CHECK(get.exit_code == 0);
  CHECK(get.out.find("\"enabled\":true") != std::string::npos);
  RedgeRun list = flagsCli(s, {"list"});
  CHECK(list.exit_code == 0);
  CHECK(jsonInt(list.out, "version") == 3);
  RedgeRun del = flagsCli(s, {"delete", "beta"});
  CHECK(del.exit_code == 0);
  CHECK(jsonString(del.out, "deleted") == "beta");

  RedgeRun missing = flagsCli(s, {"get", "beta"});
  CHECK(missing.exit_code == 1);
  CHECK(errorCode(missing.err) == "flag_not_found");
  RedgeRun invalid = flagsCli(s, {"set", "beta", R"({"rollout":"half"})"});
  CHECK(invalid.exit_code == 1);
  CHECK(errorCode(invalid.err) == "invalid_flag");
  RedgeRun usage = flagsCli(s, {"toggle", "beta"});
  CHECK(usage.exit_code == 2);
  RedgeRun no_redis = runRedge(s.dir, {"--redis", "redis://127.0.0.1:1", "flags", "list"});
  CHECK(no_redis.exit_code == 1);
  CHECK(errorCode(no_redis.err) == "redis_unavailable");
  // REDGE_REDIS_URL works as for the daemon.
  RedgeRun env = runRedge(s.dir, {"flags", "list"}, {"REDGE_REDIS_URL=" + s.redis.url()});
  CHECK(env.exit_code == 0);
}

TEST_CASE("flags ofrep: values and variants and reasons and error codes", "[flags]") {
  TestStack s;
  REQUIRE(putFlag(s, "on", R"({"enabled":true})").status == 201);
  REQUIRE(putFlag(s, "off", R"({"enabled":false})").status == 201);
  REQUIRE(putFlag(s, "half", R"({"enabled":true,"rollout":50,"targets":["vip"]})").status == 201);
  REQUIRE(putFlag(s, "color", R"({"enabled":true,"stickiness":"header:X-User",
      "variants":[{"name":"red","value":"#f00"},{"name":"blue","value":"#00f"}],
      "default_variant":"red","description":"button color"})")
              .status == 201);

  HttpReply on = ofrep(s, "on", "{}");
  REQUIRE(on.status == 200);
  CHECK(on.body ==
        R"({"key":"on","value":true,"reason":"STATIC","variant":"on","metadata":{"version":1}})");
  HttpReply off = ofrep(s, "off", "");
  CHECK(off.body.find(R"("value":false,"reason":"DISABLED","variant":"off")") != std::string::npos);
  HttpReply vip = ofrep(s, "half", R"({"context":{"targetingKey":"vip"}})");
  CHECK(jsonString(vip.body, "reason") == "TARGETING_MATCH");
  HttpReply split = ofrep(s, "half", R"({"context":{"targetingKey":"someone"}})");
  CHECK(jsonString(split.body, "reason") == "SPLIT");
  // Same user, same answer, every time.
  CHECK(ofrep(s, "half", R"({"context":{"targetingKey":"someone"}})").body == split.body);
  HttpReply color = ofrep(s, "color", R"({"context":{"x-user":"u-1"}})");
  REQUIRE(color.status == 200);
  std::string variant = jsonString(color.body, "variant").value_or("");
  CHECK((variant == "red" || variant == "blue"));
  CHECK(jsonString(color.body, "value") == (variant == "red" ? "#f00" : "#00f"));
  CHECK(color.body.find(R"("description":"button color")") != std::string::npos);

  HttpReply missing = ofrep(s, "nope", "{}");
  CHECK(missing.status == 404);
  CHECK(jsonString(missing.body, "errorCode") == "FLAG_NOT_FOUND");
  CHECK(jsonString(missing.body, "key") == "nope");
  HttpReply no_key = ofrep(s, "half", R"({"context":{}})");
  CHECK(no_key.status == 400);
  CHECK(jsonString(no_key.body, "errorCode") == "TARGETING_KEY_MISSING");
  HttpReply parse = ofrep(s, "on", "{nope");
  CHECK(parse.status == 400);
  CHECK(jsonString(parse.body, "errorCode") == "PARSE_ERROR");
  HttpReply bad_ctx = ofrep(s, "on", R"({"context":[1]})");
  CHECK(jsonString(bad_ctx.body, "errorCode") == "INVALID_CONTEXT");
  HttpReply bad_key = ofrep(s, "on", R"({"context":{"targetingKey":7}})");
  CHECK(jsonString(bad_key.body, "errorCode") == "INVALID_CONTEXT");

  // Bulk: every flag, failures inline; the ETag holds until a flag changes.
  // No key: the splits fail inline, the rest is answered.
  std::string body = R"({"context":{}})";
  HttpReply bulk = httpPost(s.admin("/ofrep/v1/evaluate/flags"), body, kJson);
  REQUIRE(bulk.status == 200);
  CHECK(bulk.body.find(R"("key":"color","errorCode":"TARGETING_KEY_MISSING")") !=
        std::string::npos);
  CHECK(bulk.body.find(R"("key":"half","errorCode":"TARGETING_KEY_MISSING")") != std::string::npos);
  CHECK(bulk.body.find(R"("key":"on","value":true)") != std::string::npos);
  std::string etag = bulk.header("ETag");
  REQUIRE_FALSE(etag.empty());
  HeaderList cached = {"Content-Type: application/json", "If-None-Match: " + etag};
  CHECK(httpPost(s.admin("/ofrep/v1/evaluate/flags"), body, cached).status == 304);
  REQUIRE(httpPost(s.admin("/flags/off/on"), "").status == 200);
  HttpReply changed = httpPost(s.admin("/ofrep/v1/evaluate/flags"), body, cached);
  CHECK(changed.status == 200);
  CHECK(changed.header("ETag") != etag);
  HttpReply config = httpGet(s.admin("/ofrep/v1/configuration"));
  CHECK(jsonString(config.body, "name") == "redge");

  CHECK(scrapeMetric(s.redge, "redge_flags_evaluations_total{flag=\"on\",result=\"on\"}")
            .value_or(0) >= 2);
  CHECK(scrapeMetric(s.redge,
                     "redge_flags_evaluations_total{flag=\"(unknown)\",result=\"not_found\"}") ==
        1);
}
