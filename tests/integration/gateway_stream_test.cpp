// The gateway's streamed forwarding end to end: the real redge binary with a
// gateway pool on fake_upstream's streaming listener (its bodies are the
// stream pattern, checked byte by byte at both ends), driven by libcurl and
// raw sockets. Gigabyte bodies both ways with redge's memory bounded,
// chunked uploads, the WebSocket-style tunnel with backpressure, interim
// answers, retries that resend the kept body (and bodies too large to keep,
// tried once), keep-alive reuse of member connections, a member that stalls
// mid-answer or mid-upload, a client that vanishes or reads slowly, 413
// midway, pipelining and HEAD. Every wait is bounded; every test ends with
// redge stopping cleanly (RedgeProcess checks exit 0 with no handle left
// open).
//

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <thread>

#include "support/fake_upstream_process.hpp"
#include "support/gateway_echo.hpp"
#include "support/http_client.hpp"
#include "support/json_fields.hpp"
#include "support/loopback_peers.hpp"
#include "support/metrics_text.hpp"
#include "support/process_stats.hpp"
#include "support/raw_connection.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/stream_pattern.hpp"
#include "support/stream_transfer.hpp"
#include "support/temp_dir.hpp"
#include "support/tunnel_client.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kKiB = int64_t{1} << 10;
constexpr int64_t kRssLimitKib = 32 * 1024;
#if defined(__SANITIZE_ADDRESS__)
// ASan keeps freed memory in its quarantine (256 MiB) and adds shadow
// memory: a sanitized redge's RSS says nothing about its buffers.
constexpr bool kRssMeaningful = false;
#else
constexpr bool kRssMeaningful = true;
#endif

std::string streamMember(const FakeUpstreamProcess& upstream) {
  return "127.0.0.1:" + std::to_string(upstream.streamPort());
}

// Pool "web" of `members` (addresses), health checks off, never ejecting
// (each test looks at one mechanism, not at passive ejection).
std::string webPool(const std::vector<std::string>& members, const std::string& more = "") {
  std::string json = "{\"web\": {\"members\": [";
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) json += ", ";
    json += "{\"address\": \"" + members[i] + "\"}";
  }
  json += "], \"health\": {\"enabled\": false}, \"passive\": {\"consecutive_failures\": 0}";
  if (!more.empty()) json += ", " + more;
  return json + "}}";
}

// redge's gateway with one route, "/" to pool "web", whose members are
// `extra_members` (first) and then fake_upstream's streaming listener.
struct GatewayStack {
  explicit GatewayStack(std::vector<std::string> settings = {},
                        std::vector<std::string> extra_members = {})
      : redis(dir),
        upstream(dir, {"--stream-port", "0"}),
        member(streamMember(upstream)),
        gw(dir, redis,
           gatewaySettings(R"([{"prefix": "/", "pool": "web"}])",
                           webPool(withMember(extra_members, member)), std::move(settings))) {}

  static std::vector<std::string> withMember(std::vector<std::string> members,
                                             const std::string& m) {
    members.push_back(m);
    return members;
  }

  std::string url(const std::string& target) const { return gw.gatewayUrl(target); }
  std::string streamStats() const { return upstream.streamStats(); }
  int64_t clientClosedUpstream() const {
    return jsonInt(streamStats(), "client_closed").value_or(-1);
  }
  int64_t sinkBytes() const { return jsonInt(streamStats(), "sink_bytes").value_or(-1); }
  std::optional<double> memberMetric(const std::string& name, const std::string& address) const {
    return scrapeMetric(gw, name + "{pool=\"web\",member=\"" + address + "\"}");
  }
  // No exchange open at the member, none in flight in the gateway.
  bool settled() const {
    return jsonInt(streamStats(), "open") == 0 &&
           memberMetric("redge_gateway_member_inflight", member) == 0;
  }

  TempDir dir;
  RedisServer redis;
  FakeUpstreamProcess upstream;
  std::string member;
  RedgeProcess gw;
};

// The head of a response as raw bytes (up to the blank line), and what
// follows it; for answers cut short, which takeResponse() cannot complete.
struct CutResponse {
  std::string head;
  std::string body;
  bool valid = false;
};

CutResponse splitHead(const std::string& wire) {
  CutResponse r;
  size_t end = wire.find("\r\n\r\n");
  if (end == std::string::npos) return r;
  r.head = wire.substr(0, end + 2);
  r.body = wire.substr(end + 4);
  r.valid = true;
  return r;
}

}  // namespace

TEST_CASE("gateway stream: a 1 GiB download passes with redge's peak RSS under 32 MiB",
          "[gateway][large]") {
  GatewayStack s;
  // A first exchange, so what the gateway allocates once (the member's
  // client pool, its first connection) is in the baseline.
  REQUIRE(httpGet(s.url("/hello")).status == 200);
  int64_t before = residentKib(s.gw.pid());
  StreamTransfer t = streamDownload(s.url("/bytes/" + std::to_string(kGiB)), 180s);
  CHECK(t.error == "");
  CHECK(t.status == 200);
  CHECK(t.header("Content-Length") == std::to_string(kGiB));
  CHECK(t.bytes == kGiB);
  CHECK(t.pattern_ok);
  int64_t peak = peakResidentKib(s.gw.pid());
  INFO("redge VmRSS before " << before << " KiB, VmHWM after " << peak << " KiB");
  CHECK(before > 0);
  CHECK(peak > 0);
  if (kRssMeaningful) CHECK(peak < kRssLimitKib);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
}

TEST_CASE("gateway stream: a 1 GiB upload passes with redge's peak RSS under 32 MiB",
          "[gateway][large]") {
  GatewayStack s;
  REQUIRE(httpGet(s.url("/hello")).status == 200);
  int64_t before = residentKib(s.gw.pid());
  StreamTransfer t = streamUpload(s.url("/sink"), kGiB, false, 180s);
  CHECK(t.error == "");
  CHECK(t.status == 200);
  CHECK(jsonInt(t.body, "bytes") == kGiB);
  CHECK(t.body.find("\"pattern_ok\":true") != std::string::npos);
  CHECK(s.sinkBytes() == kGiB);
  int64_t peak = peakResidentKib(s.gw.pid());
  INFO("redge VmRSS before " << before << " KiB, VmHWM after " << peak << " KiB");
  CHECK(before > 0);
  CHECK(peak > 0);
  if (kRssMeaningful) CHECK(peak < kRssLimitKib);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
}

TEST_CASE("gateway stream: a chunked upload arrives chunked and whole at the member", "[gateway]") {
  GatewayStack s;
  // The member sees chunked framing, no length the gateway made up.
  RawConnection c(s.gw.gatewayPort());
  REQUIRE(
      c.send("POST /headers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n0\r\n\r\n"));
  auto headers = c.readResponse(5s);
  REQUIRE(headers);
  CHECK(headers->status == 200);
  INFO(headers->body);
  CHECK(headers->body.find("Transfer-Encoding: chunked\n") != std::string::npos);
  CHECK(headers->body.find("Content-Length") == std::string::npos);

  // 64 MiB chunked: every byte, in order.
  StreamTransfer up = streamUpload(s.url("/sink"), 64 * kMiB, true, 60s);
  CHECK(up.error == "");
  CHECK(up.status == 200);
  CHECK(jsonInt(up.body, "bytes") == 64 * kMiB);
  CHECK(up.body.find("\"pattern_ok\":true") != std::string::npos);

  // A chunked echo streams back while it streams in: the member, not
  // knowing the length, answers chunked too.
  StreamTransfer echo = streamUpload(s.url("/echo"), 16 * kMiB, true, 60s);
  CHECK(echo.error == "");
  CHECK(echo.status == 200);
  CHECK(echo.header("Transfer-Encoding") == "chunked");
  CHECK(echo.bytes == 16 * kMiB);
  CHECK(echo.pattern_ok);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
}

TEST_CASE("gateway stream: an upgrade becomes a tunnel both ways, with backpressure", "[gateway]") {
  GatewayStack s;
  RawConnection c(s.gw.gatewayPort());
  auto head = requestUpgrade(c, "/upgrade", "Sec-WebSocket-Version: 13\r\n");
  REQUIRE(head);
  CHECK(head->status == 101);
  CHECK(head->header("Upgrade") == "websocket");
  CHECK(equalsIgnoreCase(head->header("Connection"), "upgrade"));

  REQUIRE(c.send("ping through the gateway"));
  REQUIRE(c.readUntil("ping through the gateway", 5s));
  CHECK(c.pending() == "ping through the gateway");
  REQUIRE(c.send("and a second one"));
  REQUIRE(c.readUntil("and a second one", 5s));
  CHECK(c.pending() == "ping through the gatewayand a second one");

  // Eight megabytes each way: more than every buffer on the path (client
  // socket, gateway, member socket, member), so both directions stop and go.
  std::string big = patternString(0, static_cast<size_t>(8 * kMiB));
  RawConnection d(s.gw.gatewayPort());
  auto dhead = requestUpgrade(d);
  REQUIRE(dhead);
  REQUIRE(dhead->status == 101);
  REQUIRE(sendThroughTunnel(d, big));
  CHECK(d.pending().size() == big.size());
  CHECK(d.pending() == big);

  // The clients leave: the member sees each tunnel's far side close.
  int64_t closed_before = s.clientClosedUpstream();
  c.close();
  d.close();
  CHECK(waitUntil([&] { return s.clientClosedUpstream() >= closed_before + 2; }, 5s));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  // The gateway serves on.
  CHECK(httpGet(s.url("/after")).body == "stream upstream: GET /after");
}

TEST_CASE("gateway stream: interim answers: a member's 103 before the answer, one 100 for Expect",
          "[gateway]") {
  GatewayStack s;
  RawConnection c(s.gw.gatewayPort());
  REQUIRE(c.send("GET /hints HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto hints = c.readResponse(5s);
  REQUIRE(hints);
  CHECK(hints->status == 103);
  CHECK(hints->header("Link") == "</style.css>; rel=preload; as=style");
  auto answer = c.readResponse(5s);
  REQUIRE(answer);
  CHECK(answer->status == 200);
  CHECK(answer->body == "hinted");

  // The body waits for the 100, then goes through.
  REQUIRE(
      c.send("POST /sink HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
             "Content-Length: 10\r\n\r\n"));
  auto cont = c.readResponse(5s);
  REQUIRE(cont);
  CHECK(cont->status == 100);
  REQUIRE(c.send(patternString(0, 10)));
  auto sunk = c.readResponse(5s);
  REQUIRE(sunk);
  CHECK(sunk->status == 200);
  CHECK(jsonInt(sunk->body, "bytes") == 10);
  CHECK(sunk->body.find("\"pattern_ok\":true") != std::string::npos);
  // Exactly one 100: nothing else came, and the connection goes on.
  c.readFor(100ms);
  CHECK(c.pending().empty());
  REQUIRE(c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto next = c.readResponse(5s);
  REQUIRE(next);
  CHECK(next->status == 200);
  CHECK(next->body == "stream upstream: GET /next");
}

TEST_CASE("gateway stream: a refused first try is retried with the kept body", "[gateway]") {
  std::string bad = "127.0.0.1:" + std::to_string(closedPort());
  GatewayStack s({"gateway.retries=1"}, {bad});
  // Small bodies are kept whole: every POST reaches the good member with
  // its body intact, whichever member round robin offered first.
  constexpr int kPosts = 20;
  const std::string body = patternString(0, static_cast<size_t>(4 * kKiB));
  int ok = 0;
  for (int i = 0; i < kPosts; ++i) {
    HttpReply r = httpPost(s.url("/sink"), body);
    INFO(i << ": " << r.status << " " << r.body);
    CHECK(r.status == 200);
    CHECK(jsonInt(r.body, "bytes") == 4 * kKiB);
    CHECK(r.body.find("\"pattern_ok\":true") != std::string::npos);
    if (r.status == 200) ++ok;
  }
  CHECK(ok == kPosts);
  // Each body arrived once, whole: none doubled, none cut.
  CHECK(s.sinkBytes() == kPosts * 4 * kKiB);
  CHECK(jsonInt(s.streamStats(), "exchanges") == kPosts);
  CHECK(s.clientClosedUpstream() == 0);
  double tried_bad = s.memberMetric("redge_gateway_member_requests_total", bad).value_or(0);
  double retries = scrapeMetric(s.gw, "redge_gateway_retries_total{pool=\"web\"}").value_or(0);
  INFO("first tries on the refusing member " << tried_bad << ", retries " << retries);
  CHECK(tried_bad >= kPosts / 2 - 1);
  CHECK(retries == tried_bad);  // every refused try was tried again
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
}

TEST_CASE(
    "gateway stream: a body over 64 KiB whose first try is refused is answered whole or is a "
    "502, never a cut body at the member",
    "[gateway]") {
  std::string bad = "127.0.0.1:" + std::to_string(closedPort());
  GatewayStack s({"gateway.retries=1"}, {bad});
  constexpr int kLarge = 8;
  constexpr int64_t kLargeSize = 1 * kMiB;
  int ok = 0;
  int failed = 0;
  for (int i = 0; i < kLarge; ++i) {
    StreamTransfer t = streamUpload(s.url("/sink"), kLargeSize, false, 30s);
    INFO(i << ": " << t.status << " " << t.error << " " << t.body);
    if (t.status == 200) {
      ++ok;
      CHECK(jsonInt(t.body, "bytes") == kLargeSize);
      CHECK(t.body.find("\"pattern_ok\":true") != std::string::npos);
    } else {
      // The refusal came after more than the kept 64 KiB: no second try.
      ++failed;
      CHECK(t.status == 502);
      CHECK(errorCode(t.body) == "upstream_connect_failed");
    }
  }
  INFO("large POSTs answered " << ok << ", 502 " << failed);
  CHECK(ok + failed == kLarge);
  CHECK(ok >= kLarge / 2 - 1);  // those round robin sent to the good member first
  // The member got exactly the answered bodies, each whole: none cut, none twice.
  CHECK(s.sinkBytes() == ok * kLargeSize);
  CHECK(jsonInt(s.streamStats(), "exchanges") == ok);
  CHECK(s.clientClosedUpstream() == 0);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  const std::string open = "redge_http_connections_open{service=\"gateway\"}";
  CHECK(waitUntil([&] { return scrapeMetric(s.gw, open) == 0; }, 3s));
}

TEST_CASE("gateway stream: a small body whose first connect times out is resent to another member",
          "[gateway]") {
  BlackholeListener hole;
  GatewayStack s({"gateway.retries=1", "gateway.connect_timeout_ms=300"}, {hole.address()});
  const std::string body = patternString(0, static_cast<size_t>(8 * kKiB));
  int slow = 0;
  for (int i = 0; i < 4; ++i) {
    HttpReply r = httpPost(s.url("/sink"), body);
    INFO(i << ": " << r.status << " " << r.body << " after " << r.elapsed.count() << " ms");
    CHECK(r.status == 200);
    CHECK(jsonInt(r.body, "bytes") == 8 * kKiB);
    CHECK(r.body.find("\"pattern_ok\":true") != std::string::npos);
    if (r.elapsed >= 250ms) ++slow;  // waited out the black hole's connect first
  }
  CHECK(slow == 2);  // round robin offers the black hole every other time
  CHECK(s.sinkBytes() == 4 * 8 * kKiB);
  CHECK(jsonInt(s.streamStats(), "exchanges") == 4);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
}

// Every 502 here is answered while the client is paused mid-body: the
// connection must still close (see the case below).
TEST_CASE(
    "gateway stream: a body too large to keep is tried once: a connect that times out after "
    "64 KiB arrived is a 502, and the member sees nothing of it",
    "[gateway]") {
  BlackholeListener hole;
  GatewayStack s({"gateway.retries=1", "gateway.connect_timeout_ms=500"}, {hole.address()});
  int ok = 0;
  int refused = 0;
  // Round robin offers the black hole first to every other request.
  for (int i = 0; i < 4; ++i) {
    auto start = std::chrono::steady_clock::now();
    StreamTransfer t = streamUpload(s.url("/sink"), 1 * kMiB, false, 10s);
    long long took = msSince(start);
    INFO(i << ": " << t.status << " " << t.error << " " << t.body << " after " << took << " ms");
    if (t.status == 200) {
      ++ok;
      CHECK(jsonInt(t.body, "bytes") == 1 * kMiB);
      CHECK(t.body.find("\"pattern_ok\":true") != std::string::npos);
    } else {
      ++refused;
      // The whole megabyte is on its way within the connect wait, so more
      // than the kept 64 KiB came: no second try.
      CHECK(t.status == 502);
      CHECK(errorCode(t.body) == "upstream_connect_failed");
      CHECK(jsonString(t.body, "pool") == "web");
      CHECK(took >= 400);
      CHECK(took < 5000);
    }
  }
  INFO("answered " << ok << ", 502 " << refused);
  CHECK(ok == 2);
  CHECK(refused == 2);
  CHECK(s.sinkBytes() == ok * kMiB);
  CHECK(jsonInt(s.streamStats(), "exchanges") == ok);
  CHECK(s.clientClosedUpstream() == 0);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  // curl has closed its connections: the gateway has none left.
  const std::string open = "redge_http_connections_open{service=\"gateway\"}";
  CHECK(waitUntil([&] { return scrapeMetric(s.gw, open) == 0; }, 3s));
  auto start = std::chrono::steady_clock::now();
  CHECK(s.gw.stop(std::chrono::seconds(15)) == 0);
  CHECK(msSince(start) < 3000);
}

// The error answer goes out with "Connection: close" while the request's
// body is unread and reading paused; the connection must then close (the
// request is over: HttpConnection::endStream), not wait for the rest of a
// request nobody will parse until the SIGTERM drain gives up.
TEST_CASE(
    "gateway stream: an error answered while the client's body is paused closes the connection",
    "[gateway]") {
  BlackholeListener hole;
  TempDir dir;
  RedisServer redis(dir);
  RedgeProcess gw(dir, redis,
                  gatewaySettings(R"([{"prefix": "/", "pool": "web"}])", webPool({hole.address()}),
                                  {"gateway.retries=0", "gateway.connect_timeout_ms=300"}));
  // 8 MiB, more than the gateway and the sockets hold while the connect
  // waits: the gateway stops reading the client (backpressure) before its
  // answer. (The send may still complete: after the answer, the lingering
  // close reads and discards the rest for a moment.)
  RawConnection c(gw.gatewayPort());
  bool all_sent = c.send("POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n" +
                             patternString(0, 8 * kMiB),
                         2s);
  INFO("the client's send " << (all_sent ? "completed" : "stalled"));
  auto r = c.readResponse(5s);
  REQUIRE(r);
  CHECK(r->status == 502);
  CHECK(errorCode(r->body) == "upstream_connect_failed");
  CHECK(r->header("Connection") == "close");
  // The rest of the body will not be read: the gateway closes the
  // connection (a lingering close at most), it does not keep it for ever.
  CHECK(c.waitForClose(3s));
  c.close();
  const std::string open = "redge_http_connections_open{service=\"gateway\"}";
  CHECK(waitUntil([&] { return scrapeMetric(gw, open) == 0; }, 3s));
  INFO("gateway connections open: " << scrapeMetric(gw, open).value_or(-1));
  // SIGTERM drains at once: no connection left to wait for.
  auto start = std::chrono::steady_clock::now();
  CHECK(gw.stop(std::chrono::seconds(15)) == 0);
  CHECK(msSince(start) < 3000);
}

TEST_CASE("gateway stream: a client that reads slowly pauses the member, redge's memory bounded",
          "[gateway]") {
  GatewayStack s;
  REQUIRE(httpGet(s.url("/hello")).status == 200);
  constexpr int64_t kSize = 96 * kMiB;
  RawConnection c(s.gw.gatewayPort());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send("GET /bytes/" + std::to_string(kSize) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  // A client slower than the member: it reads what has come, then looks
  // away, again and again; the gateway has to stop reading the member
  // meanwhile or hold the difference.
  size_t want = 0;
  while (msSince(start) < 60000) {
    c.readFor(10ms);
    size_t end = c.pending().find("\r\n\r\n");
    if (end != std::string::npos) {
      want = end + 4 + static_cast<size_t>(kSize);
      if (c.pending().size() >= want) break;
    }
    if (c.peerClosed()) break;
    std::this_thread::sleep_for(20ms);  // the slowness under test
  }
  REQUIRE(want > 0);
  CHECK(c.pending().size() == want);
  CutResponse r = splitHead(c.pending());
  REQUIRE(r.valid);
  CHECK(r.head.find("Content-Length: " + std::to_string(kSize) + "\r\n") != std::string::npos);
  CHECK(r.body.size() == static_cast<size_t>(kSize));
  CHECK(r.body == patternString(0, static_cast<size_t>(kSize)));
  int64_t peak = peakResidentKib(s.gw.pid());
  INFO("redge VmHWM " << peak << " KiB");
  if (kRssMeaningful) CHECK(peak < kRssLimitKib);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
}

TEST_CASE("gateway stream: 200 GETs ride kept-alive member connections (reuse >= 99%)",
          "[gateway]") {
  GatewayStack s;
  int ok = 0;
  for (int i = 0; i < 200; ++i) {
    HttpReply r = httpGet(s.url("/hello?i=" + std::to_string(i)));
    if (r.status == 200 && r.body == "stream upstream: GET /hello?i=" + std::to_string(i)) ++ok;
  }
  CHECK(ok == 200);
  std::string client = "client=\"gateway/web/" + s.member + "\"";
  std::optional<double> reused = scrapeMetric(
      s.gw, "redge_http_client_connection_reuse_total{" + client + ",connection=\"reused\"}");
  std::optional<double> fresh = scrapeMetric(
      s.gw, "redge_http_client_connection_reuse_total{" + client + ",connection=\"new\"}");
  REQUIRE(reused);
  REQUIRE(fresh);
  INFO("reused " << *reused << ", new " << *fresh);
  CHECK(*reused + *fresh == 200);
  CHECK(*reused * 100 >= (*reused + *fresh) * 99);
}

TEST_CASE("gateway stream: a member that stalls mid-answer gives the client a cut answer in time",
          "[gateway]") {
  GatewayStack s({"gateway.timeout_ms=300"});
  // A slow writer: one 64 KiB piece, then a 10 s silence, far over timeout_ms.
  RawConnection c(s.gw.gatewayPort());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send("GET /bytes/100000?pause_ms=10000&every=10000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(c.waitForClose(5s));
  long long took = msSince(start);
  CutResponse r = splitHead(c.pending());
  REQUIRE(r.valid);
  INFO(r.head);
  CHECK(r.head.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(r.head.find("Content-Length: 100000\r\n") != std::string::npos);
  // Cut: fewer bytes than announced, and those the member's, not an error body.
  CHECK(r.body.size() > 0);
  CHECK(r.body.size() < 100000);
  CHECK(r.body == patternString(0, r.body.size()));
  CHECK(took >= 250);
  CHECK(took < 3000);
  // The member's side of that exchange is closed too, and the gateway serves on.
  CHECK(waitUntil([&] { return s.clientClosedUpstream() == 1; }, 5s));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  HttpReply after = httpGet(s.url("/after"));
  CHECK(after.status == 200);
  CHECK(after.body == "stream upstream: GET /after");
}

TEST_CASE("gateway stream: a client that vanishes mid-body takes the member's exchange with it",
          "[gateway]") {
  GatewayStack s;
  // Mid-upload.
  StreamTransfer up = streamUpload(s.url("/sink"), 256 * kMiB, false, 30s, 4 * kMiB);
  CHECK(up.error != "");
  CHECK(waitUntil([&] { return s.clientClosedUpstream() == 1; }, 5s));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  CHECK(s.sinkBytes() < 256 * kMiB);

  // Mid-download.
  StreamTransfer down = streamDownload(s.url("/bytes/" + std::to_string(kGiB)), 30s, 4 * kMiB);
  CHECK(down.error != "");
  CHECK(down.bytes < kGiB);
  CHECK(waitUntil([&] { return s.clientClosedUpstream() == 2; }, 5s));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));

  // Before the answer: the member has not answered yet.
  {
    RawConnection c(s.gw.gatewayPort());
    REQUIRE(c.send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(waitUntil([&] { return jsonInt(s.streamStats(), "open") == 1; }, 5s));
  }
  CHECK(waitUntil([&] { return s.clientClosedUpstream() == 3; }, 5s));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));

  // The gateway keeps serving, bodies included.
  StreamTransfer again = streamUpload(s.url("/sink"), 8 * kMiB, false, 30s);
  CHECK(again.error == "");
  CHECK(again.status == 200);
  CHECK(jsonInt(again.body, "bytes") == 8 * kMiB);
  CHECK(again.body.find("\"pattern_ok\":true") != std::string::npos);
}

TEST_CASE("gateway stream: HEAD gets the GET's length and no body, and the connection goes on",
          "[gateway]") {
  GatewayStack s;
  RawConnection c(s.gw.gatewayPort());
  REQUIRE(c.send("HEAD /bytes/5000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.readResponse(5s, true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->header("Content-Length") == "5000");
  CHECK(head->body.empty());
  REQUIRE(c.send("GET /bytes/5000 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto get = c.readResponse(5s);
  REQUIRE(get);
  CHECK(get->status == 200);
  CHECK(get->header("Content-Length") == "5000");
  CHECK(get->body == patternString(0, 5000));
  c.readFor(100ms);
  CHECK(c.pending().empty());
  CHECK_FALSE(c.peerClosed());
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
}

TEST_CASE(
    "gateway stream: retries keep the request's shape: Expect gets one 100, chunked stays "
    "chunked, an upgrade still tunnels",
    "[gateway]") {
  std::string bad = "127.0.0.1:" + std::to_string(closedPort());
  GatewayStack s({"gateway.retries=1"}, {bad});
  // Four of each: round robin offers the refusing member first to half.
  for (int i = 0; i < 4; ++i) {
    INFO("round " << i);
    RawConnection c(s.gw.gatewayPort());
    REQUIRE(
        c.send("POST /sink HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               "Content-Length: 3000\r\n\r\n"));
    auto cont = c.readResponse(5s);
    REQUIRE(cont);
    CHECK(cont->status == 100);
    REQUIRE(c.send(patternString(0, 3000)));
    auto sunk = c.readResponse(5s);
    REQUIRE(sunk);
    CHECK(sunk->status == 200);
    CHECK(jsonInt(sunk->body, "bytes") == 3000);
    CHECK(sunk->body.find("\"pattern_ok\":true") != std::string::npos);

    std::string body = patternString(0, 5000);
    REQUIRE(
        c.send("POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "7d0\r\n" +
               body.substr(0, 2000) + "\r\nbb8\r\n" + body.substr(2000) + "\r\n0\r\n\r\n"));
    auto chunked = c.readResponse(5s);
    REQUIRE(chunked);
    CHECK(chunked->status == 200);
    CHECK(jsonInt(chunked->body, "bytes") == 5000);
    CHECK(chunked->body.find("\"pattern_ok\":true") != std::string::npos);
    c.readFor(50ms);
    CHECK(c.pending().empty());  // no second 100, nothing else

    RawConnection t(s.gw.gatewayPort());
    auto head = requestUpgrade(t);
    REQUIRE(head);
    CHECK(head->status == 101);
    REQUIRE(t.send("echo me"));
    CHECK(t.readUntil("echo me", 5s));
  }
  CHECK(s.memberMetric("redge_gateway_member_requests_total", bad).value_or(0) >= 4);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
}

TEST_CASE(
    "gateway stream: a chunked body over gateway.max_body_bytes is a 413, and the member's "
    "exchange is closed, not answered",
    "[gateway]") {
  GatewayStack s({"gateway.max_body_bytes=1048576"});
  // Its length known: refused before a byte goes to the member.
  StreamTransfer known = streamUpload(s.url("/sink"), 2 * kMiB, false, 10s);
  CHECK(known.status == 413);
  CHECK(errorCode(known.body) == "body_too_large");
  CHECK(jsonInt(s.streamStats(), "exchanges") == 0);
  // Chunked: found out midway, when the member has part of it.
  StreamTransfer chunked = streamUpload(s.url("/sink"), 4 * kMiB, true, 10s);
  INFO(chunked.status << " " << chunked.error << " " << chunked.body);
  CHECK(chunked.status == 413);
  CHECK(errorCode(chunked.body) == "body_too_large");
  CHECK(waitUntil([&] { return s.clientClosedUpstream() == 1; }, 5s));
  CHECK(s.sinkBytes() <= 1 * kMiB);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  // Within the limit it passes.
  StreamTransfer fits = streamUpload(s.url("/sink"), 1 * kMiB, true, 10s);
  CHECK(fits.status == 200);
  CHECK(jsonInt(fits.body, "bytes") == 1 * kMiB);
}

TEST_CASE("gateway stream: pipelined requests wait for the exchange before them, in order",
          "[gateway]") {
  GatewayStack s;
  RawConnection c(s.gw.gatewayPort());
  REQUIRE(
      c.send("GET /delay/200 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /first-after HTTP/1.1\r\nHost: x\r\n\r\n"
             "POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n" +
             patternString(0, 5) + "GET /last HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto a = c.readResponse(5s);
  auto b = c.readResponse(5s);
  auto d = c.readResponse(5s);
  auto e = c.readResponse(5s);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(d);
  REQUIRE(e);
  CHECK(a->body == "delayed");
  CHECK(b->body == "stream upstream: GET /first-after");
  CHECK(jsonInt(d->body, "bytes") == 5);
  CHECK(e->body == "stream upstream: GET /last");

  // HTTP/1.0 knows no chunks: a chunked answer ends with the connection.
  RawConnection old(s.gw.gatewayPort());
  REQUIRE(old.send("GET /bytes/100000?chunked=1 HTTP/1.0\r\nHost: x\r\n\r\n"));
  REQUIRE(old.waitForClose(10s));
  std::string wire = old.pending();
  auto r = takeResponse(wire, false, true);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK_FALSE(r->hasHeader("Transfer-Encoding"));
  CHECK(r->body == patternString(0, 100000));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
}

// timeout_ms bounds each silence, as nginx's proxy_read_timeout and
// proxy_send_timeout do: while the member takes request bytes, however
// slowly, it is not silent (the client connection checks the bytes the
// kernel still holds unsent when the deadline fires, since a queued write
// completes only once the send buffer has room for all of it); once the
// member's kernel has the whole request, its answer is due within
// timeout_ms. On loopback the socket buffers swallow a 4 MiB body at once,
// so a member that reads it in 1.2 s needs a timeout above that.
TEST_CASE("gateway stream: a slow but steady member reader is not a timeout", "[gateway]") {
  GatewayStack s({"gateway.timeout_ms=2500"});
  // Pauses of 150 ms every 512 KiB, each well within timeout_ms, 1.2 s in all.
  auto start = std::chrono::steady_clock::now();
  StreamTransfer up = streamUpload(s.url("/sink?pause_ms=150&every=524288"), 4 * kMiB, false, 20s);
  INFO(up.status << " " << up.error << " " << up.body << " after " << msSince(start) << " ms");
  CHECK(msSince(start) >= 1000);
  CHECK(up.error == "");
  CHECK(up.status == 200);
  CHECK(jsonInt(up.body, "bytes") == 4 * kMiB);
  CHECK(up.body.find("\"pattern_ok\":true") != std::string::npos);
  CHECK(waitUntil([&] { return s.settled(); }, 10s));
}

// The 504 is answered while the client is paused mid-body (see above).
TEST_CASE(
    "gateway stream: a member that stops reading mid-upload is a 504 in time, and the client's "
    "connection does not stay",
    "[gateway]") {
  GatewayStack s({"gateway.timeout_ms=400"});
  auto start = std::chrono::steady_clock::now();
  // The member reads 16 MiB, then nothing for 2 s (then it reads what the
  // sockets still hold, less than 16 MiB, and finds the gateway gone).
  StreamTransfer up =
      streamUpload(s.url("/sink?pause_ms=2000&every=16777216"), 64 * kMiB, false, 10s);
  long long took = msSince(start);
  INFO(up.status << " " << up.error << " " << up.body << " after " << took << " ms");
  CHECK(up.status == 504);
  CHECK(errorCode(up.body) == "upstream_timeout");
  CHECK(took < 5000);
  INFO("member " << s.streamStats());
  // The member's side is closed too (seen once it reads again).
  CHECK(waitUntil([&] { return s.clientClosedUpstream() == 1; }, 8s));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  CHECK(httpGet(s.url("/after")).status == 200);
  const std::string open = "redge_http_connections_open{service=\"gateway\"}";
  CHECK(waitUntil([&] { return scrapeMetric(s.gw, open) == 0; }, 3s));
  auto stop_start = std::chrono::steady_clock::now();
  CHECK(s.gw.stop(std::chrono::seconds(15)) == 0);
  CHECK(msSince(stop_start) < 3000);
}
