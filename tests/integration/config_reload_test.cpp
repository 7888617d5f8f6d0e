// SIGHUP: the configuration read again from the same file, environment and
// command line. What can change live does (log.level, log.access, the cache
// proxy's ttl, the relay's queue thresholds); what cannot (a port) is named
// in the one config_reloaded line and keeps its running value; a file that
// does not load is refused with its reason and the process keeps serving on
// the configuration it had. Under systemd the reload is framed by
// RELOADING=1 and READY=1.

#include "support/config_reload.hpp"

#include <fcntl.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "support/http_client.hpp"
#include "support/loopback_peers.hpp"
#include "support/metrics_text.hpp"
#include "support/notify_socket.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

size_t countOf(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The default services, their configuration from the file at `path`.
RedgeServices withConfigFile(const std::string& path) {
  RedgeServices services;
  services.args = {"--config", path};
  return services;
}

// Where no Redis answers.
std::string downRedisUrl() {
  return "redis://127.0.0.1:" + std::to_string(closedPort());
}

// The port of `event=listening service=<service>`, or 0.
int listeningPort(const std::string& log, const std::string& service) {
  size_t at = log.find("event=listening service=" + service + " ");
  if (at == std::string::npos) return 0;
  size_t port = log.find(" port=", at);
  return port == std::string::npos ? 0 : std::atoi(log.c_str() + port + 6);
}

}  // namespace

TEST_CASE("reload: log level and access log change live, a broken file is refused", "[reload]") {
  TempDir dir;
  std::string config = dir.file("redge.json");
  writeConfigFile(config, R"({"log": {"level": "info"}})");
  // Redis down on purpose: every reconnect attempt writes a debug line.
  RedgeProcess redge(dir, downRedisUrl(), {}, {}, withConfigFile(config));
  REQUIRE(redge.waitForLog("event=ready ", 5s));
  REQUIRE(httpGet(redge.appUrl("/")).status == 200);
  CHECK(redge.logText().find("level=debug") == std::string::npos);
  CHECK(redge.logText().find("event=access") == std::string::npos);

  writeConfigFile(config, R"({"log": {"level": "debug", "access": true}})");
  std::string line = reloadConfig(redge, 1);
  CHECK(line.find("event=config_reloaded") != std::string::npos);
  CHECK(line.find("applied=log.level,log.access") != std::string::npos);
  CHECK(line.find("restart_needed=none") != std::string::npos);
  CHECK(redge.waitForLog("level=debug event=redis_connect_failed", 3s));
  REQUIRE(httpGet(redge.appUrl("/")).status == 200);
  CHECK(redge.waitForLog("event=access service=app", 2s));

  // Not JSON: refused with the parser's reason; the debug level stays.
  writeConfigFile(config, R"({"log": {"level": "warn")");
  line = reloadConfig(redge, 2);
  CHECK(line.find("level=error event=config_reload_refused") != std::string::npos);
  CHECK(line.find("path=" + config) != std::string::npos);
  CHECK(line.find("parse error") != std::string::npos);
  size_t debug_lines = countOf(redge.logText(), "level=debug");
  CHECK(waitUntil([&] { return countOf(redge.logText(), "level=debug") > debug_lines; }, 3s));
  CHECK(httpGet(redge.appUrl("/")).status == 200);

  // JSON, but a bad value: refused too, naming the key.
  writeConfigFile(config, R"({"log": {"level": "loud"}})");
  line = reloadConfig(redge, 3);
  CHECK(line.find("event=config_reload_refused path=log.level") != std::string::npos);
  CHECK(httpGet(redge.appUrl("/")).status == 200);

  // Back to info: the debug lines stop (the reload line itself is info).
  writeConfigFile(config, R"({"log": {"level": "info"}})");
  line = reloadConfig(redge, 4);
  CHECK(line.find("applied=log.level,log.access") != std::string::npos);
  size_t settled = countOf(redge.logText(), "level=debug");
  size_t access = countOf(redge.logText(), "event=access");
  CHECK(httpGet(redge.appUrl("/")).status == 200);
  // Long enough for a few reconnect attempts (at most 500 ms apart).
  CHECK_FALSE(waitUntil([&] { return countOf(redge.logText(), "level=debug") > settled; }, 1200ms));
  CHECK(countOf(redge.logText(), "event=access") == access);
  CHECK(redge.stop() == 0);
}

namespace {

// A writer's end of the FIFO at `path`, once a reader has it open (until
// then a non-blocking open for writing fails with ENXIO); -1 after 5 s.
int writerOnceRead(const std::string& path) {
  int fd = -1;
  waitUntil([&] { return (fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK)) >= 0; }, 5s);
  return fd;
}

void writeAndClose(int fd, const std::string& text) {
  CHECK(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  ::close(fd);
}

}  // namespace

TEST_CASE("reload: the file is read off the loop, and SIGHUPs meanwhile make one more reload",
          "[reload]") {
  TempDir dir;
  std::string config = dir.file("redge.json");
  writeConfigFile(config, R"({"log": {"level": "info"}})");
  RedgeProcess redge(dir, downRedisUrl(), {}, {}, withConfigFile(config));
  REQUIRE(redge.waitForLog("event=ready ", 5s));

  // The file becomes a FIFO that nobody writes yet: the reload's read of it
  // waits (as on a stalled file system) until the test writes.
  REQUIRE(::unlink(config.c_str()) == 0);
  REQUIRE(::mkfifo(config.c_str(), 0600) == 0);
  redge.signal(SIGHUP);
  int fd = writerOnceRead(config);
  REQUIRE(fd >= 0);
  // The reload is reading; the loop serves meanwhile.
  for (int i = 0; i < 3; ++i) CHECK(httpGet(redge.appUrl("/")).status == 200);
  // Two more SIGHUPs while it reads: one more reload after it, not two.
  redge.signal(SIGHUP);
  redge.signal(SIGHUP);
  std::this_thread::sleep_for(300ms);  // the loop takes the signals
  CHECK(httpGet(redge.appUrl("/")).status == 200);
  CHECK(countOf(redge.logText(), "event=config_reload") == 0);

  writeAndClose(fd, R"({"log": {"level": "debug"}})");
  std::string line = nthLogLine(redge, "event=config_reload", 1);
  CHECK(line.find("event=config_reloaded") != std::string::npos);
  CHECK(line.find("applied=log.level") != std::string::npos);
  // The one more reload reads the file as it is now.
  fd = writerOnceRead(config);
  REQUIRE(fd >= 0);
  writeAndClose(fd, R"({"log": {"level": "warn"}})");
  line = nthLogLine(redge, "event=config_reload", 2);
  CHECK(line.find("event=config_reloaded") != std::string::npos);
  CHECK(line.find("applied=log.level") != std::string::npos);

  REQUIRE(::unlink(config.c_str()) == 0);
  writeConfigFile(config, R"({"log": {"level": "warn"}})");
  std::this_thread::sleep_for(500ms);
  CHECK(countOf(redge.logText(), "event=config_reload") == 2);
  CHECK(scrapeMetric(redge, "redge_config_reloads_total{result=\"applied\"}") == 2.0);
  CHECK(redge.stop() == 0);
}

TEST_CASE("reload: a port change is named as needing a restart and the listener stays",
          "[reload]") {
  TempDir dir;
  RedisServer redis(dir);
  std::string config = dir.file("redge.json");
  writeConfigFile(config, R"({"ticker": {"enabled": true, "port": 0}})");
  RedgeProcess redge(dir, redis, {}, {}, withConfigFile(config));
  REQUIRE(redge.waitForLog("event=listening service=ticker", 5s));
  int ticker_port = listeningPort(redge.logText(), "ticker");
  REQUIRE(ticker_port > 0);
  int wanted = closedPort();

  writeConfigFile(config, R"({"ticker": {"enabled": true, "port": )" + std::to_string(wanted) +
                              R"(, "interval_ms": 50}, "app": {"bind": "0.0.0.0"}})");
  std::string line = reloadConfig(redge, 1);
  CHECK(line.find("applied=none") != std::string::npos);
  CHECK(line.find("restart_needed=app.bind,ticker.port,ticker.interval_ms") != std::string::npos);
  std::string url = "http://127.0.0.1:" + std::to_string(ticker_port) + "/ticks";
  CHECK(httpGet(url).status == 200);  // still where it was
  CHECK(httpGet("http://127.0.0.1:" + std::to_string(wanted) + "/ticks").status == 0);
  CHECK(countOf(redge.logText(), "event=listening service=ticker") == 1);

  // A pending restart is named again at the next reload, until it happens.
  line = reloadConfig(redge, 2);
  CHECK(line.find("restart_needed=app.bind,ticker.port,ticker.interval_ms") != std::string::npos);
}

TEST_CASE("reload: the cache proxy's ttl and the relay's queue thresholds change live",
          "[reload]") {
  TempDir dir;
  RedisServer redis(dir);
  std::string config = dir.file("redge.json");
  writeConfigFile(config, R"({"cacheproxy": {"ttl_ms": 60000}, "relay": {"queue_max": 10}})");
  RedgeServices services;
  services.cache_proxy = true;
  services.args = {"--config", config};
  NotifySocket notify(dir.file("notify.sock"));
  RedgeProcess redge(dir, redis, {"relay.enabled=true"}, {notify.env()}, services);
  redge.waitUntilReady();
  REQUIRE(notify.waitFor("READY=1", 5s) >= 0);
  redis.command({"SET", "k", "v1"});
  CHECK(httpGet(redge.cacheUrl("/k")).header("X-Cache") == "MISS");
  CHECK(httpGet(redge.cacheUrl("/k")).header("X-Cache") == "HIT");
  HttpReply stats = httpGet(redge.appUrl("/messages/stats"));
  rapidjson::Document doc;
  doc.Parse(stats.body.c_str());
  REQUIRE(doc.IsObject());
  CHECK(doc["gate"]["max"].GetInt() == 10);

  // ttl 0: nothing is kept, so every read goes to Redis and sees the change.
  writeConfigFile(config, R"({"cacheproxy": {"ttl_ms": 0, "capacity": 50},
                        "relay": {"queue_max": 20, "queue_recovery": 7,
                                  "breaker": {"open_ms": 1000}}})");
  size_t before = notify.messages().size();
  std::string line = reloadConfig(redge, 1);
  CHECK(line.find("applied=cacheproxy.capacity,cacheproxy.ttl_ms,relay.queue_max,"
                  "relay.queue_recovery,relay.breaker.open_ms") != std::string::npos);
  CHECK(line.find("restart_needed=none") != std::string::npos);
  redis.command({"SET", "k", "v2"});
  HttpReply r = httpGet(redge.cacheUrl("/k"));
  CHECK(r.header("X-Cache") == "MISS");
  CHECK(r.body == "v2");
  CHECK(httpGet(redge.cacheUrl("/k")).header("X-Cache") == "MISS");
  doc.Parse(httpGet(redge.appUrl("/messages/stats")).body.c_str());
  REQUIRE(doc.IsObject());
  CHECK(doc["gate"]["max"].GetInt() == 20);
  CHECK(doc["gate"]["recovery"].GetInt() == 7);

  // systemd saw the reload begin and end.
  int reloading = notify.waitFor("RELOADING=1", 2s, before);
  INFO("notify socket:\n" << notify.transcript());
  REQUIRE(reloading >= 0);
  CHECK(notify.waitFor("READY=1", 2s, static_cast<size_t>(reloading)) > reloading);
  CHECK(httpGet(redge.adminUrl("/metrics"))
            .body.find("redge_config_reloads_total{result=\"applied\"} 1") != std::string::npos);
}
