// The harness's child processes: a child that ignores SIGTERM is killed after
// the grace period, and the report says where it was, so a redge that hangs
// at exit in CI leaves a stack behind instead of a bare "137".

#include <catch2/catch.hpp>
#include <chrono>
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
  CHECK(child.stop(2000ms) == 128 + 15);
  CHECK(child.stuckReport().empty());
}
