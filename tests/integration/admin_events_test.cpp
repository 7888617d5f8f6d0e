// The admin event stream and the dashboard page against the real binary:
// snapshots once a second with every panel, the same rendering for every
// client, the panels following a flag, the relay's breaker and traffic, a
// client that never reads skipped and then dropped, SIGTERM ending the
// streams, and the page's assets and policy.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "support/gateway_echo.hpp"
#include "support/json_fields.hpp"
#include "support/loopback_peers.hpp"
#include "support/metrics_text.hpp"
#include "support/never_reader.hpp"
#include "support/raw_connection.hpp"
#include "support/relay_api.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// A client of GET /events that takes the `data:` lines as they come. Each
// frame is written in one piece (one chunk), so a line is never split by
// the chunked framing around it.
class EventReader {
 public:
  explicit EventReader(int port) : conn_(port) {
    conn_.send("GET /events HTTP/1.1\r\nHost: redge\r\nAccept: text/event-stream\r\n\r\n");
  }

  // The head of the answer (status line and headers), once it has come.
  std::string head(std::chrono::milliseconds timeout = 3000ms) {
    conn_.readUntil("\r\n\r\n", timeout);
    const std::string& p = conn_.pending();
    size_t end = p.find("\r\n\r\n");
    return end == std::string::npos ? "" : p.substr(0, end);
  }

  // The next snapshot's JSON text, or nullopt at the timeout or the end.
  std::optional<std::string> next(std::chrono::milliseconds timeout = 3000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const std::string& p = conn_.pending();
      size_t at = p.find("data: ", consumed_);
      size_t end = at == std::string::npos ? std::string::npos : p.find('\n', at);
      if (end != std::string::npos) {
        consumed_ = end + 1;
        return p.substr(at + 6, end - at - 6);
      }
      if (conn_.peerClosed() || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      conn_.readFor(50ms);
    }
  }

  // The next snapshot for which `pred` holds.
  template <class Pred>
  std::optional<rapidjson::Document> until(Pred pred, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      std::optional<std::string> text = next(left);
      if (!text) return std::nullopt;
      rapidjson::Document d;
      d.Parse(text->c_str(), text->size());
      if (!d.HasParseError() && pred(d)) return d;
    }
    return std::nullopt;
  }

  // Reads what has come and skips it (a page that keeps up).
  void drain() {
    conn_.readFor(20ms);
    consumed_ = conn_.pending().size();
  }

  RawConnection& connection() { return conn_; }

 private:
  RawConnection conn_;
  size_t consumed_ = 0;
};

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str(), text.size());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

const rapidjson::Value* findFlag(const rapidjson::Document& d, const std::string& name) {
  if (!d.HasMember("flags") || !d["flags"].IsObject()) return nullptr;
  for (const auto& f : d["flags"]["items"].GetArray()) {
    if (name == f["name"].GetString()) return &f;
  }
  return nullptr;
}

std::vector<std::string> relayOnDeadTarget(std::vector<std::string> extra = {}) {
  std::vector<std::string> s = {
      "relay.enabled=true",
      "relay.upstream_url=http://127.0.0.1:" + std::to_string(closedPort()) + "/message",
      "relay.breaker.consecutive_failures=2",
      "relay.breaker.min_calls=1000",
      "relay.breaker.open_ms=60000",
      "relay.max_attempts=50",
      "relay.queue_max=50",
      "relay.queue_recovery=5"};
  s.insert(s.end(), extra.begin(), extra.end());
  return s;
}

const HeaderList kJson = {"Content-Type: application/json"};

}  // namespace

TEST_CASE("admin events: a snapshot a second with every panel, one rendering for all clients",
          "[admin][events]") {
  TestStack s(relayOnDeadTarget(), {}, RedgeServices{true});
  EventReader a(s.redge.adminPort());
  EventReader b(s.redge.adminPort());
  std::string head = a.head();
  CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(head.find("Content-Type: text/event-stream") != std::string::npos);
  CHECK(head.find("Cache-Control: no-store") != std::string::npos);

  std::vector<rapidjson::Document> from_a, from_b;
  for (int i = 0; i < 3; ++i) {
    auto ta = a.next();
    auto tb = b.next();
    REQUIRE(ta);
    REQUIRE(tb);
    from_a.push_back(parse(*ta));
    from_b.push_back(parse(*tb));
  }
  // A frame a second: the page's clock moves about a second per frame.
  for (int i = 1; i < 3; ++i) {
    CHECK(from_a[i]["seq"].GetInt64() > from_a[i - 1]["seq"].GetInt64());
    int64_t dt = from_a[i]["t"].GetInt64() - from_a[i - 1]["t"].GetInt64();
    CHECK(dt >= 500);
    CHECK(dt <= 2000);
  }
  // The ticks after the first frames are rendered once for both clients.
  CHECK(from_a[2]["seq"].GetInt64() == from_b[2]["seq"].GetInt64());
  double ticks = scrapeMetric(s.redge, "redge_admin_events_ticks_total").value_or(-1);
  double frames = scrapeMetric(s.redge, "redge_admin_events_frames_total").value_or(-1);
  CHECK(frames >= 6);
  CHECK(ticks <= frames / 2 + 2);

  const rapidjson::Document& d = from_a.back();
  REQUIRE(d["process"].IsObject());
  CHECK(d["process"]["pid"].GetInt64() == s.redge.pid());
  CHECK(std::string(d["process"]["redis"].GetString()) == "up");
  CHECK(d["process"]["rss_bytes"].GetDouble() > 0);
  REQUIRE(d["services"].IsObject());
  CHECK(d["services"].HasMember("app"));
  CHECK(d["services"].HasMember("admin"));
  CHECK(d["services"].HasMember("cacheproxy"));
  REQUIRE(d["cache"].IsObject());
  CHECK(d["cache"].HasMember("hit_ratio"));
  REQUIRE(d["relay"].IsObject());
  CHECK(std::string(d["relay"]["breaker"].GetString()) == "closed");
  CHECK(std::string(d["relay"]["gate"].GetString()) == "open");
  REQUIRE(d["flags"].IsObject());
  CHECK(d["canary"].IsArray());
  CHECK(scrapeMetric(s.redge, "redge_admin_events_clients") == 2);
}

TEST_CASE("admin events: the panels follow a flag, canary weights, traffic and the breaker",
          "[admin][events]") {
  TestStack s(relayOnDeadTarget(), {}, RedgeServices{true});
  EventReader events(s.redge.adminPort());
  REQUIRE(events.next());

  // A flag whose description is markup: it travels as a JSON string.
  const std::string markup = "<script>alert(1)</script>";
  REQUIRE(httpRequest("PUT", s.admin("/flags/dash_demo"),
                      R"({"enabled": true, "rollout": 25, "description": ")" + markup + R"("})",
                      kJson)
                  .status /
              100 ==
          2);
  auto on = events.until(
      [](const rapidjson::Document& d) {
        const rapidjson::Value* f = findFlag(d, "dash_demo");
        return f != nullptr && (*f)["enabled"].GetBool();
      },
      5000ms);
  REQUIRE(on);
  const rapidjson::Value* f = findFlag(*on, "dash_demo");
  CHECK((*f)["rollout"].GetDouble() == 25);
  CHECK(std::string((*f)["description"].GetString()) == markup);

  REQUIRE(httpPost(s.admin("/flags/dash_demo/off"), "").status / 100 == 2);
  CHECK(events.until(
      [](const rapidjson::Document& d) {
        const rapidjson::Value* x = findFlag(d, "dash_demo");
        return x != nullptr && !(*x)["enabled"].GetBool();
      },
      5000ms));

  // canary.<pool> flags: the canary side's weight (its rollout while on).
  REQUIRE(
      httpRequest("PUT", s.admin("/flags/canary.web"), R"({"enabled": true, "rollout": 10})", kJson)
              .status /
          100 ==
      2);
  auto canary =
      events.until([](const rapidjson::Document& d) { return d["canary"].Size() == 1; }, 5000ms);
  REQUIRE(canary);
  const auto& pool = (*canary)["canary"][0];
  CHECK(std::string(pool["pool"].GetString()) == "web");
  CHECK(pool["weight"].GetDouble() == 10);
  CHECK(pool["promoted"].GetInt64() == 0);

  // Traffic: the app's request count and rate, the cache proxy's hit ratio.
  for (int i = 0; i < 20; ++i) REQUIRE(httpGet(s.app("/")).status == 200);
  for (int i = 0; i < 4; ++i) httpGet(s.cache("/dash-key"));
  auto busy = events.until(
      [](const rapidjson::Document& d) {
        const auto& app = d["services"]["app"];
        return app["requests"].GetDouble() >= 20 && !d["cache"]["hit_ratio"].IsNull();
      },
      5000ms);
  REQUIRE(busy);
  CHECK((*busy)["services"]["app"]["error_ratio"].GetDouble() == 0);
  CHECK(!(*busy)["services"]["app"]["p99_ms"].IsNull());

  // The relay's target is down: two failed deliveries open the breaker.
  for (int i = 0; i < 2; ++i) REQUIRE(postMessage(s.redge, "d", std::to_string(i)).status == 202);
  auto open = events.until(
      [](const rapidjson::Document& d) {
        return std::string(d["relay"]["breaker"].GetString()) == "open";
      },
      8000ms);
  REQUIRE(open);
  CHECK((*open)["relay"]["queue_depth"].GetDouble() >= 1);
}

TEST_CASE("admin events: the registry's instances and the firing alerts have their panels",
          "[admin][events]") {
  TestStack s({"discovery.enabled=true", "discovery.service=web", "alerts.enabled=true",
               "alerts.interval_ms=100", "alerts.defaults.cpu=false",
               "alerts.defaults.memory=false",
               "alerts.rules=[{\"name\":\"FdsOpen\",\"expr\":\"process_open_fds > 0\","
               "\"labels\":{\"severity\":\"page\"},"
               "\"annotations\":{\"summary\":\"<b>{{ $value }}</b> fds\"}}]"});
  EventReader events(s.redge.adminPort());
  auto d = events.until(
      [](const rapidjson::Document& x) {
        if (!x.HasMember("instances") || !x["instances"].IsObject()) return false;
        if (!x.HasMember("alerts") || !x["alerts"].IsObject()) return false;
        return x["instances"]["count"].GetInt64() >= 1 && x["alerts"]["active"].Size() >= 1 &&
               std::string(x["alerts"]["active"][0]["state"].GetString()) == "firing";
      },
      8000ms);
  REQUIRE(d);
  const auto& instance = (*d)["instances"]["items"][0];
  CHECK(std::string(instance["service"].GetString()) == "web");
  CHECK(instance["heartbeat_age_ms"].GetInt64() >= 0);
  const auto& alert = (*d)["alerts"]["active"][0];
  CHECK(std::string(alert["name"].GetString()) == "FdsOpen");
  CHECK(std::string(alert["severity"].GetString()) == "page");
  CHECK(std::string(alert["summary"].GetString()).find("<b>") == 0);
  CHECK(alert["value"].GetDouble() > 0);
}

TEST_CASE("admin events: a client that never reads is skipped, then dropped", "[admin][events]") {
  // Ten snapshots a second of about 110 KB each (100 flags with long
  // descriptions), so an unread stream fills the socket and the output
  // high mark within seconds.
  TestStack s({"admin.events_interval_ms=100"});
  std::string description(1000, 'd');
  for (int i = 0; i < 100; ++i) {
    REQUIRE(httpRequest("PUT", s.admin("/flags/bulk" + std::to_string(i)),
                        R"({"enabled": true, "description": ")" + description + R"("})", kJson)
                    .status /
                100 ==
            2);
  }
  NeverReader stuck(s.redge.adminPort());
  REQUIRE(stuck.push("GET /events HTTP/1.1\r\nHost: redge\r\n\r\n", 1) == 1);
  EventReader healthy(s.redge.adminPort());

  REQUIRE(waitUntil(
      [&] {
        healthy.drain();
        return scrapeMetric(s.redge, "redge_admin_events_dropped_total").value_or(0) == 1;
      },
      30000ms, 200ms));
  CHECK(scrapeMetric(s.redge, "redge_admin_events_skipped_total").value_or(0) >= 30);
  // Its connection is closed on redge's side (the client cannot see the
  // FIN behind the bytes it never read): the reader and the scrape remain.
  CHECK(waitUntil(
      [&] {
        healthy.drain();
        return scrapeMetric(s.redge, "redge_http_connections_open{service=\"admin\"}") == 2;
      },
      3000ms, 100ms));
  CHECK(s.redge.logText().find("event=event_client_dropped") != std::string::npos);
  // The client that reads kept getting every frame and is still there.
  REQUIRE(healthy.next());
  CHECK(scrapeMetric(s.redge, "redge_admin_events_clients") == 1);
  CHECK(stillServes(s.redge));
}

TEST_CASE("admin events: SIGTERM ends the streams and redge exits at once", "[admin][events]") {
  TestStack s;
  EventReader events(s.redge.adminPort());
  REQUIRE(events.next());
  auto start = std::chrono::steady_clock::now();
  CHECK(s.redge.stop() == 0);
  CHECK(std::chrono::steady_clock::now() - start < 3000ms);
  CHECK(events.connection().waitForClose(2000ms));
  // The chunked stream was ended properly, not cut.
  CHECK(events.connection().pending().find("\r\n0\r\n\r\n") != std::string::npos);
}

TEST_CASE("admin dashboard: the page and its assets come from the binary with a strict policy",
          "[admin][events]") {
  TestStack s;
  HttpReply page = httpGet(s.admin("/dashboard"));
  REQUIRE(page.status == 200);
  CHECK(page.header("Content-Type") == "text/html; charset=utf-8");
  std::string csp = page.header("Content-Security-Policy");
  CHECK(csp.find("default-src 'none'") != std::string::npos);
  CHECK(csp.find("script-src 'self'") != std::string::npos);
  CHECK(csp.find("unsafe-inline") == std::string::npos);
  CHECK(page.body.find("/dashboard/dashboard.js") != std::string::npos);
  CHECK(page.body.find("http://") == std::string::npos);
  CHECK(page.body.find("https://") == std::string::npos);

  HttpReply js = httpGet(s.admin("/dashboard/dashboard.js"));
  REQUIRE(js.status == 200);
  CHECK(js.header("Content-Type").rfind("text/javascript", 0) == 0);
  CHECK(js.body.find("new EventSource('/events')") != std::string::npos);
  CHECK(js.body.find("innerHTML") == std::string::npos);  // values go in as text only
  CHECK(js.body.find("https://") == std::string::npos);
  HttpReply css = httpGet(s.admin("/dashboard/dashboard.css"));
  CHECK(css.status == 200);
  CHECK(css.header("Content-Type").rfind("text/css", 0) == 0);

  // HEAD /events is answered with the head alone, not held open.
  HttpReply head = httpHead(s.admin("/events"), {}, 2000ms);
  CHECK(head.status == 200);
  CHECK(head.header("Content-Type").rfind("text/event-stream", 0) == 0);

  HttpReply none = httpGet(s.admin("/dashboard/nope.js"));
  CHECK(none.status == 404);
  CHECK(errorCode(none.body) == "not_found");
}

TEST_CASE("admin events: the gateway panel shows each pool side, its members and the weight",
          "[admin][events][canary]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess stable(dir, {"--name", "stable"});
  FakeUpstreamProcess canary(dir, {"--name", "canary"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(
          R"([{"prefix": "/", "pool": "web"}])",
          R"({"web": {"members": [{"address": ")" + memberAddress(stable) +
              R"("}], "health": {"enabled": false}, "canary": {"members": [{"address": ")" +
              memberAddress(canary) + R"("}]}}})"));
  gw.waitUntilReady();
  REQUIRE(httpRequest("PUT", gw.adminUrl("/flags/canary.web"), R"({"enabled":true,"rollout":30})")
              .status == 201);
  EventReader events(gw.adminPort());
  auto d = events.until(
      [](const rapidjson::Document& x) {
        return x.HasMember("gateway") && x["gateway"].IsArray() && x["gateway"].Size() == 2 &&
               x["gateway"][0].HasMember("canary_weight") &&
               x["gateway"][0]["canary_weight"].GetDouble() == 30;
      },
      5000ms);
  REQUIRE(d);
  const auto& sides = (*d)["gateway"];
  CHECK(std::string(sides[0]["pool"].GetString()) == "web");
  CHECK(std::string(sides[0]["side"].GetString()) == "stable");
  CHECK(std::string(sides[0]["members"][0]["name"].GetString()) == memberAddress(stable));
  CHECK(std::string(sides[1]["pool"].GetString()) == "web/canary");
  CHECK(std::string(sides[1]["side"].GetString()) == "canary");
  CHECK(std::string(sides[1]["members"][0]["health"].GetString()) == "healthy");
}
