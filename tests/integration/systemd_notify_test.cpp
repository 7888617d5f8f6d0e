// redge under systemd's eye, with the test playing systemd: a datagram
// socket in NOTIFY_SOCKET and WATCHDOG_USEC set, as a Type=notify unit with
// WatchdogSec= would have them. READY=1 comes after every listener listens
// and Redis was tried once; STATUS= says what a person needs; WATCHDOG=1
// pings arrive at half the watchdog period while the loop turns and stop
// when it does not (SIGSTOP); STOPPING=1 comes with SIGTERM; all in order.

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "support/http_client.hpp"
#include "support/loopback_peers.hpp"
#include "support/notify_socket.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// 200 ms: a ping every 100 ms, so a test sees several in well under a second.
constexpr const char* kWatchdogEnv = "WATCHDOG_USEC=200000";

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The process state letter from /proc/<pid>/stat ('T' once SIGSTOP took).
char processState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
}

}  // namespace

TEST_CASE("systemd: READY, STATUS, WATCHDOG and STOPPING arrive in order", "[systemd]") {
  TempDir dir;
  RedisServer redis(dir);
  NotifySocket notify(dir.file("notify.sock"));
  RedgeProcess redge(dir, redis, {}, {notify.env(), kWatchdogEnv});
  INFO("notify socket:\n" << notify.transcript());

  int ready = notify.waitFor("READY=1", 5s);
  INFO("notify socket:\n" << notify.transcript());
  INFO("redge's log:\n" << redge.logText());
  REQUIRE(ready >= 0);
  // Nothing but STATUS before READY: no ping, no STOPPING.
  CHECK(notify.find("WATCHDOG=1") > ready);
  std::string log = redge.logText();
  // Every listener was listening and Redis answered before READY was sent.
  size_t listening = countOf(log, "event=listening ");
  CHECK(listening >= 2);
  CHECK(log.find("event=redis_connected") < log.find("event=ready "));
  const NotifyMessage& ready_message = notify.messages()[static_cast<size_t>(ready)];
  CHECK(ready_message.value("STATUS") ==
        "serving; redis connected; " + std::to_string(listening) + " listeners");
  CHECK(httpGet(redge.adminUrl("/readyz")).status == 200);

  // Pings from the loop, about every 100 ms.
  REQUIRE(waitUntil(
      [&] {
        notify.poll();
        return notify.count("WATCHDOG=1") >= 4;
      },
      5s));
  int first = notify.find("WATCHDOG=1");
  int fourth = first;
  for (int i = 0; i < 3; ++i) fourth = notify.find("WATCHDOG=1", static_cast<size_t>(fourth) + 1);
  auto spread = std::chrono::duration_cast<std::chrono::milliseconds>(
      notify.messages()[static_cast<size_t>(fourth)].at -
      notify.messages()[static_cast<size_t>(first)].at);
  CHECK(spread >= 200ms);   // three periods of 100 ms, less scheduling slack
  CHECK(spread <= 1500ms);  // and not starved
  CHECK(log.find("event=watchdog_enabled ping_ms=100") != std::string::npos);

  // Redis goes and comes back: STATUS says so each time.
  redis.stop();
  REQUIRE(waitUntil(
      [&] {
        notify.poll();
        return notify.find("STATUS=serving; redis down, reconnecting; " +
                           std::to_string(listening) + " listeners") > ready;
      },
      5s));
  redis.start();
  size_t after_down = notify.messages().size();
  REQUIRE(
      notify.waitFor("STATUS=serving; redis connected; " + std::to_string(listening) + " listeners",
                     5s, after_down) >= 0);

  redge.signal(SIGTERM);
  int stopping = notify.waitFor("STOPPING=1", 5s);
  REQUIRE(stopping > fourth);
  CHECK(notify.messages()[static_cast<size_t>(stopping)].value("STATUS").rfind("draining; ", 0) ==
        0);
  REQUIRE(redge.waitForExit(10s) == 0);
  notify.poll();
  CHECK(notify.count("READY=1") == 1);
  CHECK(notify.count("STOPPING=1") == 1);
}

TEST_CASE("systemd: READY comes after one failed Redis try, with Redis down in STATUS",
          "[systemd]") {
  TempDir dir;
  NotifySocket notify(dir.file("notify.sock"));
  RedgeProcess redge(dir, "redis://127.0.0.1:" + std::to_string(closedPort()), {}, {notify.env()});
  int ready = notify.waitFor("READY=1", 5s);
  INFO("notify socket:\n" << notify.transcript());
  INFO("redge's log:\n" << redge.logText());
  REQUIRE(ready >= 0);
  CHECK(notify.messages()[static_cast<size_t>(ready)].value("STATUS").find(
            "redis down, reconnecting") != std::string::npos);
  CHECK(redge.logText().find("event=redis_down") < redge.logText().find("event=ready "));
  // No WATCHDOG_USEC: no pings, whatever the wait.
  CHECK(redge.logText().find("event=watchdog_enabled") == std::string::npos);
  // The app still answers what needs no Redis.
  CHECK(httpGet(redge.appUrl("/")).status == 200);
  notify.poll();
  CHECK(notify.count("WATCHDOG=1") == 0);
}

TEST_CASE("systemd: a loop that does not turn sends no watchdog pings", "[systemd]") {
  TempDir dir;
  RedisServer redis(dir);
  NotifySocket notify(dir.file("notify.sock"));
  RedgeProcess redge(dir, redis, {}, {notify.env(), kWatchdogEnv});
  REQUIRE(notify.waitFor("WATCHDOG=1", 5s) >= 0);

  // SIGSTOP freezes the loop as a stuck callback would: nothing else runs.
  redge.signal(SIGSTOP);
  REQUIRE(waitUntil([&] { return processState(redge.pid()) == 'T'; }, 2s, 1ms));
  notify.poll();  // what was sent before the stop
  size_t before = notify.messages().size();
  // Five ping periods: systemd (WatchdogSec=200ms here) would have killed it.
  std::this_thread::sleep_for(500ms);
  notify.poll();
  INFO("notify socket:\n" << notify.transcript());
  CHECK(notify.count("WATCHDOG=1", before) == 0);

  // Let go, the pings come back by themselves.
  redge.signal(SIGCONT);
  CHECK(notify.waitFor("WATCHDOG=1", 2s, before) >= 0);
  CHECK(httpGet(redge.appUrl("/")).status == 200);
}

TEST_CASE("systemd: without NOTIFY_SOCKET nothing is sent and redge runs as before", "[systemd]") {
  TempDir dir;
  RedisServer redis(dir);
  RedgeProcess redge(dir, redis, {}, {kWatchdogEnv});
  REQUIRE(redge.waitForLog("event=ready ", 5s));
  std::string log = redge.logText();
  CHECK(log.find("systemd=false") != std::string::npos);
  CHECK(log.find("event=watchdog_enabled") == std::string::npos);
  CHECK(log.find("sd_notify_failed") == std::string::npos);
}
