// Streamed exchanges end to end, through build/stream_forwarder (an
// HttpServer in streaming mode joined to an HttpClientPool stream) in front
// of fake_upstream's streaming listener, driven by libcurl and raw sockets:
// gigabyte bodies both ways with the forwarder's memory bounded, chunked in
// and out, HEAD, 1xx, a WebSocket-style tunnel, clients that vanish,
// upstreams that reset, the connect and first-byte deadlines, keep-alive
// reuse and idle upstream connections closed. Every wait is bounded; every
// test ends with the forwarder stopping cleanly (exit 0: no exchange and no
// handle left behind).

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "support/fake_upstream_process.hpp"
#include "support/http_client.hpp"
#include "support/json_fields.hpp"
#include "support/loopback_peers.hpp"
#include "support/process_stats.hpp"
#include "support/raw_connection.hpp"
#include "support/stream_forwarder_process.hpp"
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
constexpr int64_t kRssLimitKib = 32 * 1024;
#if defined(__SANITIZE_ADDRESS__)
// ASan keeps freed memory in its quarantine (256 MiB) and adds shadow
// memory: a sanitized forwarder's RSS says nothing about its buffers.
constexpr bool kRssMeaningful = false;
#else
constexpr bool kRssMeaningful = true;
#endif

struct ProxyStack {
  explicit ProxyStack(std::vector<std::string> flags = {})
      : upstream(dir, {"--stream-port", "0"}),
        forwarder(dir, upstream.streamPort(), std::move(flags)) {}

  std::string url(const std::string& target) const { return forwarder.url(target); }
  // No exchange alive in the forwarder, none open upstream.
  bool settled() const {
    ForwarderStats s = forwarder.stats();
    return s.valid && s.live == 0 && jsonInt(upstream.streamStats(), "open") == 0;
  }
  int64_t clientClosedUpstream() const {
    return jsonInt(upstream.streamStats(), "client_closed").value_or(-1);
  }

  TempDir dir;
  FakeUpstreamProcess upstream;
  StreamForwarderProcess forwarder;
};

}  // namespace

TEST_CASE("stream proxy: a 1 GiB download passes with the forwarder's peak RSS under 32 MiB",
          "[stream_proxy][large]") {
  ProxyStack s;
  StreamTransfer t = streamDownload(s.url("/bytes/" + std::to_string(kGiB)), 180s);
  CHECK(t.error == "");
  CHECK(t.status == 200);
  CHECK(t.header("Content-Length") == std::to_string(kGiB));
  CHECK(t.bytes == kGiB);
  CHECK(t.pattern_ok);
  int64_t peak = peakResidentKib(s.forwarder.pid());
  INFO("forwarder VmHWM " << peak << " KiB");
  CHECK(peak > 0);
  if (kRssMeaningful) CHECK(peak < kRssLimitKib);
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE("stream proxy: a 1 GiB upload passes with the forwarder's peak RSS under 32 MiB",
          "[stream_proxy][large]") {
  ProxyStack s;
  StreamTransfer t = streamUpload(s.url("/sink"), kGiB, false, 180s);
  CHECK(t.error == "");
  CHECK(t.status == 200);
  CHECK(jsonInt(t.body, "bytes") == kGiB);
  CHECK(t.body.find("\"pattern_ok\":true") != std::string::npos);
  int64_t peak = peakResidentKib(s.forwarder.pid());
  INFO("forwarder VmHWM " << peak << " KiB");
  CHECK(peak > 0);
  if (kRssMeaningful) CHECK(peak < kRssLimitKib);
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE("stream proxy: chunked bodies both ways, and HTTP/1.0 gets a close-delimited answer",
          "[stream_proxy]") {
  ProxyStack s;
  // A chunked upload arrives whole.
  StreamTransfer up = streamUpload(s.url("/sink"), 64 * kMiB, true, 60s);
  CHECK(up.error == "");
  CHECK(up.status == 200);
  CHECK(jsonInt(up.body, "bytes") == 64 * kMiB);
  CHECK(up.body.find("\"pattern_ok\":true") != std::string::npos);

  // A chunked answer stays chunked to an HTTP/1.1 client.
  StreamTransfer down =
      streamDownload(s.url("/bytes/" + std::to_string(64 * kMiB) + "?chunked=1"), 60s);
  CHECK(down.error == "");
  CHECK(down.header("Transfer-Encoding") == "chunked");
  CHECK(down.header("Content-Length") == "");
  CHECK(down.bytes == 64 * kMiB);
  CHECK(down.pattern_ok);

  // Both at once: a chunked echo streams back while it streams in.
  StreamTransfer echo = streamUpload(s.url("/echo"), 16 * kMiB, true, 60s);
  CHECK(echo.error == "");
  CHECK(echo.status == 200);
  CHECK(echo.bytes == 16 * kMiB);
  CHECK(echo.pattern_ok);

  // HTTP/1.0 knows no chunks: the body ends with the connection.
  RawConnection c(s.forwarder.port());
  REQUIRE(c.send("GET /bytes/100000?chunked=1 HTTP/1.0\r\nHost: x\r\n\r\n"));
  REQUIRE(c.waitForClose(10s));
  std::string wire = c.pending();
  auto r = takeResponse(wire, false, true);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK_FALSE(r->hasHeader("Transfer-Encoding"));
  CHECK(r->header("Connection") == "close");
  CHECK(r->body == patternString(0, 100000));
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE(
    "stream proxy: HEAD gets the head with its length and no body, and the connection goes on",
    "[stream_proxy]") {
  ProxyStack s;
  RawConnection c(s.forwarder.port());
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
  CHECK(get->body == patternString(0, 5000));
  CHECK(c.pending().empty());
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE("stream proxy: interim answers pass on: 103 before the answer, 100 for Expect",
          "[stream_proxy]") {
  ProxyStack s;
  RawConnection c(s.forwarder.port());
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
  // One 100 only, though both the forwarder and the upstream said it.
  CHECK(c.pending().empty());
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE("stream proxy: an upgrade becomes a tunnel both ways, with backpressure",
          "[stream_proxy]") {
  ProxyStack s;
  RawConnection c(s.forwarder.port());
  auto head = requestUpgrade(c, "/upgrade", "Sec-WebSocket-Version: 13\r\n");
  REQUIRE(head);
  CHECK(head->status == 101);
  CHECK(head->header("Upgrade") == "websocket");
  CHECK(equalsIgnoreCase(head->header("Connection"), "upgrade"));

  REQUIRE(c.send("ping through the tunnel"));
  REQUIRE(c.readUntil("ping through the tunnel", 5s));
  CHECK(c.pending() == "ping through the tunnel");

  // Eight megabytes each way: more than every buffer on the path, so both
  // directions have to stop and go.
  std::string big = patternString(0, static_cast<size_t>(8 * kMiB));
  RawConnection d(s.forwarder.port());
  REQUIRE(requestUpgrade(d));
  REQUIRE(sendThroughTunnel(d, big));
  CHECK(d.pending().size() == big.size());
  CHECK(d.pending() == big);

  // The client leaves: the tunnel closes on both sides.
  int64_t closed_before = s.clientClosedUpstream();
  c.close();
  d.close();
  CHECK(waitUntil([&] { return s.clientClosedUpstream() >= closed_before + 2; }, 5s));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE("stream proxy: a client that vanishes mid-body takes the upstream exchange with it",
          "[stream_proxy]") {
  ProxyStack s;
  // Mid-upload.
  StreamTransfer up = streamUpload(s.url("/sink"), 256 * kMiB, false, 30s, 4 * kMiB);
  CHECK(up.error != "");
  CHECK(waitUntil([&] { return s.clientClosedUpstream() == 1; }, 5s));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));

  // Mid-download.
  StreamTransfer down = streamDownload(s.url("/bytes/" + std::to_string(kGiB)), 30s, 4 * kMiB);
  CHECK(down.error != "");
  CHECK(down.bytes < kGiB);
  CHECK(waitUntil([&] { return s.clientClosedUpstream() == 2; }, 5s));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  // The aborted exchanges' upstream connections were closed, not kept.
  ForwarderStats st = s.forwarder.stats();
  CHECK(st.upstream_idle == 0);

  // Before any answer: the client leaves while the upstream has not answered.
  {
    RawConnection c(s.forwarder.port());
    REQUIRE(c.send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(waitUntil([&] { return jsonInt(s.upstream.streamStats(), "open") == 1; }, 5s));
  }
  CHECK(waitUntil([&] { return s.clientClosedUpstream() == 3; }, 5s));
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE(
    "stream proxy: an upstream reset before the head is a 502 naming it, and after the head "
    "the client sees a cut answer",
    "[stream_proxy]") {
  ProxyStack s;
  HttpReply before = httpGet(s.url("/reset-before-head"));
  CHECK(before.status == 502);
  CHECK(errorCode(before.body) == "upstream_reset");
  CHECK(jsonString(before.body, "message") ==
        std::string("The upstream closed the connection before answering."));

  StreamTransfer after = streamDownload(s.url("/reset-after-head"), 10s);
  CHECK(after.status == 200);
  CHECK(after.header("Content-Length") == "100000");
  CHECK(after.error != "");  // a cut, not a complete answer
  CHECK(after.bytes < 100000);
  CHECK(after.pattern_ok);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE("stream proxy: the connect deadline", "[stream_proxy]") {
  TempDir dir;
  BlackholeListener hole;
  StreamForwarderProcess forwarder(dir, hole.port(), {"--connect-timeout-ms", "300"});
  auto start = std::chrono::steady_clock::now();
  HttpReply r = httpGet(forwarder.url("/"), {}, 5000ms);
  long long took = msSince(start);
  CHECK(r.status == 504);
  CHECK(errorCode(r.body) == "upstream_timeout");
  CHECK(took >= 250);
  CHECK(took < 3000);
  CHECK(forwarder.stop() == 0);
}

TEST_CASE("stream proxy: the first-byte deadline, and a slow but steady answer within it",
          "[stream_proxy]") {
  ProxyStack s({"--response-timeout-ms", "400"});
  auto start = std::chrono::steady_clock::now();
  HttpReply hang = httpGet(s.url("/hang"), {}, 5000ms);
  long long took = msSince(start);
  CHECK(hang.status == 504);
  CHECK(errorCode(hang.body) == "upstream_timeout");
  CHECK(took >= 350);
  CHECK(took < 3000);

  HttpReply delayed = httpGet(s.url("/delay/100"));
  CHECK(delayed.status == 200);
  CHECK(delayed.body == "delayed");

  // A slow writer: 150 ms pauses, each shorter than the deadline, over more
  // time than the deadline in all.
  StreamTransfer slow = streamDownload(s.url("/bytes/2097152?pause_ms=150&every=262144"), 20s);
  CHECK(slow.error == "");
  CHECK(slow.bytes == 2 * kMiB);
  CHECK(slow.pattern_ok);
  CHECK(waitUntil([&] { return s.settled(); }, 5s));
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE("stream proxy: a slow reading upstream slows the upload, nothing is lost",
          "[stream_proxy]") {
  ProxyStack s;
  StreamTransfer up = streamUpload(s.url("/sink?pause_ms=30&every=1048576"), 16 * kMiB, false, 60s);
  CHECK(up.error == "");
  CHECK(jsonInt(up.body, "bytes") == 16 * kMiB);
  CHECK(up.body.find("\"pattern_ok\":true") != std::string::npos);
  if (kRssMeaningful) CHECK(peakResidentKib(s.forwarder.pid()) < kRssLimitKib);
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE("stream proxy: 200 requests ride one kept-alive upstream connection (reuse >= 99%)",
          "[stream_proxy]") {
  ProxyStack s;
  int ok = 0;
  for (int i = 0; i < 200; ++i) {
    HttpReply r = httpGet(s.url("/hello?i=" + std::to_string(i)));
    if (r.status == 200 && r.body == "stream upstream: GET /hello?i=" + std::to_string(i)) ++ok;
  }
  CHECK(ok == 200);
  ForwarderStats st = s.forwarder.stats();
  REQUIRE(st.valid);
  CHECK(st.fresh == 1);
  CHECK(st.reused == 199);
  CHECK(st.reused * 100 >= (st.reused + st.fresh) * 99);
  CHECK(st.upstream_open == 1);
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE("stream proxy: idle upstream connections are closed after the pool's idle timeout",
          "[stream_proxy]") {
  ProxyStack s({"--pool-idle-ms", "200"});
  HttpReply r = httpGet(s.url("/hello"));
  CHECK(r.status == 200);
  CHECK(s.forwarder.stats().upstream_idle == 1);
  CHECK(waitUntil([&] { return s.forwarder.stats().upstream_open == 0; }, 3s));
  // The next request opens a new one.
  HttpReply again = httpGet(s.url("/hello"));
  CHECK(again.status == 200);
  ForwarderStats st = s.forwarder.stats();
  CHECK(st.fresh == 2);
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE("stream proxy: pipelined requests wait for the exchange before them, in order",
          "[stream_proxy]") {
  ProxyStack s;
  RawConnection c(s.forwarder.port());
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
  CHECK(s.forwarder.stop() == 0);
}

TEST_CASE(
    "stream proxy: the listener's limits hold in streaming mode: head size and deadline, "
    "idle timeout, connection limit, and a stop with an exchange in flight leaks nothing",
    "[stream_proxy]") {
  ProxyStack s({"--max-header-bytes", "2048", "--header-timeout-ms", "300", "--idle-timeout-ms",
                "400", "--max-connections", "2"});
  {
    RawConnection c(s.forwarder.port());
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n"));
    auto r = c.readResponse(5s);
    REQUIRE(r);
    CHECK(r->status == 431);
  }
  {
    RawConnection c(s.forwarder.port());
    REQUIRE(c.send("GET / HTTP/1.1\r\nHost: x\r\n"));  // and nothing more
    auto r = c.readResponse(5s);
    REQUIRE(r);
    CHECK(r->status == 408);
  }
  {
    // Kept alive after its exchange, then closed once idle.
    RawConnection c(s.forwarder.port());
    REQUIRE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.readResponse(5s);
    REQUIRE(r);
    CHECK(r->status == 200);
    auto start = std::chrono::steady_clock::now();
    CHECK(c.waitForClose(5s));
    CHECK(msSince(start) >= 300);
  }
  {
    // Two connections are served, a third is refused.
    RawConnection a(s.forwarder.port());
    RawConnection b(s.forwarder.port());
    REQUIRE(a.send("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(b.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    REQUIRE(b.readResponse(5s));
    REQUIRE(waitUntil([&] { return jsonInt(s.upstream.streamStats(), "open") == 1; }, 5s));
    RawConnection c(s.forwarder.port());
    auto refused = c.readResponse(5s);
    REQUIRE(refused);
    CHECK(refused->status == 503);
    CHECK(errorCode(refused->body) == "too_many_connections");
  }
  CHECK(waitUntil([&] { return s.settled(); }, 5s));

  // SIGTERM while an exchange waits for its answer: it is closed with the
  // rest (the forwarder's stop is a close, not a drain), and nothing leaks.
  RawConnection d(s.forwarder.port());
  REQUIRE(d.send("GET /delay/300 HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(waitUntil([&] { return jsonInt(s.upstream.streamStats(), "open") == 1; }, 5s));
  CHECK(s.forwarder.stop() == 0);
  CHECK(d.waitForClose(5s));
}
