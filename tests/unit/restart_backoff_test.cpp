// Unit tests for the master's restart schedule: doubling from 100 ms to 5 s,
// reset after a worker lived 30 s, and giving up on a worker that never
// becomes ready.

#include "ops/workers/restart_backoff.hpp"

#include <catch2/catch.hpp>

namespace redge {
namespace {

TEST_CASE("restart backoff: doubles to the cap, resets after a long life", "[workers]") {
  RestartBackoff backoff;
  CHECK(backoff.onExit(1000, true) == 100);
  CHECK(backoff.onExit(1000, true) == 200);
  CHECK(backoff.onExit(1000, true) == 400);
  CHECK(backoff.onExit(1000, true) == 800);
  CHECK(backoff.onExit(1000, true) == 1600);
  CHECK(backoff.onExit(1000, true) == 3200);
  CHECK(backoff.onExit(1000, true) == 5000);
  CHECK(backoff.onExit(1000, true) == 5000);
  // Lived 30 s: a fresh series.
  CHECK(backoff.onExit(30000, true) == 100);
  CHECK(backoff.onExit(29999, true) == 200);
}

TEST_CASE("restart backoff: gives up after five exits before ready in a row", "[workers]") {
  RestartBackoff backoff;
  CHECK(backoff.onExit(5, false) == 100);
  CHECK(backoff.onExit(5, false) == 200);
  CHECK(backoff.onExit(5, false) == 400);
  CHECK(backoff.startFailures() == 3);
  // A worker that got ready in between breaks the run.
  CHECK(backoff.onExit(500, true) == 800);
  CHECK(backoff.startFailures() == 0);
  for (int i = 1; i < 5; ++i) CHECK(backoff.onExit(5, false) > 0);
  CHECK(backoff.onExit(5, false) == -1);
  CHECK(backoff.startFailures() == 5);

  RestartBackoff quick(
      {.first_ms = 10, .max_ms = 40, .reset_after_ms = 100, .max_start_failures = 2});
  CHECK(quick.onExit(0, false) == 10);
  CHECK(quick.onExit(0, false) == -1);
}

}  // namespace
}  // namespace redge
