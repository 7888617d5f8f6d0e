// The admin listener: liveness, readiness and the Prometheus metrics.

#include <catch2/catch.hpp>

#include "support/json_fields.hpp"
#include "support/test_stack.hpp"

using namespace redge_test;

TEST_CASE("admin: /healthz is 200", "[admin]") {
  TestStack s;
  HttpReply r = httpGet(s.admin("/healthz"));
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
}

TEST_CASE("admin: /readyz is 200 while Redis is connected", "[admin]") {
  TestStack s;
  HttpReply r = httpGet(s.admin("/readyz"));
  REQUIRE(r.status == 200);
}

TEST_CASE("admin: /metrics exposes request and process and Redis metrics", "[admin]") {
  TestStack s;
  REQUIRE(httpGet(s.app("/")).status == 200);
  REQUIRE(httpGet(s.app("/missing")).status == 404);
  HttpReply r = httpGet(s.admin("/metrics"));
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type").rfind("text/plain", 0) == 0);
  for (const char* name :
       {"redge_http_requests_total{service=\"app\",route=\"/\",status=\"200\"}",
        "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
        "redge_redis_connected", "redge_http_connections_open"}) {
    INFO(name);
    CHECK(r.body.find(name) != std::string::npos);
  }
  CHECK(r.body.find("redge_redis_connected 1") != std::string::npos);
  CHECK(r.body.find("# TYPE redge_http_requests_total counter") != std::string::npos);
}

TEST_CASE("admin: unknown admin routes are 404 not_found", "[admin]") {
  TestStack s;
  HttpReply r = httpGet(s.admin("/nothing-here"));
  REQUIRE(r.status == 404);
  CHECK(errorCode(r.body) == "not_found");
}
