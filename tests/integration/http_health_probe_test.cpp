// The active health checks for real: HealthChecker on libuv timers, probing
// through HttpHealthProbe (redge's HTTP client) a real HttpServer on the same
// loop, and a port where nothing listens. A member comes up on its first
// 200, goes down on 503s and on answers that never come (timeouts), and comes
// back; the probes reuse one connection; everything closes and
// uv_loop_close() returns 0.

#include "upstream/http_health_probe.hpp"

#include <uv.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "net/http/http_server.hpp"
#include "support/loop_fixture.hpp"
#include "upstream/health_checker.hpp"

using namespace redge;

namespace {

// A port that refuses connections: bound by a listener that is then closed.
int refusedPort(redge_test::LoopRuntime& rt) {
  HttpServerOptions o;
  o.service = "gone";
  auto server = std::make_unique<HttpServer>(rt.runtime(), o);
  REQUIRE(server->listen() == 0);
  int port = server->port();
  bool closed = false;
  server->close([&] { closed = true; });
  rt.runUntil([&] { return closed; });
  return port;
}

double checks(redge_test::LoopRuntime& rt, const std::string& member, const std::string& result) {
  double v = rt.metrics().valueOf("redge_gateway_health_checks_total",
                                  {{"pool", "api"}, {"member", member}, {"result", result}});
  return v < 0 ? 0 : v;
}

}  // namespace

TEST_CASE("health probe: real checks against a real server bring a member up, down and back",
          "[health_probe]") {
  redge_test::LoopRuntime rt;
  const int dead_port = refusedPort(rt);

  HttpServerOptions so;
  so.service = "member";
  auto server = std::make_unique<HttpServer>(rt.runtime(), so);
  int answer = 200;  // 0: never answer
  int hits = 0;
  std::string user_agent;
  server->route(HttpMethod::Get, "/healthz", [&](HttpRequest& q, const HttpResponder& r) {
    ++hits;
    user_agent = std::string(q.header("User-Agent"));
    if (answer != 0) r.send(HttpResponse(answer, "text/plain", "ok"));
  });
  REQUIRE(server->listen() == 0);

  auto probe = std::make_unique<HttpHealthProbe>(rt.loop(), rt.metrics(), "api");
  REQUIRE(probe->addMember(0, "live", "127.0.0.1", server->port()));
  REQUIRE(probe->addMember(1, "dead", "127.0.0.1", dead_port));
  HealthCheckerOptions o;
  o.pool = "api";
  o.interval_ms = 30;
  o.timeout_ms = 300;
  auto checker = std::make_unique<HealthChecker>(rt.runtime().timers, rt.runtime().clock,
                                                 rt.metrics(), probe.get(), o);
  std::vector<std::string> events[2];  // by member
  checker->setListener([&](const HealthEvent& e) {
    REQUIRE(e.member < 2);
    events[e.member].emplace_back(healthEventName(e.kind));
  });
  checker->addMember(0, "live");
  checker->addMember(1, "dead");
  PoolHealth& health = checker->health();
  checker->start();

  // Up on the first 200; the refused member down on its first check.
  rt.runUntil([&] { return !events[0].empty() && !events[1].empty(); });
  CHECK(health.eligible(0));
  CHECK_FALSE(health.eligible(1));
  CHECK(user_agent == "redge-health-check");
  CHECK(checks(rt, "dead", "error") >= 1);

  // Probes every 30 ms ride one kept-alive connection.
  rt.runUntil([&] { return hits >= 5; });
  CHECK(server->openConnections() == 1);

  // 503 three times in a row: down.
  answer = 503;
  rt.runUntil([&] { return !health.eligible(0); });
  CHECK_FALSE(health.eligible(0));
  CHECK(checks(rt, "live", "fail") >= 3);

  // Back after two passes.
  answer = 200;
  rt.runUntil([&] { return health.eligible(0); });
  CHECK(health.eligible(0));

  // Answers that never come: each probe fails at its 300 ms timeout.
  answer = 0;
  rt.runUntil([&] { return !health.eligible(0); });
  CHECK_FALSE(health.eligible(0));
  CHECK(checks(rt, "live", "timeout") >= 3);

  answer = 200;
  rt.runUntil([&] { return health.eligible(0); });
  CHECK(health.eligible(0));
  CHECK(events[0] == std::vector<std::string>{"up", "down", "up", "down", "up"});
  CHECK(events[1] == std::vector<std::string>{"down"});

  // A member removed from both: its pool closes, no more probes for it.
  CHECK(checker->removeMember(1));
  CHECK(probe->removeMember(1));
  double dead_checks = checks(rt, "dead", "error");
  rt.runUntil([&] { return false; }, 150);
  CHECK(checks(rt, "dead", "error") == dead_checks);

  // Shutdown: checker, probe, server; then every handle is gone.
  checker->stop();
  checker.reset();
  probe->close();
  bool server_closed = false;
  server->close([&] { server_closed = true; });
  rt.runUntil([&] { return probe->closed() && server_closed; });
  CHECK(probe->closed());
  probe.reset();
  server.reset();
  CHECK(rt.closeLoop() == 0);
}
