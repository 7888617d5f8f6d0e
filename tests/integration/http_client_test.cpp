// HttpClientPool against a real upstream on the same loop (redge's own
// HttpServer on a free port): keep-alive reuse, bodies, error statuses,
// deadlines, refused connects, the keep-alive race after the upstream closed
// an idle connection, and shutdown. Every test ends with every handle closed
// and uv_loop_close() == 0.

#include "net/http/http_client.hpp"

#include <uv.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/metrics.hpp"
#include "net/http/http_server.hpp"
#include "support/loop_fixture.hpp"

// GCC 12 reports a false "may be used uninitialized" inside libstdc++ when a
// short (SSO) std::string member of a request copied by value is read.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

using namespace redge;

namespace {

struct Result {
  HttpClientError error = HttpClientError::None;
  int status = 0;
  std::string body;
  std::string echoed_header;
};

class LoopFixture {
 public:
  explicit LoopFixture(int64_t upstream_idle_timeout_ms = 60000) {
    HttpServerOptions o;
    o.service = "upstream";
    o.port = 0;
    o.idle_timeout_ms = upstream_idle_timeout_ms;
    server_ = std::make_unique<HttpServer>(rt_.runtime(), o);
  }
  ~LoopFixture() {
    if (!closed_) closeAll();
  }

  HttpServer& server() { return *server_; }
  HttpClientPool& pool(int64_t idle_timeout_ms = 30000, int port = -1) {
    HttpClientPoolOptions po;
    po.name = "test";
    po.host = "127.0.0.1";
    po.port = port >= 0 ? port : server_->port();
    po.idle_timeout_ms = idle_timeout_ms;
    pool_ = std::make_unique<HttpClientPool>(rt_.loop(), rt_.metrics(), po);
    return *pool_;
  }
  int listen() { return server_->listen(); }

  // Runs the loop until `done` is true (or 5 s of loop time pass).
  void runUntil(const std::function<bool()>& done) { rt_.runUntil(done); }
  void sleepMs(uint64_t ms) {
    uv_timer_t t;
    uv_timer_init(rt_.loop(), &t);
    bool fired = false;
    t.data = &fired;
    uv_timer_start(
        &t, [](uv_timer_t* h) { *static_cast<bool*>(h->data) = true; }, ms, 0);
    runUntil([&] { return fired; });
    uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr);
    uv_run(rt_.loop(), UV_RUN_NOWAIT);
  }
  Result call(HttpClientPool& p, HttpClientRequest req) {
    std::optional<Result> r;
    p.send(std::move(req), [&](HttpClientError e, const HttpClientResponse* resp) {
      Result out;
      out.error = e;
      if (resp) {
        out.status = resp->status;
        out.body = resp->body;
        out.echoed_header = std::string(resp->header("X-Echo"));
      }
      r = out;
    });
    runUntil([&] { return r.has_value(); });
    REQUIRE(r.has_value());
    return *r;
  }
  int closeAll() {
    closed_ = true;
    if (pool_) pool_->close();
    server_->close();
    uv_run(rt_.loop(), UV_RUN_DEFAULT);
    pool_.reset();
    server_.reset();
    return rt_.closeLoop();
  }
  uv_loop_t* loop() { return rt_.loop(); }

 private:
  redge_test::LoopRuntime rt_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpClientPool> pool_;
  bool closed_ = false;
};

}  // namespace

TEST_CASE("http client: GET with keep-alive reuses one connection", "[http_client]") {
  LoopFixture f;
  f.server().route(HttpMethod::Get, "/hello", [](HttpRequest&, const HttpResponder& r) {
    r.send(HttpResponse(200, "text/plain", "hi"));
  });
  REQUIRE(f.listen() == 0);
  HttpClientPool& pool = f.pool();
  for (int i = 0; i < 3; ++i) {
    HttpClientRequest req;
    req.target = "/hello";
    Result r = f.call(pool, req);
    CHECK(r.error == HttpClientError::None);
    CHECK(r.status == 200);
    CHECK(r.body == "hi");
  }
  CHECK(pool.openConnections() == 1);
  CHECK(f.server().openConnections() == 1);
  CHECK(f.closeAll() == 0);
}

TEST_CASE("http client: a 304 or 204 has no body whatever its Content-Length says",
          "[http_client]") {
  // A 304's Content-Length describes the representation it validates
  // (RFC 9112 6.3): waiting for those bytes would hang the exchange.
  LoopFixture f;
  for (int status : {304, 204}) {
    f.server().route(HttpMethod::Get, "/s" + std::to_string(status),
                     [status](HttpRequest&, const HttpResponder& r) {
                       HttpResponse resp;
                       resp.status = status;
                       resp.content_type = {};
                       resp.content_length = HttpResponse::kNoContentLength;
                       resp.header("Content-Length", "10");
                       r.send(resp);
                     });
  }
  f.server().route(HttpMethod::Get, "/hello", [](HttpRequest&, const HttpResponder& r) {
    r.send(HttpResponse(200, "text/plain", "hi"));
  });
  REQUIRE(f.listen() == 0);
  HttpClientPool& pool = f.pool();
  for (const char* target : {"/s304", "/s204", "/hello"}) {
    INFO(target);
    HttpClientRequest req;
    req.target = target;
    Result r = f.call(pool, req);
    CHECK(r.error == HttpClientError::None);
    CHECK(r.body == (std::string(target) == "/hello" ? "hi" : ""));
  }
  CHECK(pool.openConnections() == 1);  // the connection stayed in step
  CHECK(f.closeAll() == 0);
}

TEST_CASE("http client: POST body and headers reach the upstream, a 500 is a response",
          "[http_client]") {
  LoopFixture f;
  f.server().route(HttpMethod::Post, "/echo", [](HttpRequest& q, const HttpResponder& r) {
    const std::string& body = q.body();
    std::string key(q.header("Idempotency-Key"));
    HttpResponse resp(body == "fail" ? 500 : 200, "text/plain", body);
    resp.header("X-Echo", key);
    r.send(resp);
  });
  REQUIRE(f.listen() == 0);
  HttpClientPool& pool = f.pool();
  HttpClientRequest req;
  req.method = "POST";
  req.target = "/echo";
  req.headers.emplace_back("Idempotency-Key", "m-1");
  req.body = std::string(100000, 'x');  // larger than one socket write
  Result r = f.call(pool, req);
  CHECK(r.error == HttpClientError::None);
  CHECK(r.status == 200);
  CHECK(r.body.size() == 100000);
  CHECK(r.echoed_header == "m-1");
  req.body = "fail";
  r = f.call(pool, req);
  CHECK(r.error == HttpClientError::None);
  CHECK(r.status == 500);
  CHECK(f.closeAll() == 0);
}

TEST_CASE("http client: a response that never comes times out and closes the connection",
          "[http_client]") {
  LoopFixture f;
  f.server().route(HttpMethod::Get, "/slow", [](HttpRequest&, const HttpResponder&) {
    // Never answers.
  });
  REQUIRE(f.listen() == 0);
  HttpClientPool& pool = f.pool();
  HttpClientRequest req;
  req.target = "/slow";
  req.timeout_ms = 150;
  uint64_t start = uv_now(f.loop());
  Result r = f.call(pool, req);
  uint64_t took = uv_now(f.loop()) - start;
  CHECK(r.error == HttpClientError::Timeout);
  CHECK(took >= 140);
  CHECK(took < 1500);
  f.runUntil([&] { return pool.openConnections() == 0; });
  CHECK(pool.openConnections() == 0);
  CHECK(f.closeAll() == 0);
}

TEST_CASE("http client: a refused connect fails with connect_error", "[http_client]") {
  LoopFixture f;
  REQUIRE(f.listen() == 0);
  int port = f.server().port();
  f.server().close();  // nothing listens on that port any more
  f.sleepMs(20);
  HttpClientPool& pool = f.pool(30000, port);
  HttpClientRequest req;
  Result r = f.call(pool, req);
  CHECK(r.error == HttpClientError::Connect);
  CHECK(f.closeAll() == 0);
}

TEST_CASE("http client: an idle connection the upstream closed is replaced transparently",
          "[http_client]") {
  // The upstream closes keep-alive connections idle for 50 ms, as servers do
  // after their keep-alive timeout; the next request must still succeed.
  LoopFixture f(50);
  int calls = 0;
  f.server().route(HttpMethod::Get, "/n", [&](HttpRequest&, const HttpResponder& r) {
    ++calls;
    std::string text = std::to_string(calls);
    r.send(HttpResponse(200, "text/plain", text));
  });
  REQUIRE(f.listen() == 0);
  HttpClientPool& pool = f.pool();
  HttpClientRequest req;
  req.target.assign("/n");
  CHECK(f.call(pool, req).body == "1");
  f.sleepMs(150);
  Result r = f.call(pool, req);
  CHECK(r.error == HttpClientError::None);
  CHECK(r.body == "2");
  CHECK(f.closeAll() == 0);
}

TEST_CASE("http client: closing the pool fails a pending request with closed", "[http_client]") {
  LoopFixture f;
  f.server().route(HttpMethod::Get, "/slow", [](HttpRequest&, const HttpResponder&) {});
  REQUIRE(f.listen() == 0);
  HttpClientPool& pool = f.pool();
  std::optional<HttpClientError> got;
  HttpClientRequest req;
  req.target = "/slow";
  req.timeout_ms = 5000;
  pool.send(req, [&](HttpClientError e, const HttpClientResponse*) { got = e; });
  f.sleepMs(30);
  pool.close();
  REQUIRE(got.has_value());
  CHECK(*got == HttpClientError::Closed);
  // Sending on a closed pool fails at once.
  std::optional<HttpClientError> late;
  pool.send(req, [&](HttpClientError e, const HttpClientResponse*) { late = e; });
  REQUIRE(late.has_value());
  CHECK(*late == HttpClientError::Closed);
  CHECK(f.closeAll() == 0);
}
