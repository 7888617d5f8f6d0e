// The streamed exchange's two halves on one loop: HttpClientPool::stream()
// against an HttpServer in streaming mode (both redge's, on a free port),
// for what a forwarder relies on and a proxy test cannot see from outside:
// which error a failure is and whether a response byte had come, interim
// answers, pause and resume, the keep-alive race, onClosed exactly once,
// drain, the body deadline while streaming, reuse counters. Every test ends
// with every handle closed and uv_loop_close() == 0.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/http/http_client.hpp"
#include "net/http/http_server.hpp"
#include "support/loop_fixture.hpp"
#include "support/loopback_peers.hpp"
#include "support/stream_pattern.hpp"

using namespace redge;

namespace {

constexpr size_t kPiece = 64 << 10;

std::string pattern(uint64_t offset, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = redge_test::patternByte(offset + i);
  return s;
}

// What the client side of one streamed exchange saw.
struct ClientSide final : HttpClientStreamHandler {
  HttpClientStream stream{*this};
  std::vector<int> interims;
  int status = 0;
  int64_t content_length = -2;
  std::string body;
  bool ended = false;
  std::optional<HttpClientFailure> failure;
  int calls_after_end = 0;
  std::function<void(ClientSide&)> on_data;  // after each piece
  std::function<void(ClientSide&)> on_drained;

  bool done() const { return ended || failure.has_value(); }
  void onInterim(const HttpClientResponseHead& head) override {
    if (done()) ++calls_after_end;
    interims.push_back(head.status);
  }
  void onResponseHead(const HttpClientResponseHead& head) override {
    if (done()) ++calls_after_end;
    status = head.status;
    content_length = head.content_length;
  }
  void onResponseData(std::string_view data) override {
    if (done()) ++calls_after_end;
    body.append(data);
    if (on_data) on_data(*this);
  }
  void onResponseEnd() override {
    if (done()) ++calls_after_end;
    ended = true;
  }
  void onRequestDrained() override {
    if (on_drained) on_drained(*this);
  }
  void onError(const HttpClientFailure& f) override {
    if (done()) ++calls_after_end;
    failure = f;
  }
};

// What the server side of one exchange saw; the test decides what it does.
struct ServerSide final : HttpStreamHandler {
  HttpExchange exchange;
  std::string body;
  bool request_ended = false;
  int closed = 0;
  int calls_after_closed = 0;
  std::function<void(ServerSide&)> on_end;
  std::function<void(ServerSide&)> on_data;
  std::function<void(ServerSide&)> on_drained;

  void onRequestData(std::string_view data) override {
    if (closed) ++calls_after_closed;
    body.append(data);
    if (on_data) on_data(*this);
  }
  void onRequestEnd() override {
    if (closed) ++calls_after_closed;
    request_ended = true;
    if (on_end) on_end(*this);
  }
  void onResponseDrained() override {
    if (closed) ++calls_after_closed;
    if (on_drained) on_drained(*this);
  }
  void onClosed() override {
    if (closed) ++calls_after_closed;
    ++closed;
  }
};

class StreamFixture {
 public:
  explicit StreamFixture(HttpServerOptions o = {}) {
    o.service = "stream_upstream";
    o.port = 0;
    server_ = std::make_unique<HttpServer>(rt_.runtime(), o);
    server_->streamAll("all", [this](HttpRequest& request, const HttpExchange& exchange) {
      auto side = std::make_unique<ServerSide>();
      side->exchange = exchange;
      exchange.attach(side.get());
      ServerSide& s = *side;
      sides_.push_back(std::move(side));
      last_target_ = request.target();
      if (on_request_) on_request_(s, request);
    });
  }
  ~StreamFixture() {
    if (!closed_) closeAll();
  }

  // What each request's server side does once its head is in.
  void onRequest(std::function<void(ServerSide&, HttpRequest&)> f) { on_request_ = std::move(f); }
  int listen() { return server_->listen(); }
  HttpServer& server() { return *server_; }
  HttpClientPool& pool(int port = -1, int64_t idle_timeout_ms = 30000) {
    HttpClientPoolOptions po;
    po.name = "stream_test";
    po.host = "127.0.0.1";
    po.port = port >= 0 ? port : server_->port();
    po.idle_timeout_ms = idle_timeout_ms;
    pool_ = std::make_unique<HttpClientPool>(rt_.loop(), rt_.metrics(), po);
    return *pool_;
  }
  ServerSide& side(size_t i) { return *sides_.at(i); }
  size_t sides() const { return sides_.size(); }
  uv_loop_t* loop() { return rt_.loop(); }

  void runUntil(const std::function<bool()>& done, uint64_t limit_ms = 5000) {
    rt_.runUntil(done, limit_ms);
  }
  void runFor(uint64_t ms) {
    bool fired = false;
    TimerPtr t = rt_.runtime().timers.createTimer([&] { fired = true; });
    t->enable(static_cast<int64_t>(ms));
    runUntil([&] { return fired; }, ms + 1000);
  }
  // Starts a GET (or any bodiless request) and ends it.
  void get(ClientSide& c, std::string_view target, HttpClientStreamRequest r = {}) {
    r.target = target;
    REQUIRE(pool_->stream(r, c.stream) == HttpClientError::None);
    c.stream.endRequest();
  }
  int closeAll() {
    closed_ = true;
    if (pool_) pool_->close();
    server_->close();
    uv_run(rt_.loop(), UV_RUN_DEFAULT);
    pool_.reset();
    server_.reset();
    sides_.clear();
    return rt_.closeLoop();
  }

 private:
  redge_test::LoopRuntime rt_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpClientPool> pool_;
  std::vector<std::unique_ptr<ServerSide>> sides_;
  std::function<void(ServerSide&, HttpRequest&)> on_request_;
  std::string last_target_;
  bool closed_ = false;
};

void answer(ServerSide& s, int status, std::string_view body) {
  s.exchange.respond(HttpResponse(status, "text/plain", body));
}

}  // namespace

TEST_CASE("stream client: a connect that hangs is ConnectTimeout, with no response byte",
          "[http_stream]") {
  StreamFixture f;
  redge_test::BlackholeListener hole;
  HttpClientPool& pool = f.pool(hole.port());
  ClientSide c;
  HttpClientStreamRequest r;
  r.connect_timeout_ms = 200;
  uint64_t start = uv_now(f.loop());
  f.get(c, "/", r);
  f.runUntil([&] { return c.done(); });
  REQUIRE(c.failure);
  CHECK(c.failure->error == HttpClientError::ConnectTimeout);
  CHECK_FALSE(c.failure->response_started);
  CHECK(uv_now(f.loop()) - start >= 190);
  f.runUntil([&] { return pool.openConnections() == 0; });
  CHECK(pool.openConnections() == 0);
  CHECK(c.calls_after_end == 0);
  CHECK(f.closeAll() == 0);
}

TEST_CASE("stream client: a refused connect is Connect", "[http_stream]") {
  StreamFixture f;
  REQUIRE(f.listen() == 0);
  int port = f.server().port();
  f.server().close();
  HttpClientPool& pool = f.pool(port);
  ClientSide c;
  f.get(c, "/");
  f.runUntil([&] { return c.done(); });
  REQUIRE(c.failure);
  CHECK(c.failure->error == HttpClientError::Connect);
  CHECK_FALSE(c.failure->response_started);
  (void)pool;
  CHECK(f.closeAll() == 0);
}

TEST_CASE(
    "stream client: no first byte in time is Timeout, and the server side hears onClosed once",
    "[http_stream]") {
  StreamFixture f;
  REQUIRE(f.listen() == 0);
  f.pool();
  ClientSide c;
  HttpClientStreamRequest r;
  r.response_timeout_ms = 200;
  f.get(c, "/never", r);
  f.runUntil([&] { return c.done(); });
  REQUIRE(c.failure);
  CHECK(c.failure->error == HttpClientError::Timeout);
  CHECK_FALSE(c.failure->response_started);
  f.runUntil([&] { return f.sides() == 1 && f.side(0).closed == 1; });
  REQUIRE(f.sides() == 1);
  CHECK(f.side(0).request_ended);
  CHECK(f.side(0).closed == 1);
  f.runFor(50);
  CHECK(f.side(0).calls_after_closed == 0);
  CHECK(f.closeAll() == 0);
}

TEST_CASE("stream client: a reset before the head has no response byte, and after the head it has",
          "[http_stream]") {
  StreamFixture f;
  f.onRequest([](ServerSide& s, HttpRequest& request) {
    if (request.path() == "/before") {
      s.on_end = [](ServerSide& side) { side.exchange.abort(); };
    } else {
      s.on_end = [](ServerSide& side) {
        HttpStreamHead head;
        head.content_length = 1000;
        side.exchange.writeHead(head);
        side.exchange.writeBody("partial");
      };
    }
  });
  REQUIRE(f.listen() == 0);
  f.pool();
  ClientSide before;
  f.get(before, "/before");
  f.runUntil([&] { return before.done(); });
  REQUIRE(before.failure);
  CHECK(before.failure->error == HttpClientError::Reset);
  CHECK_FALSE(before.failure->response_started);
  CHECK(before.status == 0);

  ClientSide after;
  f.get(after, "/after");
  f.runUntil([&] { return after.body == "partial"; });
  CHECK(after.status == 200);
  CHECK(after.content_length == 1000);
  f.side(1).exchange.abort();
  f.runUntil([&] { return after.done(); });
  REQUIRE(after.failure);
  CHECK(after.failure->error == HttpClientError::Reset);
  CHECK(after.failure->response_started);
  CHECK(before.calls_after_end + after.calls_after_end == 0);
  CHECK(f.closeAll() == 0);
}

TEST_CASE("stream client: 100 and 103 arrive as interim answers before the head", "[http_stream]") {
  StreamFixture f;
  f.onRequest([](ServerSide& s, HttpRequest&) {
    s.on_end = [](ServerSide& side) {
      side.exchange.writeInterim(103, {{"Link", "</a.css>; rel=preload"}});
      answer(side, 200, side.body);
    };
  });
  REQUIRE(f.listen() == 0);
  f.pool();
  ClientSide c;
  HttpClientStreamRequest r;
  r.method = "POST";
  r.target = "/hints";
  r.headers = {{"Expect", "100-continue"}};
  r.content_length = 5;
  REQUIRE(f.pool().stream(r, c.stream) == HttpClientError::None);
  c.stream.writeBody("hello");
  c.stream.endRequest();
  f.runUntil([&] { return c.done(); });
  CHECK(c.ended);
  CHECK(c.interims == std::vector<int>{100, 103});
  CHECK(c.status == 200);
  CHECK(c.body == "hello");
  CHECK(f.closeAll() == 0);
}

TEST_CASE(
    "stream client: a paused response delivers nothing more until resumed, and the "
    "upstream is held back meanwhile",
    "[http_stream]") {
  StreamFixture f;
  const size_t total = 32u << 20;  // more than the socket buffers on the way
  size_t sent = 0;
  auto pump = [&](ServerSide& side) {
    while (sent < total && side.exchange.wantsMore()) {
      side.exchange.writeBody(pattern(sent, kPiece));
      sent += kPiece;
    }
    if (sent >= total) side.exchange.end();
  };
  f.onRequest([&](ServerSide& s, HttpRequest&) {
    s.on_end = [&](ServerSide& side) {
      HttpStreamHead head;
      head.content_length = static_cast<int64_t>(total);
      side.exchange.writeHead(head);
      pump(side);
    };
    s.on_drained = pump;
  });
  REQUIRE(f.listen() == 0);
  f.pool();
  ClientSide c;
  bool paused = false;
  c.on_data = [&](ClientSide& cs) {
    if (!paused && cs.body.size() >= kPiece) {
      paused = true;
      cs.stream.pauseResponse();
    }
  };
  f.get(c, "/big");
  f.runUntil([&] { return paused; });
  REQUIRE(paused);
  size_t at_pause = c.body.size();
  f.runFor(200);
  CHECK(c.body.size() == at_pause);
  CHECK(sent < total);
  c.stream.resumeResponse();
  f.runUntil([&] { return c.done(); }, 20000);
  CHECK(c.ended);
  CHECK(c.body.size() == total);
  CHECK(c.body == pattern(0, total));
  CHECK(f.closeAll() == 0);
}

TEST_CASE(
    "stream client: a request that meets the keep-alive race is sent again on a fresh "
    "connection while the pool still has all of it",
    "[http_stream]") {
  StreamFixture f;
  // The second request overall finds its (kept-alive) connection closed
  // without an answer, as when the upstream's keep-alive timeout wins the
  // race; every other one is answered with what it carried.
  int seen = 0;
  f.onRequest([&](ServerSide& s, HttpRequest& request) {
    int n = ++seen;
    std::string target = request.target();
    s.on_end = [n, target](ServerSide& side) {
      if (n == 2 || n == 5) {
        side.exchange.abort();
      } else {
        answer(side, 200, target + " " + std::to_string(side.body.size()));
      }
    };
  });
  REQUIRE(f.listen() == 0);
  HttpClientPool& pool = f.pool();
  ClientSide first;
  f.get(first, "/one");
  f.runUntil([&] { return first.done(); });
  CHECK(first.body == "/one 0");

  // A GET: sent again, and answered.
  ClientSide second;
  f.get(second, "/two");
  f.runUntil([&] { return second.done(); });
  CHECK(second.ended);
  CHECK(second.body == "/two 0");
  CHECK(pool.newConnectionRequests() == 2);
  CHECK(pool.reusedRequests() == 1);

  // A small POST on a kept-alive connection: all of it kept, sent again.
  ClientSide small;
  HttpClientStreamRequest r;
  r.method = "POST";
  r.content_length = 1000;
  r.target = "/small";
  REQUIRE(pool.stream(r, small.stream) == HttpClientError::None);
  small.stream.writeBody(pattern(0, 1000));
  small.stream.endRequest();
  f.runUntil([&] { return small.done(); });
  CHECK(small.ended);
  CHECK(small.body == "/small 1000");

  // Past kReplayBytes the request cannot be sent again: the caller hears
  // that no byte came, on a reused connection, and decides.
  ClientSide big;
  r.target = "/big";
  r.content_length = static_cast<int64_t>(HttpClientPool::kReplayBytes) + 1;
  REQUIRE(pool.stream(r, big.stream) == HttpClientError::None);
  big.stream.writeBody(pattern(0, HttpClientPool::kReplayBytes + 1));
  big.stream.endRequest();
  f.runUntil([&] { return big.done(); });
  REQUIRE(big.failure);
  CHECK(big.failure->error == HttpClientError::Reset);
  CHECK_FALSE(big.failure->response_started);
  CHECK(big.failure->reused_connection);
  CHECK(f.closeAll() == 0);
}

TEST_CASE("stream server: a client gone mid-body is onClosed once, and nothing after",
          "[http_stream]") {
  StreamFixture f;
  REQUIRE(f.listen() == 0);
  f.pool();
  ClientSide c;
  HttpClientStreamRequest r;
  r.method = "POST";
  r.target = "/upload";
  r.content_length = 10 << 20;
  REQUIRE(f.pool().stream(r, c.stream) == HttpClientError::None);
  c.stream.writeBody(pattern(0, 100000));
  f.runUntil([&] { return f.sides() == 1 && f.side(0).body.size() == 100000; });
  REQUIRE(f.sides() == 1);
  c.stream.abort();
  f.runUntil([&] { return f.side(0).closed == 1; });
  f.runFor(50);
  CHECK(f.side(0).closed == 1);
  CHECK_FALSE(f.side(0).request_ended);
  CHECK(f.side(0).calls_after_closed == 0);
  CHECK_FALSE(f.side(0).exchange.alive());
  CHECK(c.calls_after_end == 0);
  CHECK_FALSE(c.done());  // aborted by its owner: no callback
  CHECK(f.closeAll() == 0);
}

TEST_CASE("stream server: drain waits for the exchange in flight, whose answer closes",
          "[http_stream]") {
  StreamFixture f;
  REQUIRE(f.listen() == 0);
  f.pool();
  ClientSide c;
  f.get(c, "/slow");
  f.runUntil([&] { return f.sides() == 1 && f.side(0).request_ended; });
  REQUIRE(f.sides() == 1);
  f.server().beginDrain();
  f.runFor(50);
  CHECK(f.server().openConnections() == 1);
  CHECK(f.side(0).closed == 0);
  answer(f.side(0), 200, "done");
  f.runUntil([&] { return c.done() && f.server().openConnections() == 0; });
  CHECK(c.ended);
  CHECK(c.body == "done");
  CHECK(f.server().openConnections() == 0);
  CHECK(f.pool().idleConnections() == 0);  // Connection: close, not kept
  CHECK(f.closeAll() == 0);
}

TEST_CASE(
    "stream server: a body too slow is a 408 and onClosed, and time paused by the forwarder "
    "does not count",
    "[http_stream]") {
  HttpServerOptions o;
  o.header_timeout_ms = 200;
  o.body_min_rate = 1 << 20;
  StreamFixture f(o);
  f.onRequest([&](ServerSide& s, HttpRequest& request) {
    if (request.path() == "/paused") {
      // The forwarder holds the body for longer than the body deadline.
      s.exchange.pauseRequest();
    }
    s.on_end = [](ServerSide& side) { answer(side, 200, std::to_string(side.body.size())); };
  });
  REQUIRE(f.listen() == 0);
  HttpClientPool& pool = f.pool();
  ClientSide slow;
  HttpClientStreamRequest r;
  r.method = "POST";
  r.target = "/slow";
  r.content_length = 1 << 20;
  REQUIRE(pool.stream(r, slow.stream) == HttpClientError::None);
  slow.stream.writeBody("a few bytes, then nothing");
  f.runUntil([&] { return slow.done(); });
  CHECK(slow.status == 408);
  REQUIRE(f.sides() == 1);
  CHECK(f.side(0).closed == 1);

  ClientSide held;
  r.target = "/paused";
  r.content_length = 1000;
  REQUIRE(pool.stream(r, held.stream) == HttpClientError::None);
  held.stream.writeBody(pattern(0, 1000));
  held.stream.endRequest();
  f.runFor(400);
  REQUIRE(f.sides() == 2);
  CHECK(f.side(1).body.empty());
  f.side(1).exchange.resumeRequest();
  f.runUntil([&] { return held.done(); });
  CHECK(held.ended);
  CHECK(held.status == 200);
  CHECK(held.body == "1000");
  CHECK(f.closeAll() == 0);
}

TEST_CASE(
    "stream client: HEAD has a length and no body, and reuse is counted, and idle connections "
    "close",
    "[http_stream]") {
  StreamFixture f;
  f.onRequest([](ServerSide& s, HttpRequest&) {
    s.on_end = [](ServerSide& side) {
      HttpStreamHead head;
      head.content_length = 5000;
      side.exchange.writeHead(head);
      side.exchange.writeBody(pattern(0, 5000));  // dropped for HEAD
      side.exchange.end();
    };
  });
  REQUIRE(f.listen() == 0);
  HttpClientPool& pool = f.pool(-1, 150);
  ClientSide head;
  HttpClientStreamRequest r;
  r.method = "HEAD";
  f.get(head, "/h", r);
  f.runUntil([&] { return head.done(); });
  CHECK(head.ended);
  CHECK(head.content_length == 5000);
  CHECK(head.body.empty());
  for (int i = 0; i < 3; ++i) {
    ClientSide get;
    f.get(get, "/g");
    f.runUntil([&] { return get.done(); });
    CHECK(get.body == pattern(0, 5000));
  }
  CHECK(pool.newConnectionRequests() == 1);
  CHECK(pool.reusedRequests() == 3);
  CHECK(pool.idleConnections() == 1);
  f.runUntil([&] { return pool.openConnections() == 0; }, 2000);
  CHECK(pool.openConnections() == 0);
  CHECK(f.closeAll() == 0);
}

TEST_CASE("stream: an upgrade turns both sides into a tunnel", "[http_stream]") {
  StreamFixture f;
  f.onRequest([](ServerSide& s, HttpRequest&) {
    s.on_end = [](ServerSide& side) {
      HttpStreamHead head;
      head.status = 101;
      head.headers = {{"Upgrade", "echo"}, {"Connection", "Upgrade"}};
      REQUIRE(side.exchange.upgradeRequested());
      side.exchange.writeHead(head);
    };
    // After the 101, what comes in goes back out.
    s.on_data = [](ServerSide& side) {
      if (side.request_ended) {
        side.exchange.writeBody(side.body);
        side.body.clear();
      }
    };
  });
  REQUIRE(f.listen() == 0);
  f.pool();
  ClientSide c;
  HttpClientStreamRequest r;
  r.headers = {{"Connection", "Upgrade"}, {"Upgrade", "echo"}};
  f.get(c, "/ws", r);
  f.runUntil([&] { return c.status == 101; });
  CHECK(c.status == 101);
  CHECK(c.stream.writeBody("over the tunnel"));
  f.runUntil([&] { return c.body == "over the tunnel"; });
  CHECK(c.body == "over the tunnel");
  // The server ends it: the client hears the tunnel's end.
  f.side(0).exchange.end();
  f.runUntil([&] { return c.done(); });
  CHECK(c.ended);
  CHECK(f.closeAll() == 0);
}

TEST_CASE("stream: a pause on the last piece of a body still ends the message once resumed",
          "[http_stream]") {
  // llhttp, paused inside a body's last piece, calls on_message_complete
  // only on its next run: resuming with no byte held must still run it.
  StreamFixture f;
  const size_t total = 3 * kPiece;
  f.onRequest([&](ServerSide& s, HttpRequest&) {
    // The server side pauses on every piece, the last one included.
    s.on_data = [](ServerSide& side) { side.exchange.pauseRequest(); };
    s.on_end = [&](ServerSide& side) {
      HttpStreamHead head;
      head.content_length = static_cast<int64_t>(total);
      side.exchange.writeHead(head);
      side.exchange.writeBody(pattern(0, total));
      side.exchange.end();
    };
  });
  REQUIRE(f.listen() == 0);
  f.pool();
  ClientSide c;
  c.on_data = [](ClientSide& cs) { cs.stream.pauseResponse(); };
  HttpClientStreamRequest r;
  r.method = "POST";
  r.target = "/both";
  r.content_length = 1000;
  r.response_timeout_ms = 3000;
  REQUIRE(f.pool().stream(r, c.stream) == HttpClientError::None);
  c.stream.writeBody(pattern(0, 1000));
  c.stream.endRequest();
  // Resume each side whenever it has paused, until the exchange is over.
  f.runUntil(
      [&] {
        if (f.sides() == 1 && !f.side(0).request_ended) f.side(0).exchange.resumeRequest();
        c.stream.resumeResponse();
        return c.done();
      },
      5000);
  REQUIRE(f.sides() == 1);
  CHECK(f.side(0).request_ended);
  CHECK(f.side(0).body == pattern(0, 1000));
  CHECK(c.ended);
  CHECK_FALSE(c.failure);
  CHECK(c.body == pattern(0, total));
  CHECK(f.closeAll() == 0);
}
