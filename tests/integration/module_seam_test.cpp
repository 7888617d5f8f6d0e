// The module seam, end to end, through the ticker (src/services/ticker/):
// a module added as one folder and one line in src/modules.cpp gets its
// configuration section (file, environment, --set, --check-config, --help),
// its listener, its timer and its metrics, and stops cleanly with the rest.

#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

int tickerPort(const RedgeProcess& redge) {
  std::smatch m;
  std::string log = redge.logText();
  static const std::regex line("event=listening service=ticker bind=\\S+ port=(\\d+)");
  return std::regex_search(log, m, line) ? std::stoi(m[1]) : 0;
}

}  // namespace

TEST_CASE("module seam: the ticker module listens, ticks on its timer and counts", "[module]") {
  TestStack s({"ticker.enabled=true", "ticker.interval_ms=50"});
  int port = tickerPort(s.redge);
  REQUIRE(port > 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/ticks";
  CHECK(waitUntil([&] { return jsonInt(httpGet(url).body, "ticks").value_or(0) >= 3; }, 3000ms));
  CHECK(jsonInt(httpGet(url).body, "interval_ms") == 50);
  CHECK(scrapeMetric(s.redge, "redge_ticker_ticks_total") >= 3);
  // The destructor stops redge and requires exit 0 with no handle left open:
  // the ticker's timer is released by its close path.
}

TEST_CASE("module seam: the ticker's section is configuration like any other", "[module]") {
  TempDir dir;
  RedgeRun shown = runRedge(dir, {"--check-config", "--set", "ticker.interval_ms=250"},
                            {"REDGE_TICKER_ENABLED=true"});
  REQUIRE(shown.exit_code == 0);
  CHECK(shown.out.find("\"ticker\": {\n    \"enabled\": true,") != std::string::npos);
  CHECK(shown.out.find("\"interval_ms\": 250") != std::string::npos);
  RedgeRun help = runRedge(dir, {"--help"});
  CHECK(help.out.find("ticker.interval_ms (integer 1..86400000, default 1000)") !=
        std::string::npos);
  RedgeRun bad = runRedge(dir, {"--set", "ticker.interval_ms=0"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "config error: ticker.interval_ms: must be between 1 and 86400000\n");
  RedgeRun clash = runRedge(dir, {"--set", "ticker.enabled=true", "--set", "ticker.port=3000"});
  CHECK(clash.exit_code == 2);
  CHECK(clash.err.find("config error: ticker.port: port 3000 is also used by app.port") == 0);
}
