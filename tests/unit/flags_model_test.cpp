// The flag model: what PUT accepts and what it refuses (each refusal naming
// the field), the stored form the scripts complete and read back byte for
// byte, stickiness texts and cookies, and the app.flags configuration key.

#include <catch2/catch.hpp>
#include <string>

#include "core/config.hpp"
#include "flags/flag.hpp"
#include "flags/flag_route_guard.hpp"
#include "modules.hpp"
#include "services/app/app_service.hpp"

using redge::Flag;
using redge::FlagParse;
using redge::parseFlagSpec;
using redge::parseStoredFlag;

namespace {

std::string fieldOf(std::string_view name, std::string_view json) {
  FlagParse p = parseFlagSpec(name, json);
  REQUIRE_FALSE(p.flag);
  return p.error.field;
}

// What the put script stores: the body with updated_at and version inside.
std::string stored(const Flag& f, int64_t at, int64_t version) {
  std::string body = redge::flagBodyJson(f);
  REQUIRE(body.back() == '}');
  body.pop_back();
  return body + ",\"updated_at\":" + std::to_string(at) +
         ",\"version\":" + std::to_string(version) + "}";
}

}  // namespace

TEST_CASE("flags model: a full flag is read with every field", "[flags]") {
  FlagParse p = parseFlagSpec("checkout", R"({
    "name": "checkout", "enabled": true, "rollout": 12.5, "stickiness": "header:X-User-Id",
    "targets": ["alice"], "description": "new checkout",
    "variants": [{"name": "a", "weight": 2, "value": {"list": []}}, {"name": "b", "value": {"n": 1.5}}],
    "default_variant": "a"})");
  REQUIRE(p.flag);
  const Flag& f = *p.flag;
  CHECK(f.enabled);
  CHECK(f.rollout == 12.5);
  CHECK(f.stickiness.source == redge::StickinessSource::Header);
  CHECK(f.stickiness.name == "X-User-Id");
  CHECK(f.targets == std::vector<std::string>{"alice"});
  REQUIRE(f.variants.size() == 2);
  CHECK(f.variants[0].value_json == "{\"list\":[]}");
  CHECK(f.variants[1].weight == 1);
  CHECK(f.variants[1].value_json == "{\"n\":1.5}");
  CHECK(f.default_variant == "a");
  // Defaults: off, everyone, the client address; a variant's value is its name.
  FlagParse d = parseFlagSpec("x", R"({"variants":[{"name":"v"}],"default_variant":"v"})");
  REQUIRE(d.flag);
  CHECK_FALSE(d.flag->enabled);
  CHECK(d.flag->rollout == 100);
  CHECK(d.flag->stickiness.text() == "client_address");
  CHECK(d.flag->variants[0].value_json == "\"v\"");
}

TEST_CASE("flags model: refusals name the field", "[flags]") {
  CHECK(fieldOf("f", "[]") == "(body)");
  CHECK(fieldOf("f", "{") == "(body)");
  CHECK(fieldOf("f", R"({"name":"g"})") == "name");
  CHECK(fieldOf("f", R"({"enabled":"yes"})") == "enabled");
  CHECK(fieldOf("f", R"({"rollout":101})") == "rollout");
  CHECK(fieldOf("f", R"({"rollout":-1})") == "rollout");
  CHECK(fieldOf("f", R"({"stickiness":"query:x"})") == "stickiness");
  CHECK(fieldOf("f", R"({"stickiness":"header:"})") == "stickiness");
  CHECK(fieldOf("f", R"({"enabeld":true})") == "enabeld");
  CHECK(fieldOf("f", R"({"targets":["a","a"]})") == "targets[1]");
  CHECK(fieldOf("f", R"({"targets":[""]})") == "targets[0]");
  CHECK(fieldOf("f", R"({"variants":[{"name":"a"}]})") == "default_variant");
  CHECK(fieldOf("f", R"({"variants":[{"name":"a"}],"default_variant":"b"})") == "default_variant");
  CHECK(fieldOf("f", R"({"default_variant":"b"})") == "default_variant");
  CHECK(fieldOf("f", R"({"variants":[{"name":"a"},{"name":"a"}],"default_variant":"a"})") ==
        "variants[1].name");
  CHECK(fieldOf("f", R"({"variants":[{"name":"a","value":1},{"name":"b","value":"x"}],
                         "default_variant":"a"})") == "variants[1].value");
  CHECK(fieldOf("f", R"({"variants":[{"name":"a","weight":0}],"default_variant":"a"})") ==
        "variants");
  CHECK(fieldOf("f", R"({"variants":[{"name":"a","weight":-1}],"default_variant":"a"})") ==
        "variants[0].weight");
  CHECK(fieldOf("f", R"({"variants":[{"name":"a","color":1}],"default_variant":"a"})") ==
        "variants[0].color");
  CHECK(fieldOf("f", R"({"enabled":true,"enabled":false})") == "enabled");
  FlagParse p = parseFlagSpec("f", R"({"rollout":"all"})");
  CHECK(p.error.message() ==
        "The flag's rollout must be a number from 0 to 100 (percent of users).");
}

TEST_CASE("flags model: what GET shows can be PUT back (redge's fields ignored)", "[flags]") {
  FlagParse p = parseFlagSpec("f", R"({"name":"f","enabled":true,"updated_by":"x",
                                      "updated_at":"2026-01-01T00:00:00.000Z","version":9})");
  REQUIRE(p.flag);
  CHECK(p.flag->updated_by.empty());
  CHECK(p.flag->version == 0);
  Flag f = *p.flag;
  f.updated_by = "ops";
  f.updated_at_ms = 1795947030631;
  f.version = 4;
  FlagParse again = parseFlagSpec("f", redge::flagJson(f));
  REQUIRE(again.flag);
  CHECK(again.flag->enabled);
}

TEST_CASE("flags model: the stored form reads back equal with values byte for byte", "[flags]") {
  FlagParse p = parseFlagSpec("f", R"({"enabled":true,"rollout":0.001,"stickiness":"cookie:uid",
      "targets":["t\"1"],"description":"quote \" and , \"updated_by\":",
      "variants":[{"name":"a","value":{"e":[],"o":{}}}],"default_variant":"a"})");
  REQUIRE(p.flag);
  Flag f = *p.flag;
  f.updated_by = "ops \"on call\"";
  std::string text = stored(f, 1795947030631, 42);
  std::optional<Flag> back = parseStoredFlag(text);
  REQUIRE(back);
  CHECK(back->updated_at_ms == 1795947030631);
  CHECK(back->version == 42);
  f.updated_at_ms = 1795947030631;
  f.version = 42;
  CHECK(*back == f);
  CHECK(back->variants[0].value_json == "{\"e\":[],\"o\":{}}");
  // The canonical shape the switch script relies on.
  CHECK(text.rfind("{\"name\":\"f\",\"enabled\":true,", 0) == 0);
  CHECK_FALSE(parseStoredFlag("{\"name\":\"bad name\"}"));
}

TEST_CASE("flags model: names and stickiness texts and cookies", "[flags]") {
  CHECK_FALSE(redge::checkFlagName("set_enabled"));
  CHECK_FALSE(redge::checkFlagName("checkout.v2-beta"));
  CHECK(redge::checkFlagName(""));
  CHECK(redge::checkFlagName("a b"));
  CHECK(redge::checkFlagName("a/b"));
  CHECK(redge::checkFlagName(std::string(129, 'a')));
  CHECK(redge::parseStickiness("cookie:uid")->text() == "cookie:uid");
  CHECK_FALSE(redge::parseStickiness("header:X Y"));
  CHECK_FALSE(redge::parseStickiness("random"));
  CHECK(redge::stickyCookieValue("a=1; uid=42; b=2", "uid") ==
        std::optional<std::string_view>("42"));
  CHECK(redge::stickyCookieValue("uid=\"q\"", "uid") == std::optional<std::string_view>("q"));
  CHECK_FALSE(redge::stickyCookieValue("xuid=1; uid=", "uid"));
  CHECK_FALSE(redge::stickyCookieValue("", "uid"));
  CHECK(redge::formatTimestampMs(1795947030631) == "2026-11-29T10:10:30.631Z");
  CHECK(redge::formatNumber(12.5) == "12.5");
  CHECK(redge::formatNumber(100) == "100");
}

TEST_CASE("flags model: app.flags maps routes to flag names", "[flags]") {
  const redge::ConfigSchema& schema = redge::configSchema();
  redge::Config config = schema.defaults();
  REQUIRE_FALSE(schema.applyAssignment("app.flags", R"({"/set":"set_enabled"})", config));
  CHECK(config.module<redge::AppOptions>().flags.at("/set") == "set_enabled");
  CHECK_FALSE(schema.validate(config));
  CHECK(schema.toJson(config).find("\"/set\": \"set_enabled\"") != std::string::npos);
  auto bad_name = schema.applyAssignment("app.flags", R"({"/set":"no good"})", config);
  REQUIRE(bad_name);
  CHECK(bad_name->path == "app.flags./set");
  auto not_string = schema.applyAssignment("app.flags", R"({"/set":1})", config);
  REQUIRE(not_string);
  CHECK(not_string->reason == "expected a string");
  REQUIRE_FALSE(schema.applyAssignment("app.flags", R"({"set":"set_enabled"})", config));
  auto not_route = schema.validate(config);
  REQUIRE(not_route);
  CHECK(not_route->path == "app.flags.set");
  REQUIRE_FALSE(schema.applyAssignment("app.flags", R"({"/set":"set_enabled"})", config));
  REQUIRE_FALSE(schema.applyAssignment("flags.enabled", "false", config));
  auto needs_flags = schema.validate(config);
  REQUIRE(needs_flags);
  CHECK(needs_flags->path == "app.flags");
}
