// ModuleContext's seams between modules: an object one module provides and
// a later one finds by its type, and the graceful stop a module may ask of
// the daemon.

#include <catch2/catch.hpp>

#include "core/manual_timer.hpp"
#include "modules.hpp"
#include "services/service.hpp"

using namespace redge;

namespace {

struct Registry {
  int value = 0;
};
struct Other {};

// A ModuleContext over a Runtime with no loop: nothing here runs I/O.
struct ContextFixture {
  ManualClock clock;
  ManualTimerFactory timers{clock};
  LoopHooks hooks;
  MetricsRegistry metrics;
  Runtime runtime{nullptr, clock, timers, hooks, metrics};
  Config config = configSchema().defaults();
  RedisClientOptions redis_options;
  RedisClient redis{runtime, redis_options};
  ModuleContext context{runtime, config, redis, redis_options};
};

}  // namespace

TEST_CASE("module context: an object provided by type is found by that type", "[module]") {
  ContextFixture f;
  CHECK(f.context.find<Registry>() == nullptr);
  Registry registry{42};
  f.context.provide(registry);
  REQUIRE(f.context.find<Registry>() == &registry);
  CHECK(f.context.find<Registry>()->value == 42);
  CHECK(f.context.find<Other>() == nullptr);
  Registry newer{7};
  f.context.provide(newer);  // the last provider wins
  CHECK(f.context.find<Registry>() == &newer);
}

TEST_CASE("module context: requestStop reaches the daemon's handler", "[module]") {
  ContextFixture f;
  f.context.requestStop();  // no handler yet: nothing happens
  int stops = 0;
  f.context.setStopHandler([&] { ++stops; });
  f.context.requestStop();
  f.context.requestStop();
  CHECK(stops == 2);  // the daemon makes a repeat harmless, not the context
}
