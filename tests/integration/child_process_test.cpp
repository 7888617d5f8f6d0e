// The harness's child processes: a child that ignores SIGTERM is killed after
// the grace period, and the report says where it was, so a redge that hangs
// at exit in CI leaves a stack behind instead of a bare "137".

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

TEST_CASE("harness: a child deaf to SIGTERM is killed and its stuck place reported", "[harness]") {
  TempDir dir;
  ChildSpec spec;
  const std::string ready = dir.file("ready");
  spec.argv = {"/bin/sh", "-c", "trap '' TERM; : > " + ready + "; while :; do sleep 0.05; done"};
  spec.stdout_path = dir.file("out");
  spec.stderr_path = dir.file("err");
  ChildProcess child(spec);
  REQUIRE(waitUntil([&] { return std::ifstream(ready).good(); }, 5000ms));  // trap installed
  int code = child.stop(300ms);
  CHECK(code == 137);
  INFO(child.stuckReport());
  CHECK(child.stuckReport().find("still running after SIGTERM; State:") == 0);
}

TEST_CASE("harness: a child that exits on SIGTERM leaves no stuck report", "[harness]") {
  TempDir dir;
  ChildSpec spec;
  spec.argv = {"/bin/sleep", "30"};
  spec.stdout_path = dir.file("out");
  spec.stderr_path = dir.file("err");
  ChildProcess child(spec);
  // Past exec first: before it, the forked copy of this test still has the
  // test runner's signal handlers, and SIGTERM would run those.
  const std::string exe = "/proc/" + std::to_string(child.pid()) + "/exe";
  REQUIRE(waitUntil(
      [&] {
        std::error_code ec;
        return std::filesystem::read_symlink(exe, ec).filename() == "sleep";
      },
      5000ms));
  CHECK(child.stop(2000ms) == 128 + 15);
  CHECK(child.stuckReport().empty());
}
