// The harness's redis-server launch: a server is ready only when the one
// answering on its port is its own child. Tests run side by side, and two of
// them can draw the same free port; the loser's child exits on EADDRINUSE
// while the winner answers PING, and without this check the loser would
// read and write the other test's data.

#include <catch2/catch.hpp>
#include <chrono>

#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

TEST_CASE("harness: a redis-server launched is the one that answers on its port", "[harness]") {
  TempDir dir;
  RedisServer redis(dir);
  CHECK(probeLaunched(redis.port(), redis.pid()) == LaunchProbe::Ours);
  CHECK(probeLaunched(redis.port(), redis.pid() + 1) == LaunchProbe::Stranger);
}

TEST_CASE("harness: a restart that finds another server on its port fails loudly",
          "[harness]") {
  TempDir dir, stranger_dir;
  RedisServer redis(dir);
  const int port = redis.port();
  redis.stop();
  REQUIRE(probeLaunched(port, redis.pid()) == LaunchProbe::NotYet);

  // Another test's server takes the port in the gap.
  ChildSpec spec;
  spec.argv = {REDIS_SERVER_BINARY, "--port", std::to_string(port), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no", "--dir", stranger_dir.path()};
  spec.env = cleanEnvironment();
  spec.stdout_path = stranger_dir.file("stranger.log");
  spec.stderr_path = stranger_dir.file("stranger.err");
  ChildProcess stranger(spec);
  REQUIRE(waitUntil([&] { return probeLaunched(port, stranger.pid()) == LaunchProbe::Ours; },
                    5000ms));

  CHECK_THROWS_WITH(redis.start(), Catch::Contains("did not restart on port"));
}
