// The admin token check: which requests need the token, what a missing or
// wrong one gets, the Bearer header's forms, the constant-time comparison
// and the token file.

#include "ops/admin_auth.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

namespace redge {
namespace {

TEST_CASE("admin auth: constant-time comparison is equality", "[admin_auth]") {
  CHECK(constantTimeEquals("s3cret", "s3cret"));
  CHECK(constantTimeEquals("", ""));
  CHECK_FALSE(constantTimeEquals("s3cret", "s3creT"));
  CHECK_FALSE(constantTimeEquals("s3cre", "s3cret"));
  CHECK_FALSE(constantTimeEquals("s3crett", "s3cret"));
  CHECK_FALSE(constantTimeEquals("", "s3cret"));
  CHECK_FALSE(constantTimeEquals("s3cret", ""));
  // A guess that is the token followed by a NUL is not the token.
  CHECK_FALSE(constantTimeEquals(std::string_view("s3cret\0", 7), "s3cret"));
}

TEST_CASE("admin auth: without a token nothing is checked", "[admin_auth]") {
  AdminTokenCheck check("");
  CHECK_FALSE(check.active());
  CHECK_FALSE(check.check(HttpMethod::Post, "/spawn", "").has_value());
  CHECK_FALSE(check.check(HttpMethod::Delete, "/flags/x", "Bearer anything").has_value());
}

TEST_CASE("admin auth: reads pass, every other method needs the token", "[admin_auth]") {
  AdminTokenCheck check("s3cret");
  REQUIRE(check.active());
  for (HttpMethod m : {HttpMethod::Get, HttpMethod::Head, HttpMethod::Options}) {
    CHECK_FALSE(check.check(m, "/flags", "").has_value());
  }
  for (HttpMethod m : {HttpMethod::Post, HttpMethod::Put, HttpMethod::Delete, HttpMethod::Patch,
                       HttpMethod::Other}) {
    auto missing = check.check(m, "/flags/x", "");
    REQUIRE(missing.has_value());
    CHECK(missing->status == 401);
    CHECK(missing->code == "unauthorized");
    CHECK(missing->header_name == "WWW-Authenticate");
    CHECK(missing->header_value.starts_with("Bearer"));
    CHECK_FALSE(check.check(m, "/flags/x", "Bearer s3cret").has_value());
  }
}

TEST_CASE("admin auth: the Bearer header's forms", "[admin_auth]") {
  AdminTokenCheck check("s3cret");
  // RFC 6750 2.1: the scheme is case-insensitive; one or more spaces.
  CHECK_FALSE(check.check(HttpMethod::Post, "/spawn", "bearer s3cret").has_value());
  CHECK_FALSE(check.check(HttpMethod::Post, "/spawn", "BEARER   s3cret").has_value());
  auto wrong = check.check(HttpMethod::Post, "/spawn", "Bearer s3cre");
  REQUIRE(wrong.has_value());
  CHECK(wrong->status == 403);
  CHECK(wrong->code == "forbidden");
  CHECK(wrong->header_name.empty());
  auto longer = check.check(HttpMethod::Post, "/spawn", "Bearer s3cret2");
  REQUIRE(longer.has_value());
  CHECK(longer->status == 403);
  // Another scheme, or the scheme alone, is no credential: 401.
  for (std::string_view h : {"Basic czNjcmV0", "Bearer", "Bearers3cret", "s3cret", "Bearer "}) {
    INFO(h);
    auto r = check.check(HttpMethod::Post, "/spawn", h);
    REQUIRE(r.has_value());
    CHECK(r->status == (h == "Bearer " ? 403 : 401));
  }
}

TEST_CASE("admin auth: OFREP evaluations are reads, the rest of OFREP is not exempt",
          "[admin_auth]") {
  AdminTokenCheck check("s3cret");
  CHECK_FALSE(check.check(HttpMethod::Post, "/ofrep/v1/evaluate/flags/x", "").has_value());
  CHECK_FALSE(check.check(HttpMethod::Post, "/ofrep/v1/evaluate/flags", "").has_value());
  CHECK(check.check(HttpMethod::Put, "/ofrep/v1/evaluate/flags/x", "").has_value());
  CHECK(check.check(HttpMethod::Post, "/ofrep/v1/other", "").has_value());
}

TEST_CASE("admin auth: the token file's first line, trimmed", "[admin_auth]") {
  char tmpl[] = "/tmp/redge-token-XXXXXX";
  int fd = mkstemp(tmpl);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::string path = tmpl;
  { std::ofstream(path) << "  t0ken-from-file \r\nsecond line\n"; }
  std::string token;
  REQUIRE_FALSE(readTokenFile(path, token).has_value());
  CHECK(token == "t0ken-from-file");
  { std::ofstream(path) << "\n"; }
  auto empty = readTokenFile(path, token);
  REQUIRE(empty.has_value());
  CHECK(empty->find("no token") != std::string::npos);
  std::remove(path.c_str());
  auto missing = readTokenFile(path, token);
  REQUIRE(missing.has_value());
  CHECK(missing->find("cannot read") != std::string::npos);
}

}  // namespace
}  // namespace redge
