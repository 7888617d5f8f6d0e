// The command line and configuration as an operator meets them: help and
// version, --check-config, and start-up refusing an unknown key or a bad
// value with exit code 2 and the key's path in the message.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>

#include "support/redge_process.hpp"
#include "support/temp_dir.hpp"

using namespace redge_test;

TEST_CASE("config: --help prints usage and exits 0", "[config]") {
  TempDir dir;
  RedgeRun run = runRedge(dir, {"--help"});
  CHECK(run.exit_code == 0);
  CHECK(run.out.find("usage: redge") != std::string::npos);
  CHECK(run.out.find("--check-config") != std::string::npos);
}

TEST_CASE("config: --version prints the version and exits 0", "[config]") {
  TempDir dir;
  RedgeRun run = runRedge(dir, {"--version"});
  CHECK(run.exit_code == 0);
  CHECK(run.out.rfind("redge ", 0) == 0);
}

TEST_CASE("config: --check-config prints the effective configuration as JSON", "[config]") {
  TempDir dir;
  RedgeRun run = runRedge(
      dir, {"--check-config", "--set", "app.recent_size=7", "--redis", "redis://127.0.0.1:6390/2"});
  REQUIRE(run.exit_code == 0);
  rapidjson::Document doc;
  doc.Parse(run.out.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
  REQUIRE(doc.HasMember("app"));
  CHECK(doc["app"]["recent_size"].GetInt() == 7);
  CHECK(doc["app"]["max_images"].GetInt() == 100);
  CHECK(std::string(doc["redis"]["url"].GetString()) == "redis://127.0.0.1:6390/2");
  CHECK(doc["http"]["max_header_bytes"].GetInt() == 16384);
}

TEST_CASE("config: the environment sets keys and the command line overrides it", "[config]") {
  TempDir dir;
  RedgeRun run = runRedge(dir, {"--check-config", "--set", "app.max_images=9"},
                          {"REDGE_APP_RECENT_SIZE=8", "REDGE_APP_MAX_IMAGES=4"});
  REQUIRE(run.exit_code == 0);
  rapidjson::Document doc;
  doc.Parse(run.out.c_str());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(doc["app"]["recent_size"].GetInt() == 8);
  CHECK(doc["app"]["max_images"].GetInt() == 9);
}

TEST_CASE("config: an unknown key stops start-up with exit 2", "[config]") {
  TempDir dir;
  RedgeRun run = runRedge(dir, {"--set", "cacheproxy.capcity=5"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("config error: cacheproxy.capcity: unknown key") != std::string::npos);
}

TEST_CASE("config: a bad value stops start-up with exit 2 naming the key", "[config]") {
  TempDir dir;
  SECTION("not an integer") {
    RedgeRun run = runRedge(dir, {"--set", "app.port=abc"});
    CHECK(run.exit_code == 2);
    CHECK(run.err.find("config error: app.port:") != std::string::npos);
  }
  SECTION("out of range") {
    RedgeRun run = runRedge(dir, {"--set", "http.max_connections=0"});
    CHECK(run.exit_code == 2);
    CHECK(run.err.find("config error: http.max_connections:") != std::string::npos);
  }
  SECTION("through the environment") {
    RedgeRun run = runRedge(dir, {"--check-config"}, {"REDGE_LOG_LEVEL=loud"});
    CHECK(run.exit_code == 2);
    CHECK(run.err.find("config error: log.level:") != std::string::npos);
  }
}

TEST_CASE("config: queue recovery above the queue size is refused", "[config]") {
  TempDir dir;
  RedgeRun run =
      runRedge(dir, {"--check-config"}, {"QUEUE_MAX_SIZE=3", "QUEUE_RECOVERY_THRESHOLD=5"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("config error: relay.queue_recovery") != std::string::npos);
}
