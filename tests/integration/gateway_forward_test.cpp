// The gateway end to end, forwarding: a real redge gateway in front of
// several real fake_upstream processes (their echo answers say what arrived),
// spoken to with libcurl and raw sockets. Routing and 404 no_route, the
// round-robin spread, the header rules both ways, HEAD and bodies, the
// member's own answers passed through, and each of the gateway's own error
// answers (502 connect/reset/bad answer, 503 with Retry-After, 504) with
// its JSON body, log line and metric.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/gateway_echo.hpp"
#include "support/json_fields.hpp"
#include "support/loopback_peers.hpp"
#include "support/metrics_text.hpp"
#include "support/raw_connection.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

// Polls the gateway's metrics until `count` members of `pool` take traffic.
bool waitHealthy(const RedgeProcess& gateway, const std::string& pool, int count,
                 std::chrono::milliseconds timeout = 5000ms) {
  std::string series = "redge_gateway_pool_members_healthy{pool=\"" + pool + "\"}";
  return waitUntil([&] { return scrapeMetric(gateway, series) == count; }, timeout);
}

double errorsOf(const RedgeProcess& gateway, const std::string& code) {
  return scrapeMetric(gateway, "redge_http_errors_total{service=\"gateway\",code=\"" + code + "\"}")
      .value_or(0);
}

// A TCP listener that accepts and reads the request, then writes `answer`
// and closes, or with no answer closes the connection with a reset: a
// member that dies mid-request, or one that does not speak HTTP.
class ResettingMember {
 public:
  explicit ResettingMember(std::string answer = "") : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~ResettingMember() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void run() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++accepted_;
      char buf[4096];
      (void)::recv(c, buf, sizeof buf, 0);
      if (!answer_.empty()) {
        (void)::send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
        ::shutdown(c, SHUT_WR);
        (void)::recv(c, buf, sizeof buf, 0);  // until the gateway closes
      } else {
        linger l{1, 0};  // close with RST
        ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
      ::close(c);
    }
  }
  std::string answer_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

std::string pool1(const std::string& address, const std::string& more = "") {
  std::string json =
      "{\"members\": [{\"address\": \"" + address + "\"}], \"health\": {\"enabled\": false}";
  if (!more.empty()) json += ", " + more;
  return json + "}";
}

}  // namespace

TEST_CASE("gateway: routes by host and longest prefix, no match is 404 no_route", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess api(dir, {"--name", "api"});
  FakeUpstreamProcess web(dir, {"--name", "web"});
  FakeUpstreamProcess admin(dir, {"--name", "admin"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(R"([{"prefix": "/api/", "pool": "api"},
                          {"prefix": "/api/admin/", "pool": "admin"},
                          {"prefix": "/www/", "pool": "web"},
                          {"host": "admin.test", "prefix": "/", "pool": "admin"}])",
                      "{\"api\": " + poolJson({&api}, 100) + ", \"web\": " + poolJson({&web}, 100) +
                          ", \"admin\": " + poolJson({&admin}, 100) + "}"));
  REQUIRE(waitHealthy(gw, "api", 1));
  REQUIRE(waitHealthy(gw, "web", 1));
  REQUIRE(waitHealthy(gw, "admin", 1));

  auto nameOf = [&](const std::string& target, HeaderList headers = {}) {
    HttpReply r = httpGet(gw.gatewayUrl(target), headers);
    INFO(target << " -> " << r.status << " " << r.body);
    return r.status == 200 ? parseEcho(r.body).name : std::to_string(r.status);
  };
  CHECK(nameOf("/api/users") == "api");
  CHECK(nameOf("/api/admin/users") == "admin");  // longer prefix
  CHECK(nameOf("/www/index.html?x=1") == "web");
  CHECK(nameOf("/api/users", {"Host: ADMIN.test:8080"}) == "admin");  // the host's route first
  CHECK(nameOf("/www/", {"Host: other.test"}) == "web");

  HttpReply miss = httpGet(gw.gatewayUrl("/nothing/here"));
  CHECK(miss.status == 404);
  CHECK(errorCode(miss.body) == "no_route");
  CHECK(miss.header("Content-Type") == "application/json");
  CHECK(jsonString(miss.body, "message").value_or("").find("gateway.routes") != std::string::npos);
  CHECK(errorsOf(gw, "no_route") == 1);
  CHECK(gw.waitForLog("error=no_route", 2000ms));
  CHECK(scrapeMetric(gw, "redge_gateway_requests_total{pool=\"api\"}") == 1);
  CHECK(scrapeMetric(gw, "redge_gateway_requests_total{pool=\"admin\"}") == 2);
}

TEST_CASE("gateway: round robin spreads requests by weight", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  FakeUpstreamProcess c(dir, {"--name", "c"});
  std::string pool = "{\"members\": [{\"address\": \"" + memberAddress(a) +
                     "\"}, {\"address\": \"" + memberAddress(b) + "\"}, {\"address\": \"" +
                     memberAddress(c) + "\", \"weight\": 2}], \"health\": {\"interval_ms\": 100}}";
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web"}])", "{\"web\": " + pool + "}",
                                  {"gateway.member_header=X-Upstream-Member"}));
  REQUIRE(waitHealthy(gw, "web", 3));
  std::map<std::string, int> seen;
  std::vector<std::string> order;
  for (int i = 0; i < 40; ++i) {
    HttpReply r = httpGet(gw.gatewayUrl("/"));
    REQUIRE(r.status == 200);
    std::string name = r.header("X-Upstream");
    ++seen[name];
    // The member that answered, named by the gateway (gateway.member_header).
    std::string member = r.header("X-Upstream-Member");
    CHECK(member == memberAddress(name == "a" ? a : name == "b" ? b : c));
    if (i < 4) order.push_back(name);
  }
  // Smooth weighted round robin is exact: 1:1:2 over every 4 requests.
  CHECK(seen == std::map<std::string, int>{{"a", 10}, {"b", 10}, {"c", 20}});
  CHECK(std::count(order.begin(), order.end(), "c") == 2);
  CHECK(a.stats().echoed == 10);
  CHECK(scrapeMetric(gw, "redge_gateway_member_requests_total{pool=\"web\",member=\"" +
                             memberAddress(c) + "\"}") == 20);
}

TEST_CASE("gateway: hop-by-hop headers go, forwarded headers come, both ways", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                                  "{\"web\": " + pool1(memberAddress(up)) + "}"));
  RawConnection c(gw.gatewayPort());
  REQUIRE(
      c.send("GET /echo/path?hop=1&q=2 HTTP/1.1\r\n"
             "Host: shop.example:8080\r\n"
             "Connection: keep-alive, X-Secret\r\n"
             "X-Secret: for the next hop only\r\n"
             "Keep-Alive: timeout=5\r\n"
             "TE: trailers\r\n"
             "Proxy-Connection: keep-alive\r\n"
             "X-Forwarded-For: 203.0.113.9\r\n"
             "X-Forwarded-Proto: https\r\n"
             "X-Forwarded-Host: spoofed.example\r\n"
             "Via: 1.1 cdn\r\n"
             "Cookie: a=1\r\n"
             "X-Kept: yes\r\n"
             "\r\n"));
  auto response = c.readResponse();
  REQUIRE(response);
  REQUIRE(response->status == 200);
  EchoedRequest e = parseEcho(response->body);
  REQUIRE(e.valid);
  INFO(response->body);
  CHECK(e.method == "GET");
  CHECK(e.target == "/echo/path?hop=1&q=2");
  CHECK(e.values("Host") == std::vector<std::string>{"shop.example:8080"});
  for (const char* gone : {"Connection", "X-Secret", "Keep-Alive", "TE", "Proxy-Connection"}) {
    INFO(gone);
    CHECK_FALSE(e.has(gone));
  }
  CHECK(e.values("X-Forwarded-For") == std::vector<std::string>{"203.0.113.9, 127.0.0.1"});
  CHECK(e.values("X-Forwarded-Proto") == std::vector<std::string>{"http"});
  CHECK(e.values("X-Forwarded-Host") == std::vector<std::string>{"shop.example:8080"});
  CHECK(e.values("Via") == std::vector<std::string>{"1.1 cdn, 1.1 redge"});
  CHECK(e.values("Cookie") == std::vector<std::string>{"a=1"});
  CHECK(e.values("X-Kept") == std::vector<std::string>{"yes"});

  // Back: the member's hop-by-hop headers stop here, the rest passes.
  CHECK_FALSE(response->hasHeader("Keep-Alive"));
  CHECK_FALSE(response->hasHeader("X-Upstream-Hop"));
  CHECK_FALSE(response->hasHeader("Connection"));  // the client's connection stays open
  CHECK(response->header("X-Upstream") == "up");
  CHECK(response->header("Content-Type") == "application/json");
  int cookies = 0;
  for (const auto& [name, value] : response->headers) {
    if (equalsIgnoreCase(name, "Set-Cookie")) ++cookies;
  }
  CHECK(cookies == 2);

  // The same connection carries the next request (kept alive).
  REQUIRE(c.send("GET /again HTTP/1.1\r\nHost: h\r\n\r\n"));
  auto again = c.readResponse();
  REQUIRE(again);
  CHECK(again->status == 200);
  CHECK(parseEcho(again->body).target == "/again");
}

TEST_CASE("gateway: bodies, chunked requests and HEAD", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                                  "{\"web\": " + pool1(memberAddress(up)) + "}"));
  std::string big(300000, 'x');
  HttpReply post = httpPost(gw.gatewayUrl("/upload"), big, {"Content-Type: text/plain"});
  REQUIRE(post.status == 200);
  EchoedRequest e = parseEcho(post.body);
  CHECK(e.method == "POST");
  CHECK(e.body_bytes == 300000);
  CHECK(e.values("Content-Length") == std::vector<std::string>{"300000"});

  RawConnection c(gw.gatewayPort());
  REQUIRE(
      c.send("PUT /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto put = c.readResponse();
  REQUIRE(put);
  REQUIRE(put->status == 200);
  EchoedRequest chunked = parseEcho(put->body);
  // Streamed as it came: still chunked, its length unknown to the gateway.
  CHECK(chunked.body == "hello world");
  CHECK(chunked.values("Transfer-Encoding") == std::vector<std::string>{"chunked"});
  CHECK_FALSE(chunked.has("Content-Length"));

  REQUIRE(c.send("GET /same HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto get = c.readResponse();
  REQUIRE(get);
  REQUIRE(get->status == 200);
  REQUIRE(c.send("HEAD /same HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto head = c.readResponse(5000ms, true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  CHECK(head->header("X-Upstream") == "up");
  // The length the member stated for HEAD: the echo of the same GET, one
  // letter longer for the method's name.
  CHECK(head->header("Content-Length") == std::to_string(get->body.size() + 1));
  REQUIRE(c.send("GET /after-head HTTP/1.1\r\nHost: h\r\n\r\n"));
  auto after = c.readResponse();
  REQUIRE(after);
  CHECK(parseEcho(after->body).target == "/after-head");
}

TEST_CASE("gateway: a member's own answers pass through, whatever their status", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                                  "{\"web\": " + pool1(memberAddress(up)) + "}"));
  for (int status : {201, 404, 418, 500, 503}) {
    HttpReply r = httpGet(gw.gatewayUrl("/x?status=" + std::to_string(status)));
    INFO(status << " " << r.body);
    CHECK(r.status == status);
    CHECK(parseEcho(r.body).name == "up");  // the member's body, not an error of the gateway's
    CHECK(r.header("X-Upstream") == "up");
  }
  CHECK(errorsOf(gw, "upstream_reset") + errorsOf(gw, "bad_upstream_response") == 0);
  // 5xx answers count as failures for the passive checks.
  CHECK(scrapeMetric(gw, "redge_gateway_member_failures_total{pool=\"web\",member=\"" +
                             memberAddress(up) + "\"}") == 2);
}

TEST_CASE("gateway: 504 upstream_timeout when a member does not answer in time", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                      "{\"web\": " + pool1(memberAddress(up)) + "}", {"gateway.timeout_ms=300"}));
  auto start = std::chrono::steady_clock::now();
  HttpReply r = httpGet(gw.gatewayUrl("/slow?delay_ms=3000"));
  CHECK(r.status == 504);
  CHECK(errorCode(r.body) == "upstream_timeout");
  CHECK(jsonString(r.body, "pool") == "web");
  CHECK(msSince(start) < 2000);
  CHECK(errorsOf(gw, "upstream_timeout") == 1);
  CHECK(gw.waitForLog("error=upstream_timeout", 2000ms));
  // Not retried: the member may have acted on it.
  CHECK(up.stats().echoed == 1);
}

TEST_CASE("gateway: 503 no_healthy_upstream with Retry-After, at once", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess sick(dir, {"--name", "sick", "--unhealthy"});
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                                  "{\"web\": " + poolJson({&sick}, 500) + "}"));
  REQUIRE(waitUntil([&] { return sick.stats().health_checks >= 1; }, 3000ms));
  auto start = std::chrono::steady_clock::now();
  HttpReply r = httpGet(gw.gatewayUrl("/"));
  CHECK(msSince(start) < 1000);
  CHECK(r.status == 503);
  CHECK(errorCode(r.body) == "no_healthy_upstream");
  CHECK(jsonString(r.body, "pool") == "web");
  CHECK(r.header("Retry-After") == "1");  // rise 2 x 500 ms
  CHECK(sick.stats().echoed == 0);
  CHECK(errorsOf(gw, "no_healthy_upstream") == 1);
  CHECK(gw.waitForLog("error=no_healthy_upstream", 2000ms));

  // Healthy again: traffic flows once rise checks have passed.
  sick.configure(R"({"healthy": true})");
  REQUIRE(waitHealthy(gw, "web", 1));
  CHECK(httpGet(gw.gatewayUrl("/")).status == 200);
}

TEST_CASE("gateway: 502 upstream_connect_failed when nothing listens", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                                  "{\"web\": " +
                                      pool1("127.0.0.1:" + std::to_string(closedPort()),
                                            R"("passive": {"consecutive_failures": 0})") +
                                      "}"));
  HttpReply r = httpGet(gw.gatewayUrl("/"));
  CHECK(r.status == 502);
  CHECK(errorCode(r.body) == "upstream_connect_failed");
  CHECK(errorsOf(gw, "upstream_connect_failed") == 1);
  CHECK(gw.waitForLog("error=upstream_connect_failed", 2000ms));
}

TEST_CASE("gateway: a reset is retried on another member only for an idempotent request",
          "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  ResettingMember bad;
  FakeUpstreamProcess good(dir, {"--name", "good"});
  std::string pool = "{\"members\": [{\"address\": \"127.0.0.1:" + std::to_string(bad.port()) +
                     "\"}, {\"address\": \"" + memberAddress(good) +
                     "\"}], \"health\": {\"enabled\": false}, "
                     "\"passive\": {\"consecutive_failures\": 0}}";
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(R"([{"prefix": "/", "pool": "web"}])", "{\"web\": " + pool + "}"));
  // Round robin alternates: every other request meets the resetting member.
  int gets_ok = 0;
  for (int i = 0; i < 4; ++i) gets_ok += httpGet(gw.gatewayUrl("/g")).status == 200 ? 1 : 0;
  CHECK(gets_ok == 4);
  CHECK(bad.accepted() >= 2);
  CHECK(scrapeMetric(gw, "redge_gateway_retries_total{pool=\"web\"}") >= 2);

  std::map<long, int> posts;
  std::map<std::string, int> codes;
  for (int i = 0; i < 4; ++i) {
    HttpReply r = httpPost(gw.gatewayUrl("/p"), "{}");
    ++posts[r.status];
    if (r.status != 200) ++codes[errorCode(r.body)];
  }
  CHECK(posts[200] == 2);
  CHECK(posts[502] == 2);
  CHECK(codes["upstream_reset"] == 2);
  // With an Idempotency-Key a POST may be repeated, so it is.
  for (int i = 0; i < 2; ++i) {
    CHECK(httpPost(gw.gatewayUrl("/p"), "{}", {"Idempotency-Key: k" + std::to_string(i)}).status ==
          200);
  }
}

TEST_CASE("gateway: 502 bad_upstream_response for an answer that is not HTTP", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  ResettingMember garbage("SSH-2.0-OpenSSH_9.2\r\n\r\n");
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                      "{\"web\": " + pool1("127.0.0.1:" + std::to_string(garbage.port())) + "}"));
  HttpReply r = httpGet(gw.gatewayUrl("/"));
  CHECK(r.status == 502);
  CHECK(errorCode(r.body) == "bad_upstream_response");
  CHECK(jsonString(r.body, "pool") == "web");
  CHECK(gw.waitForLog("error=bad_upstream_response", 2000ms));
  CHECK(errorsOf(gw, "bad_upstream_response") == 1);
  CHECK(garbage.accepted() == 1);  // not an error a retry could mend
}

TEST_CASE("gateway: the member's Date and Server pass, and an answer without a Date gets one",
          "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  ResettingMember plain("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: plain/1\r\n\r\nok");
  FakeUpstreamProcess up(dir, {"--name", "up"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(R"([{"prefix": "/plain", "pool": "plain"}, {"prefix": "/", "pool": "web"}])",
                      "{\"plain\": " + pool1("127.0.0.1:" + std::to_string(plain.port())) +
                          ", \"web\": " + pool1(memberAddress(up)) + "}"));
  RawConnection c(gw.gatewayPort());
  REQUIRE(c.send("GET /plain HTTP/1.1\r\nHost: h\r\n\r\n"));
  auto r = c.readResponse();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "ok");
  CHECK(r->header("Server") == "plain/1");
  CHECK(r->header("Date").size() == 29);  // "Sun, 29 Nov 2026 07:59:00 GMT"
  CHECK(r->header("Date").ends_with(" GMT"));
  // A member that sends its own: it is the one the client sees, once.
  RawConnection d(gw.gatewayPort());
  REQUIRE(d.send("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"));
  auto e = d.readResponse();
  REQUIRE(e);
  CHECK(e->status == 200);
  CHECK(e->header("Server") == "redge");  // fake_upstream answers with redge's HTTP server
  CHECK(std::count_if(e->headers.begin(), e->headers.end(),
                      [](const auto& h) { return equalsIgnoreCase(h.first, "Date"); }) == 1);
}

TEST_CASE("gateway: hash pools send a header's or a cookie's value to one member", "[gateway]") {
  TempDir dir;
  RedisServer redis(dir);
  FakeUpstreamProcess a(dir, {"--name", "a"});
  FakeUpstreamProcess b(dir, {"--name", "b"});
  FakeUpstreamProcess c(dir, {"--name", "c"});
  RedgeProcess gw(
      dir, redis,
      gatewaySettings(
          R"([{"prefix": "/", "pool": "byheader"}, {"prefix": "/c/", "pool": "bycookie"}])",
          "{\"byheader\": " +
              poolJson({&a, &b, &c}, 100, R"("balance": "hash", "hash_by": "header:X-User")") +
              ", \"bycookie\": " +
              poolJson({&a, &b, &c}, 100, R"("balance": "hash", "hash_by": "cookie:sid")") + "}"));
  REQUIRE(waitHealthy(gw, "byheader", 3));
  REQUIRE(waitHealthy(gw, "bycookie", 3));
  std::map<std::string, std::string> first;
  std::set<std::string> used;
  for (int round = 0; round < 2; ++round) {
    for (int u = 0; u < 24; ++u) {
      std::string user = "user-" + std::to_string(u);
      HttpReply r = httpGet(gw.gatewayUrl("/"), {"X-User: " + user});
      REQUIRE(r.status == 200);
      std::string name = r.header("X-Upstream");
      if (round == 0) {
        first[user] = name;
        used.insert(name);
      } else {
        CHECK(first[user] == name);  // sticky
      }
      HttpReply byCookie = httpGet(gw.gatewayUrl("/c/"), {"Cookie: theme=dark; sid=" + user});
      REQUIRE(byCookie.status == 200);
      // The same key, the same ring: the same member whichever pool asks.
      CHECK(byCookie.header("X-Upstream") == first[user]);
    }
  }
  CHECK(used.size() == 3);  // 24 users spread over every member
  // Without the header: the client's address is the key, so one member.
  std::set<std::string> anonymous;
  for (int i = 0; i < 6; ++i) anonymous.insert(httpGet(gw.gatewayUrl("/")).header("X-Upstream"));
  CHECK(anonymous.size() == 1);
}
