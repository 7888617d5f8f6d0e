// A gateway pool driven by hand (ManualClock + ManualTimerFactory, a probe
// the test answers): no traffic to a member before its first passed check,
// fall and rise at their exact times, passive ejection and return, the 503
// case (no member), retries avoiding the member tried, membership from
// several sources, registry instances (literal addresses only), tries that
// end after their member left, the shared rotation's list, and Retry-After.

#include "services/gateway/gateway_pool.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "core/manual_timer.hpp"
#include "core/metrics.hpp"

namespace redge {
namespace {

// Answers each member's probes with the status set for it (at once), or
// leaves them unanswered (0).
class HandProbe final : public HealthProbe {
 public:
  void probe(uint32_t member, std::string_view, int64_t, HealthProbeCallback cb) override {
    ++probes[member];
    int status = status_[member];
    if (status != 0) cb(HttpClientError::None, status);
  }
  void answer(uint32_t member, int status) { status_[member] = status; }
  std::map<uint32_t, int> probes;

 private:
  std::map<uint32_t, int> status_;
};

// Records the transport's calls, and what the checker knew at each.
struct RecordingTransport final : public PoolTransport {
  void memberAdded(const PoolMember& m) override { log.push_back("+" + m.name); }
  void memberRemoved(const PoolMember& m) override { log.push_back("-" + m.name); }
  std::vector<std::string> log;
};

GatewayPoolOptions poolOptions(std::string balance = "round_robin") {
  GatewayPoolOptions o;
  o.balance = std::move(balance);
  GatewayMemberOptions unused;  // members come through addMember in these tests
  unused.address = "unused:1";
  o.members.push_back(unused);
  return o;
}

struct PoolFixture {
  explicit PoolFixture(GatewayPoolOptions o = poolOptions(), bool probes = true)
      : pool("web", o, RetryBudgetOptions{},
             GatewayPoolDeps{timers, clock, metrics, random, probes ? &probe : nullptr,
                             &transport}) {}

  // Adds members 10.0.0.<n>:80 for n in 1..count, all answering 200.
  void addHealthy(int count) {
    for (int n = 1; n <= count; ++n) {
      std::string name = "10.0.0." + std::to_string(n) + ":80";
      pool.addMember(name, "10.0.0." + std::to_string(n), 80, 1);
      probe.answer(pool.findByName(name)->index, 200);
    }
  }
  std::string pickName(std::span<const uint32_t> avoid = {}) {
    std::optional<uint32_t> i = pool.pick({}, avoid);
    return i ? pool.member(*i)->name : "none";
  }
  uint32_t indexOf(const std::string& name) { return pool.findByName(name)->index; }
  void fail(const std::string& name, int times) {
    for (int k = 0; k < times; ++k) {
      MemberTicket t = pool.beginTry(indexOf(name));
      pool.endTry(t, TryResult::Failure);
    }
  }

  ManualClock clock{0};
  ManualTimerFactory timers{clock};
  MetricsRegistry metrics;
  SplitMixRandom random{7};
  HandProbe probe;
  RecordingTransport transport;
  GatewayPool pool;
};

}  // namespace

TEST_CASE("gateway pool: a new member takes no traffic before its first passed check",
          "[gateway]") {
  PoolFixture f;
  f.pool.addMember("10.0.0.1:80", "10.0.0.1", 80, 1);
  CHECK(f.transport.log == std::vector<std::string>{"+10.0.0.1:80"});
  CHECK(f.pool.size() == 1);
  CHECK(f.pool.eligibleCount() == 0);
  CHECK(f.pickName() == "none");  // the gateway answers 503 no_healthy_upstream
  CHECK(f.pool.healthWord(0) == "unchecked");

  f.pool.start();
  f.timers.runDue();
  CHECK(f.probe.probes[0] == 1);  // probed at once, but not answered yet
  CHECK(f.pickName() == "none");

  // A member whose first probe passes takes traffic from then on.
  f.pool.addMember("10.0.0.2:80", "10.0.0.2", 80, 1);
  f.probe.answer(1, 200);
  f.timers.runDue();
  CHECK(f.pool.eligible(1));
  CHECK(f.pickName() == "10.0.0.2:80");

  // The first one's probe times out: down, and back after rise (2) passes.
  f.probe.answer(0, 200);
  f.timers.advance(1000);
  CHECK(f.pool.healthWord(0) == "unhealthy");
  f.timers.advance(2000);
  CHECK_FALSE(f.pool.eligible(0));
  f.timers.advance(2000);
  CHECK(f.pool.eligible(0));
  CHECK(f.pool.healthWord(0) == "healthy");
  CHECK(f.metrics.valueOf("redge_gateway_pool_members_healthy", {{"pool", "web"}}) == 2);
}

TEST_CASE("gateway pool: with checks off a member takes traffic at once", "[gateway]") {
  GatewayPoolOptions o = poolOptions();
  o.health.enabled = false;
  PoolFixture f(o);
  f.pool.addMember("10.0.0.1:80", "10.0.0.1", 80, 1);
  CHECK(f.pool.eligible(f.indexOf("10.0.0.1:80")));
  f.pool.start();
  f.timers.advance(10000);
  CHECK(f.probe.probes.empty());
}

TEST_CASE("gateway pool: fall and rise at their times take a member out and back", "[gateway]") {
  PoolFixture f;  // interval 2000, timeout 1000, rise 2, fall 3
  f.addHealthy(2);
  f.pool.start();
  f.timers.runDue();
  CHECK(f.pool.eligibleCount() == 2);
  uint32_t b = f.indexOf("10.0.0.2:80");
  f.probe.answer(b, 503);  // from now on its checks fail
  f.timers.advance(2000 * 2);
  CHECK(f.pool.eligible(b));  // two failures: not yet
  f.timers.advance(2000);
  CHECK_FALSE(f.pool.eligible(b));  // the third, at 6000 ms
  CHECK(f.pool.healthWord(b) == "unhealthy");
  for (int i = 0; i < 4; ++i) CHECK(f.pickName() == "10.0.0.1:80");

  f.probe.answer(b, 200);
  f.timers.advance(2000);
  CHECK_FALSE(f.pool.eligible(b));  // one pass of rise 2
  f.timers.advance(2000);
  CHECK(f.pool.eligible(b));
  std::map<std::string, int> spread;
  for (int i = 0; i < 10; ++i) ++spread[f.pickName()];
  CHECK(spread == std::map<std::string, int>{{"10.0.0.1:80", 5}, {"10.0.0.2:80", 5}});
}

TEST_CASE("gateway pool: failed requests in a row eject a member for a while", "[gateway]") {
  PoolFixture f;  // consecutive_failures 5, base 30000 ms, at most 50% ejected
  f.addHealthy(3);
  f.pool.start();
  f.timers.runDue();
  f.fail("10.0.0.2:80", 4);
  CHECK(f.pool.eligible(f.indexOf("10.0.0.2:80")));
  f.fail("10.0.0.2:80", 1);
  CHECK_FALSE(f.pool.eligible(f.indexOf("10.0.0.2:80")));
  CHECK(f.pool.healthWord(f.indexOf("10.0.0.2:80")) == "ejected");
  CHECK(f.metrics.valueOf("redge_gateway_member_failures_total",
                          {{"pool", "web"}, {"member", "10.0.0.2:80"}}) == 5);
  for (int i = 0; i < 6; ++i) CHECK(f.pickName() != "10.0.0.2:80");
  // 50% of 3: a second ejection would exceed it and is refused.
  f.fail("10.0.0.3:80", 5);
  CHECK(f.pool.eligible(f.indexOf("10.0.0.3:80")));
  // A 503 is what it answers the client meanwhile... and a retry tells when.
  CHECK(f.pool.retryAfterSeconds() == 4);  // rise 2 x 2000 ms, sooner than 30 s
  f.timers.advance(30000);
  CHECK(f.pool.eligible(f.indexOf("10.0.0.2:80")));
}

TEST_CASE("gateway pool: a retry avoids the members already tried", "[gateway]") {
  PoolFixture f;
  f.addHealthy(3);
  f.pool.start();
  f.timers.runDue();
  std::vector<uint32_t> tried = {f.indexOf("10.0.0.1:80"), f.indexOf("10.0.0.2:80")};
  for (int i = 0; i < 5; ++i) CHECK(f.pickName(tried) == "10.0.0.3:80");
  tried.push_back(f.indexOf("10.0.0.3:80"));
  CHECK(f.pickName(tried) == "none");  // no other member: no retry
}

TEST_CASE("gateway pool: a member named twice leaves with its last source", "[gateway]") {
  PoolFixture f;
  f.pool.start();
  CHECK(f.pool.addMember("10.0.0.1:80", "10.0.0.1", 80, 1));
  f.pool.onInstance("web-a", "10.0.0.1:80", true);  // the same address, registered
  CHECK(f.pool.size() == 1);
  CHECK(f.transport.log == std::vector<std::string>{"+10.0.0.1:80"});
  f.pool.onInstance("web-a", "10.0.0.1:80", false);
  CHECK(f.pool.size() == 1);
  CHECK(f.pool.releaseMember("10.0.0.1:80"));
  CHECK(f.pool.size() == 0);
  CHECK(f.transport.log == std::vector<std::string>{"+10.0.0.1:80", "-10.0.0.1:80"});
}

TEST_CASE("gateway pool: registry instances join, move and leave", "[gateway]") {
  PoolFixture f;
  f.pool.start();
  f.pool.onInstance("web-a", "127.0.0.1:3001", true);
  f.pool.onInstance("web-b", "127.0.0.1:3002", true);
  f.pool.onInstance("web-a", "127.0.0.1:3001", true);  // a heartbeat's update: nothing
  CHECK(f.pool.size() == 2);
  f.pool.onInstance("web-b", "[::1]:3003", true);  // moved
  CHECK(f.pool.findByName("127.0.0.1:3002") == nullptr);
  REQUIRE(f.pool.findByName("[::1]:3003") != nullptr);
  CHECK(f.pool.findByName("[::1]:3003")->host == "::1");
  CHECK(f.pool.findByName("[::1]:3003")->port == 3003);
  f.pool.onInstance("web-c", "app.internal:3000", true);  // a name: not looked up on the loop
  f.pool.onInstance("web-d", "127.0.0.1", true);          // no port
  CHECK(f.pool.size() == 2);
  f.pool.onInstance("web-a", "", false);
  CHECK(f.pool.size() == 1);
  CHECK(f.transport.log == std::vector<std::string>{"+127.0.0.1:3001", "+127.0.0.1:3002",
                                                    "-127.0.0.1:3002", "+[::1]:3003",
                                                    "-127.0.0.1:3001"});
}

TEST_CASE("gateway pool: a try that ends after its member left reports nothing", "[gateway]") {
  GatewayPoolOptions o = poolOptions();
  o.health.enabled = false;
  o.passive.consecutive_failures = 1;
  PoolFixture f(o);
  f.pool.start();
  f.pool.addMember("10.0.0.1:80", "10.0.0.1", 80, 1);
  MemberTicket t = f.pool.beginTry(0);
  CHECK(f.pool.member(0)->inflight == 1);
  f.pool.releaseMember("10.0.0.1:80");
  // Another member takes the freed slot; the old try must not touch it.
  f.pool.addMember("10.0.0.2:80", "10.0.0.2", 80, 1);
  REQUIRE(f.pool.member(0) != nullptr);
  CHECK(f.pool.member(0)->name == "10.0.0.2:80");
  f.pool.endTry(t, TryResult::Failure);
  CHECK(f.pool.eligible(0));  // not ejected by the old member's failure
  CHECK(f.pool.member(0)->inflight == 0);
}

TEST_CASE("gateway pool: least_request picks the idler of two", "[gateway]") {
  GatewayPoolOptions o = poolOptions("least_request");
  o.health.enabled = false;
  PoolFixture f(o);
  f.pool.addMember("10.0.0.1:80", "10.0.0.1", 80, 1);
  f.pool.addMember("10.0.0.2:80", "10.0.0.2", 80, 1);
  MemberTicket busy = f.pool.beginTry(0);
  for (int i = 0; i < 10; ++i) CHECK(f.pickName() == "10.0.0.2:80");
  f.pool.endTry(busy, TryResult::Success);
}

TEST_CASE("gateway pool: hash sends a key to one member, and only its share moves", "[gateway]") {
  GatewayPoolOptions o = poolOptions("hash");
  o.health.enabled = false;
  PoolFixture f(o);
  for (int n = 1; n <= 4; ++n) {
    f.pool.addMember("10.0.0." + std::to_string(n) + ":80", "10.0.0." + std::to_string(n), 80, 1);
  }
  std::map<std::string, std::string> before;
  for (int k = 0; k < 200; ++k) {
    std::string key = "user-" + std::to_string(k);
    before[key] = f.pool.member(*f.pool.pick(key, {}))->name;
    CHECK(f.pool.member(*f.pool.pick(key, {}))->name == before[key]);
  }
  f.pool.releaseMember("10.0.0.3:80");
  for (const auto& [key, was] : before) {
    std::string now = f.pool.member(*f.pool.pick(key, {}))->name;
    if (was != "10.0.0.3:80") CHECK(now == was);
  }
}

TEST_CASE("gateway pool: the shared rotation's turn, by weight and by name", "[gateway]") {
  GatewayPoolOptions o = poolOptions("redis_rotation");
  PoolFixture f(o);
  f.pool.addMember("b:80", "10.0.0.2", 80, 1);
  f.pool.addMember("a:80", "10.0.0.1", 80, 3);
  f.pool.addMember("c:80", "10.0.0.3", 80, 1);
  // Whatever the order of joining, and whatever the members' health here.
  CHECK(f.pool.rotationOrder() == std::vector<std::string>{"a:80", "b:80", "a:80", "c:80", "a:80"});
}

TEST_CASE("gateway pool: the member the shared rotation names, if it may take it", "[gateway]") {
  GatewayPoolOptions o = poolOptions("redis_rotation");
  o.health.enabled = false;
  PoolFixture f(o);
  f.addHealthy(3);
  std::vector<uint32_t> none;
  CHECK(f.pool.member(*f.pool.pickNamed("10.0.0.2:80", none))->name == "10.0.0.2:80");
  // Avoided by a retry, or not a member: the local rotation's turn.
  std::vector<uint32_t> avoid = {f.indexOf("10.0.0.2:80")};
  CHECK(f.pool.member(*f.pool.pickNamed("10.0.0.2:80", avoid))->name != "10.0.0.2:80");
  CHECK(f.pool.pickNamed("10.9.9.9:80", none).has_value());
}

TEST_CASE("gateway pool: Retry-After of a 503", "[gateway]") {
  SECTION("an empty pool: one second") {
    PoolFixture f;
    CHECK(f.pool.retryAfterSeconds() == 1);
  }
  SECTION("members down: rise x interval") {
    GatewayPoolOptions o = poolOptions();
    o.health.interval_ms = 5000;
    o.health.rise = 3;
    PoolFixture f(o);
    f.pool.addMember("10.0.0.1:80", "10.0.0.1", 80, 1);
    CHECK(f.pool.retryAfterSeconds() == 15);
  }
  SECTION("checks off, one member ejected: until it returns") {
    GatewayPoolOptions o = poolOptions();
    o.health.enabled = false;
    o.passive.max_ejection_percent = 100;
    o.passive.base_ejection_ms = 2500;
    PoolFixture f(o);
    f.pool.addMember("10.0.0.1:80", "10.0.0.1", 80, 1);
    f.fail("10.0.0.1:80", 5);
    CHECK(f.pool.eligibleCount() == 0);
    CHECK(f.pool.retryAfterSeconds() == 3);
  }
}

TEST_CASE("gateway pool: after stop() nothing is probed and outcomes count for nothing",
          "[gateway]") {
  PoolFixture f;
  f.addHealthy(1);
  f.pool.start();
  f.timers.runDue();
  MemberTicket t = f.pool.beginTry(0);
  f.pool.stop();
  f.pool.endTry(t, TryResult::Abandoned);
  int probes = f.probe.probes[0];
  f.timers.advance(60000);
  CHECK(f.probe.probes[0] == probes);
  CHECK(f.timers.armedCount() == 0);
  CHECK(f.pickName() == "none");
}

}  // namespace redge
