// The discovery module's pure parts that face operators: argv templates
// (spawn_command, destroy_command), names, tags and addresses, and the
// depth-limited JSON entry point the admin routes parse bodies with.

#include <catch2/catch.hpp>
#include <string>

#include "services/discovery/command_template.hpp"
#include "services/discovery/instance_record.hpp"

using namespace redge;

namespace {

CommandValues sampleValues() {
  return {"web", "web-0a1b2c3d4e5f", "41234", "redis://127.0.0.1:6379/0", "10.0.0.5:41234"};
}

}  // namespace

TEST_CASE("discovery template: each placeholder is replaced, elements stay apart", "[discovery]") {
  std::vector<std::string> argv = {"/usr/bin/redge",  "--redis", "{redis}",           "--set",
                                   "app.port={port}", "--set",   "discovery.id={id}", "{service}"};
  std::vector<std::string> out = expandCommand(argv, sampleValues());
  REQUIRE(out.size() == argv.size());
  CHECK(out[0] == "/usr/bin/redge");
  CHECK(out[2] == "redis://127.0.0.1:6379/0");
  CHECK(out[4] == "app.port=41234");
  CHECK(out[6] == "discovery.id=web-0a1b2c3d4e5f");
  CHECK(out[7] == "web");
}

TEST_CASE("discovery template: several placeholders in one element, and repeats", "[discovery]") {
  auto out =
      expandCommand({"--unit=redge-{service}-{id}", "{port}{port}", "{address}"}, sampleValues());
  CHECK(out[0] == "--unit=redge-web-web-0a1b2c3d4e5f");
  CHECK(out[1] == "4123441234");
  CHECK(out[2] == "10.0.0.5:41234");
}

TEST_CASE("discovery template: braces that are no placeholder stay as written", "[discovery]") {
  auto out = expandCommand({"{\"a\":1}", "x{", "}y", "{{id}}", "{unknown-thing}"}, sampleValues());
  CHECK(out[0] == "{\"a\":1}");
  CHECK(out[1] == "x{");
  CHECK(out[2] == "}y");
  CHECK(out[3] == "{web-0a1b2c3d4e5f}");
  CHECK(out[4] == "{unknown-thing}");
}

TEST_CASE("discovery template: a value is not expanded again", "[discovery]") {
  CommandValues v = sampleValues();
  v.service = "{id}";
  CHECK(expandCommand({"{service}"}, v)[0] == "{id}");
}

TEST_CASE("discovery template: a misspelt placeholder is refused at start-up", "[discovery]") {
  CHECK_FALSE(checkCommandArgument("discovery.id={id}").has_value());
  CHECK_FALSE(checkCommandArgument("{service}-{port}-{redis}-{address}").has_value());
  CHECK_FALSE(checkCommandArgument("{\"json\": true}").has_value());
  CHECK_FALSE(checkCommandArgument("a lone { brace").has_value());
  auto bad = checkCommandArgument("discovery.id={ID}");
  REQUIRE(bad.has_value());
  CHECK(bad->find("unknown placeholder {ID}") == 0);
  CHECK(checkCommandArgument("{servce}").has_value());
}

TEST_CASE("discovery template: which placeholders a template uses", "[discovery]") {
  std::vector<std::string> argv = {"redge", "--set", "discovery.id={id}"};
  CHECK(usesPlaceholder(argv, "id"));
  CHECK_FALSE(usesPlaceholder(argv, "port"));
  CHECK_FALSE(usesPlaceholder({}, "id"));
}

TEST_CASE("discovery names: ids, services and tags", "[discovery]") {
  CHECK_FALSE(checkServiceName("web").has_value());
  CHECK_FALSE(checkServiceName("api_v2.eu-1").has_value());
  CHECK(checkServiceName("").has_value());
  CHECK(checkServiceName("a b").has_value());
  CHECK(checkServiceName("a:b").has_value());
  CHECK(checkServiceName(std::string(65, 'x')).has_value());
  CHECK_FALSE(checkServiceName(std::string(64, 'x')).has_value());

  CHECK_FALSE(checkInstanceId("").has_value());  // the default: generated
  CHECK_FALSE(checkInstanceId("web-0a1b").has_value());
  CHECK(checkInstanceId("leases").has_value());  // the registry's own keys
  CHECK(checkInstanceId("changes").has_value());
  CHECK(checkInstanceId("control").has_value());
  CHECK(checkInstanceId("seq").has_value());
  CHECK(checkInstanceId("stop:x").has_value());

  CHECK_FALSE(checkTag("zone=eu-1").has_value());
  CHECK_FALSE(checkTag("team/payments").has_value());
  CHECK(checkTag("a,b").has_value());  // the hash keeps tags comma-joined
  CHECK(checkTag("").has_value());
}

TEST_CASE("discovery names: tags survive the hash's comma-joined form", "[discovery]") {
  std::vector<std::string> tags = {"zone=a", "canary", "v:2"};
  CHECK(joinTags(tags) == "zone=a,canary,v:2");
  CHECK(splitTags(joinTags(tags)) == tags);
  CHECK(splitTags("").empty());
  CHECK(splitTags(",a,,b,") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("discovery names: advertised addresses", "[discovery]") {
  CHECK_FALSE(checkAdvertise("").has_value());
  CHECK_FALSE(checkAdvertise("10.0.0.5:3000").has_value());
  CHECK_FALSE(checkAdvertise("app-1.internal:8080").has_value());
  CHECK_FALSE(checkAdvertise("[::1]:3000").has_value());
  CHECK(checkAdvertise("10.0.0.5").has_value());
  CHECK(checkAdvertise("10.0.0.5:0").has_value());
  CHECK(checkAdvertise("10.0.0.5:70000").has_value());
  CHECK(checkAdvertise(":3000").has_value());
  CHECK(addressPort("10.0.0.5:3000") == 3000);
  CHECK(addressPort("[::1]:3001") == 3001);
  CHECK(addressPort("nohost") == 0);
}
