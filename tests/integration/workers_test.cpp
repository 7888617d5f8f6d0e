// redge as a group of worker processes (server.workers=2): the real binary,
// a real redis-server, real TCP clients. Two workers share the app and
// cache-proxy ports and each serves a fair part of new connections
// (counted through the group's /metrics `worker` label, so no per-request
// cost is added for the test); a worker killed with SIGKILL is replaced
// within a second while the port never refuses a connection; SIGTERM drains
// both and the master exits 0; SIGHUP reaches both; a worker that cannot
// start makes the master give up; under systemd the master alone says READY,
// and its watchdog pings stop when a worker's loop stops.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/metrics_text.hpp"
#include "support/notify_socket.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// Fixed ports, found free now: every worker must bind the same ones.
struct GroupPorts {
  int app = findFreePort();
  int admin = findFreePort();
  int cache_http = findFreePort();
  int cache_resp = findFreePort();
};

std::vector<std::string> groupSettings(const GroupPorts& ports, int workers = 2) {
  return {"server.workers=" + std::to_string(workers),
          "app.port=" + std::to_string(ports.app),
          "admin.port=" + std::to_string(ports.admin),
          "cacheproxy.http_port=" + std::to_string(ports.cache_http),
          "cacheproxy.resp_port=" + std::to_string(ports.cache_resp),
          "gateway.enabled=false"};
}

RedgeServices withCacheProxy() {
  RedgeServices services;
  services.cache_proxy = true;
  return services;
}

// The master's children, from /proc (the kernel's own list).
std::vector<pid_t> childrenOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  pid_t child;
  while (in >> child) out.push_back(child);
  return out;
}

// One worker's value of a series from the group's /metrics; `labels` follow
// the worker label, e.g. `service="app"`.
std::optional<double> workerValue(const std::string& text, const std::string& name, int worker,
                                  const std::string& labels = "") {
  std::string series = name + "{worker=\"" + std::to_string(worker) + "\"";
  if (!labels.empty()) series += "," + labels;
  return metricValue(text, series + "}");
}

std::string scrape(const RedgeProcess& redge) {
  HttpReply reply = httpGet(redge.adminUrl("/metrics"));
  return reply.status == 200 ? reply.body : "";
}

enum class Outcome { Served, Refused, Failed };

// A new TCP connection, one GET with Connection: close, read to EOF. Refused
// is a failed connect() with ECONNREFUSED: nobody listened on the port.
Outcome oneConnection(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Outcome::Failed;
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    return err == ECONNREFUSED ? Outcome::Refused : Outcome::Failed;
  }
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return Outcome::Failed;
  }
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return n == 0 && got.starts_with("HTTP/1.1 ") ? Outcome::Served : Outcome::Failed;
}

// 1,000 new connections to `port`; then, from the group's /metrics, how
// many each worker accepted (waiting out the up-to-a-second staleness of the
// other worker's published series).
void checkSpread(const RedgeProcess& redge, int port, const std::string& target,
                 const std::string& service) {
  const std::string name = "redge_http_connections_accepted_total";
  const std::string labels = "service=\"" + service + "\"";
  std::string before = scrape(redge);
  double base0 = workerValue(before, name, 0, labels).value_or(0);
  double base1 = workerValue(before, name, 1, labels).value_or(0);
  constexpr int kConnections = 1000;
  int served = 0;
  for (int i = 0; i < kConnections; ++i) served += oneConnection(port, target) == Outcome::Served;
  REQUIRE(served == kConnections);
  double got0 = 0;
  double got1 = 0;
  std::string text;
  bool counted = waitUntil(
      [&] {
        text = scrape(redge);
        got0 = workerValue(text, name, 0, labels).value_or(0) - base0;
        got1 = workerValue(text, name, 1, labels).value_or(0) - base1;
        return got0 + got1 >= kConnections;
      },
      5s, 100ms);
  INFO(service << ": worker 0 accepted " << got0 << ", worker 1 accepted " << got1);
  REQUIRE(counted);
  CHECK(got0 + got1 == kConnections);
  CHECK(got0 >= 0.3 * kConnections);
  CHECK(got0 <= 0.7 * kConnections);
  CHECK(got1 >= 0.3 * kConnections);
  CHECK(got1 <= 0.7 * kConnections);
}

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("workers: two workers share the app and cache-proxy ports", "[workers]") {
  TempDir dir;
  RedisServer redis(dir);
  GroupPorts ports;
  RedgeProcess redge(dir, redis, groupSettings(ports), {}, withCacheProxy());
  redge.waitUntilReady();
  INFO("redge's log:\n" << redge.logText());
  REQUIRE(childrenOf(redge.pid()).size() == 2);

  checkSpread(redge, ports.app, "/", "app");
  checkSpread(redge, ports.cache_http, "/spread-key", "cacheproxy");

  // One answer covers the group: each series once per worker, one header
  // per family, and the group's own series.
  std::string text = scrape(redge);
  CHECK(metricValue(text, "redge_workers") == 2);
  CHECK(metricValue(text, "redge_worker_up{worker=\"0\"}") == 1);
  CHECK(metricValue(text, "redge_worker_up{worker=\"1\"}") == 1);
  CHECK(workerValue(text, "process_resident_memory_bytes", 0).value_or(0) > 0);
  CHECK(workerValue(text, "process_resident_memory_bytes", 1).value_or(0) > 0);
  CHECK(countOf(text, "# TYPE redge_http_connections_accepted_total ") == 1);
  CHECK(countOf(text, "# TYPE process_cpu_seconds_total ") == 1);

  HttpReply ready = httpGet(redge.adminUrl("/readyz"));
  CHECK(ready.status == 200);
  HttpReply health = httpGet(redge.adminUrl("/healthz"));
  CHECK(health.status == 200);
  CHECK(health.body == "{\"status\":\"ok\",\"workers\":2,\"running\":2}");

  // Every log line of a worker names it.
  std::string log = redge.logText();
  CHECK(log.find("event=started worker=0 ") != std::string::npos);
  CHECK(log.find("event=started worker=1 ") != std::string::npos);
  CHECK(log.find("event=ready workers=2") != std::string::npos);
}

TEST_CASE("workers: a killed worker is replaced within 1 s and the port never refuses",
          "[workers]") {
  TempDir dir;
  RedisServer redis(dir);
  GroupPorts ports;
  RedgeProcess redge(dir, redis, groupSettings(ports));
  redge.waitUntilReady();
  std::vector<pid_t> before = childrenOf(redge.pid());
  REQUIRE(before.size() == 2);

  // A client opening new connections all along, as a load balancer would.
  std::atomic<bool> stop{false};
  std::atomic<int> served{0};
  std::atomic<int> refused{0};
  std::atomic<int> failed{0};
  std::thread client([&] {
    while (!stop) {
      switch (oneConnection(ports.app, "/")) {
        case Outcome::Served:
          ++served;
          break;
        case Outcome::Refused:
          ++refused;
          break;
        case Outcome::Failed:
          ++failed;
          break;
      }
    }
  });
  REQUIRE(waitUntil([&] { return served > 50; }, 5s));

  pid_t victim = before[0];
  auto killed_at = std::chrono::steady_clock::now();
  REQUIRE(::kill(victim, SIGKILL) == 0);
  pid_t replacement = 0;
  bool replaced = waitUntil(
      [&] {
        for (pid_t p : childrenOf(redge.pid())) {
          if (p != before[0] && p != before[1]) replacement = p;
        }
        return replacement != 0;
      },
      2s, 5ms);
  auto replaced_after = std::chrono::steady_clock::now() - killed_at;
  // Serving again: the new worker reported ready (the group is ready).
  bool ready_again =
      waitUntil([&] { return countOf(redge.logText(), "event=worker_ready ") == 3; }, 5s);
  int served_before_end = served;
  REQUIRE(waitUntil([&] { return served > served_before_end + 50; }, 5s));
  stop = true;
  client.join();

  std::string log = redge.logText();
  INFO("redge's log:\n" << log);
  INFO("served " << served << ", refused " << refused << ", failed " << failed);
  REQUIRE(replaced);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(replaced_after) < 1000ms);
  CHECK(ready_again);
  CHECK(refused == 0);
  CHECK(log.find("event=worker_exited worker=") != std::string::npos);
  CHECK(log.find("pid=" + std::to_string(victim) + " status=killed signal=9") != std::string::npos);
  CHECK(log.find("event=worker_restart_scheduled") != std::string::npos);
  // The group counts the restart; the new worker's series are there.
  std::string text;
  CHECK(waitUntil(
      [&] {
        text = scrape(redge);
        return metricValue(text, "redge_worker_restarts_total{worker=\"0\"}").value_or(0) +
                       metricValue(text, "redge_worker_restarts_total{worker=\"1\"}").value_or(0) ==
                   1 &&
               workerValue(text, "process_resident_memory_bytes", 0).has_value() &&
               workerValue(text, "process_resident_memory_bytes", 1).has_value();
      },
      5s));
  CHECK(httpGet(redge.adminUrl("/readyz")).status == 200);
}

TEST_CASE("workers: SIGHUP reaches both, SIGTERM drains both and the master exits 0", "[workers]") {
  TempDir dir;
  RedisServer redis(dir);
  GroupPorts ports;
  RedgeProcess redge(dir, redis, groupSettings(ports));
  redge.waitUntilReady();
  std::vector<pid_t> workers = childrenOf(redge.pid());
  REQUIRE(workers.size() == 2);

  redge.signal(SIGHUP);
  CHECK(waitUntil(
      [&] {
        std::string log = redge.logText();
        return log.find("event=config_reloaded worker=0 ") != std::string::npos &&
               log.find("event=config_reloaded worker=1 ") != std::string::npos;
      },
      5s));

  // An idle keep-alive connection on each worker's side would be closed by
  // its drain; one in the middle of nothing must not hold the exit.
  std::optional<int> code;
  redge.signal(SIGTERM);
  code = redge.waitForExit(15s);
  std::string log = redge.logText();
  INFO("redge's log:\n" << log);
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(log.find("event=draining worker=0 ") != std::string::npos);
  CHECK(log.find("event=draining worker=1 ") != std::string::npos);
  CHECK(log.find("event=stopped worker=0 exit_code=0") != std::string::npos);
  CHECK(log.find("event=stopped worker=1 exit_code=0") != std::string::npos);
  CHECK(log.find("event=workers_stopped exit_code=0") != std::string::npos);
  CHECK(log.find("event=loop_not_empty") == std::string::npos);
  for (pid_t w : workers) CHECK(::kill(w, 0) != 0);  // gone, reaped by the master
}

TEST_CASE("workers: a worker that cannot start makes the master give up", "[workers]") {
  TempDir dir;
  RedisServer redis(dir);
  GroupPorts ports;
  // The app port is taken by a socket that does not share (no SO_REUSEPORT).
  int blocker = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(blocker >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(ports.app));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(blocker, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(blocker, 8) == 0);

  std::vector<std::string> args = {"--redis", redis.url(), "--set", "relay.enabled=false"};
  for (const std::string& s : groupSettings(ports)) {
    args.push_back("--set");
    args.push_back(s);
  }
  args.push_back("--set");
  args.push_back("cacheproxy.enabled=false");
  RedgeRun run = runRedge(dir, args, {}, 20s);
  ::close(blocker);
  INFO("redge's log:\n" << run.err);
  CHECK(run.exit_code == 1);
  CHECK(countOf(run.err, "event=listen_failed worker=") >= 5);
  CHECK(run.err.find("event=workers_gave_up") != std::string::npos);
  CHECK(run.err.find("event=workers_stopped exit_code=1") != std::string::npos);
}

TEST_CASE("workers: under systemd the master says READY for the group and watches the loops",
          "[workers][systemd]") {
  TempDir dir;
  RedisServer redis(dir);
  NotifySocket notify(dir.file("notify.sock"));
  GroupPorts ports;
  RedgeProcess redge(dir, redis, groupSettings(ports), {notify.env(), "WATCHDOG_USEC=400000"});
  int ready = notify.waitFor("READY=1", 5s);
  INFO("notify socket:\n" << notify.transcript());
  INFO("redge's log:\n" << redge.logText());
  REQUIRE(ready >= 0);
  // READY=1 once both workers reported ready; only the master speaks (the
  // workers never see NOTIFY_SOCKET), so there is one READY and its words
  // are the group's.
  CHECK(countOf(redge.logText(), "event=worker_ready ") == 2);
  CHECK(notify.messages()[static_cast<size_t>(ready)].value("STATUS") == "serving; 2 workers");
  CHECK(notify.count("READY=1") == 1);
  REQUIRE(waitUntil(
      [&] {
        notify.poll();
        return notify.count("WATCHDOG=1") >= 3;
      },
      5s));

  // One worker's loop stops (SIGSTOP): its heartbeat goes stale and the
  // master stops pinging; it pings again once the loop turns again.
  std::vector<pid_t> workers = childrenOf(redge.pid());
  REQUIRE(workers.size() == 2);
  REQUIRE(::kill(workers[1], SIGSTOP) == 0);
  // No ping for a whole window of three ping periods, once the heartbeat
  // is past its freshness bound (two periods): silence can only be seen
  // over a span of time, hence the sleep inside the condition.
  REQUIRE(waitUntil(
      [&] {
        notify.poll();
        size_t before = notify.count("WATCHDOG=1");
        std::this_thread::sleep_for(600ms);
        notify.poll();
        return notify.count("WATCHDOG=1") == before;
      },
      5s, 1ms));
  size_t stalled = notify.count("WATCHDOG=1");
  REQUIRE(::kill(workers[1], SIGCONT) == 0);
  CHECK(waitUntil(
      [&] {
        notify.poll();
        return notify.count("WATCHDOG=1") > stalled;
      },
      5s));

  redge.signal(SIGTERM);
  std::optional<int> code = redge.waitForExit(15s);
  REQUIRE(code);
  CHECK(*code == 0);
  notify.poll();
  int stopping = notify.find("STOPPING=1");
  CHECK(stopping > ready);
}

TEST_CASE("workers: after SIGHUP the master says READY only once every worker has reloaded",
          "[workers][systemd]") {
  TempDir dir;
  RedisServer redis(dir);
  NotifySocket notify(dir.file("notify.sock"));
  GroupPorts ports;
  RedgeProcess redge(dir, redis, groupSettings(ports), {notify.env()});
  REQUIRE(notify.waitFor("READY=1", 5s) >= 0);
  std::vector<pid_t> workers = childrenOf(redge.pid());
  REQUIRE(workers.size() == 2);

  // Worker 1's loop is stopped, so its reload waits for SIGCONT.
  REQUIRE(::kill(workers[1], SIGSTOP) == 0);
  redge.signal(SIGHUP);
  int reloading = notify.waitFor("RELOADING=1", 5s);
  INFO("notify socket:\n" << notify.transcript());
  INFO("redge's log:\n" << redge.logText());
  REQUIRE(reloading >= 0);
  const size_t after = static_cast<size_t>(reloading);
  REQUIRE(waitUntil(
      [&] { return redge.logText().find("event=config_reloaded worker=0 ") != std::string::npos; },
      5s));
  // Absence can only be seen over a span of time.
  std::this_thread::sleep_for(500ms);
  notify.poll();
  CHECK(notify.count("READY=1", after) == 0);

  REQUIRE(::kill(workers[1], SIGCONT) == 0);
  int ready = notify.waitFor("READY=1", 5s, after);
  CHECK(ready > reloading);
  std::string log = redge.logText();
  size_t second = log.find("event=config_reloaded worker=1 ");
  size_t group = log.find("event=workers_reloaded ");
  REQUIRE(second != std::string::npos);
  REQUIRE(group != std::string::npos);
  CHECK(second < group);
  CHECK(log.find("event=workers_reload_timeout") == std::string::npos);
}

TEST_CASE("workers: pin_workers puts worker N on the N-th allowed CPU", "[workers]") {
  TempDir dir;
  RedisServer redis(dir);
  GroupPorts ports;
  std::vector<std::string> settings = groupSettings(ports);
  settings.push_back("server.pin_workers=true");
  RedgeProcess redge(dir, redis, settings);
  redge.waitUntilReady();
  cpu_set_t mine;
  CPU_ZERO(&mine);
  REQUIRE(sched_getaffinity(0, sizeof mine, &mine) == 0);
  std::vector<int> allowed;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &mine)) allowed.push_back(c);
  }
  std::string log = redge.logText();
  INFO("redge's log:\n" << log);
  for (int worker = 0; worker < 2; ++worker) {
    // event=worker_started worker=N pid=P cpu=C
    std::string marker = "event=worker_started worker=" + std::to_string(worker) + " pid=";
    size_t at = log.find(marker);
    REQUIRE(at != std::string::npos);
    pid_t pid = std::atoi(log.c_str() + at + marker.size());
    size_t cpu_at = log.find(" cpu=", at);
    REQUIRE(cpu_at < log.find('\n', at));
    int cpu = std::atoi(log.c_str() + cpu_at + 5);
    CHECK(cpu == allowed[static_cast<size_t>(worker) % allowed.size()]);
    cpu_set_t set;
    CPU_ZERO(&set);
    REQUIRE(sched_getaffinity(pid, sizeof set, &set) == 0);
    CHECK(CPU_COUNT(&set) == 1);
    CHECK(CPU_ISSET(cpu, &set));
  }
}
