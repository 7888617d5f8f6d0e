// parseRedisUrl: TCP URLs with their defaults, credentials (plain, lone
// password, percent-encoded), bracketed IPv6 hosts, unix socket URLs, and
// every way a URL is refused.

#include "redis/redis_url.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

namespace redge {
namespace {

RedisUrl parseOk(std::string_view text) {
  RedisUrl url;
  const std::string error = parseRedisUrl(text, url);
  INFO("url: " << text << " error: " << error);
  REQUIRE(error.empty());
  return url;
}

std::string parseError(std::string_view text) {
  RedisUrl url;
  const std::string error = parseRedisUrl(text, url);
  INFO("url: " << text);
  CHECK_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_CASE("redis_url: the defaults of a default RedisUrl", "[redis_url]") {
  const RedisUrl url;
  CHECK_FALSE(url.unix_socket);
  CHECK(url.host == "127.0.0.1");
  CHECK(url.port == 6379);
  CHECK(url.path.empty());
  CHECK(url.user.empty());
  CHECK(url.password.empty());
  CHECK(url.db == 0);
}

TEST_CASE("redis_url: host, port and db", "[redis_url]") {
  RedisUrl url = parseOk("redis://cache.internal:6380/3");
  CHECK_FALSE(url.unix_socket);
  CHECK(url.host == "cache.internal");
  CHECK(url.port == 6380);
  CHECK(url.db == 3);
  CHECK(url.user.empty());
  CHECK(url.password.empty());
  CHECK(url.path.empty());

  url = parseOk("redis://10.0.0.5:1/0");
  CHECK(url.host == "10.0.0.5");
  CHECK(url.port == 1);
  CHECK(url.db == 0);

  url = parseOk("redis://h:65535/15");
  CHECK(url.port == 65535);
  CHECK(url.db == 15);
}

TEST_CASE("redis_url: port and db default", "[redis_url]") {
  RedisUrl url = parseOk("redis://localhost");
  CHECK(url.host == "localhost");
  CHECK(url.port == 6379);
  CHECK(url.db == 0);

  url = parseOk("redis://localhost/");
  CHECK(url.port == 6379);
  CHECK(url.db == 0);

  url = parseOk("redis://localhost/7");
  CHECK(url.port == 6379);
  CHECK(url.db == 7);

  url = parseOk("redis://localhost:7000");
  CHECK(url.port == 7000);
  CHECK(url.db == 0);

  // RFC 3986: an empty port means the default one.
  url = parseOk("redis://localhost:/2");
  CHECK(url.port == 6379);
  CHECK(url.db == 2);
}

TEST_CASE("redis_url: a new parse starts from the defaults", "[redis_url]") {
  RedisUrl url;
  REQUIRE(parseRedisUrl("redis://u:p@h:1/9", url).empty());
  REQUIRE(parseRedisUrl("redis://other", url).empty());
  CHECK(url.host == "other");
  CHECK(url.port == 6379);
  CHECK(url.db == 0);
  CHECK(url.user.empty());
  CHECK(url.password.empty());
  REQUIRE(parseRedisUrl("unix:///s.sock", url).empty());
  CHECK(url.unix_socket);
  CHECK(url.path == "/s.sock");
  CHECK(url.port == 6379);
  CHECK(url.host == "127.0.0.1");
}

TEST_CASE("redis_url: user and password", "[redis_url]") {
  RedisUrl url = parseOk("redis://alice:s3cret@db.example:6390/2");
  CHECK(url.user == "alice");
  CHECK(url.password == "s3cret");
  CHECK(url.host == "db.example");
  CHECK(url.port == 6390);
  CHECK(url.db == 2);

  // An empty user is the default user with a password.
  url = parseOk("redis://:pw@h");
  CHECK(url.user.empty());
  CHECK(url.password == "pw");
  CHECK(url.host == "h");

  url = parseOk("redis://bob:@h");
  CHECK(url.user == "bob");
  CHECK(url.password.empty());

  // Only the first ':' splits user from password.
  url = parseOk("redis://u:a:b@h");
  CHECK(url.user == "u");
  CHECK(url.password == "a:b");
}

TEST_CASE("redis_url: a lone userinfo is the password", "[redis_url]") {
  const RedisUrl url = parseOk("redis://secret@h:6379");
  CHECK(url.user.empty());
  CHECK(url.password == "secret");
  CHECK(url.host == "h");
}

TEST_CASE("redis_url: credentials are percent-decoded", "[redis_url]") {
  RedisUrl url = parseOk("redis://us%65r:p%40ss%3Aw%2Fo%25rd@h/1");
  CHECK(url.user == "user");
  CHECK(url.password == "p@ss:w/o%rd");
  CHECK(url.host == "h");
  CHECK(url.db == 1);

  url = parseOk("redis://%3A%40@h");
  CHECK(url.user.empty());
  CHECK(url.password == ":@");

  // '+' is not a space in a URL's userinfo.
  url = parseOk("redis://a+b@h");
  CHECK(url.password == "a+b");

  // The host is split at the last '@', so a raw '@' in the password still parses.
  url = parseOk("redis://u:p@ss@h");
  CHECK(url.password == "p@ss");
  CHECK(url.host == "h");
}

TEST_CASE("redis_url: bracketed IPv6 hosts", "[redis_url]") {
  RedisUrl url = parseOk("redis://[::1]:6380");
  CHECK(url.host == "::1");
  CHECK(url.port == 6380);

  url = parseOk("redis://[::1]");
  CHECK(url.host == "::1");
  CHECK(url.port == 6379);

  url = parseOk("redis://u:p@[fe80::1:2]:7000/4");
  CHECK(url.host == "fe80::1:2");
  CHECK(url.port == 7000);
  CHECK(url.db == 4);
  CHECK(url.user == "u");
  CHECK(url.password == "p");

  parseError("redis://[::1");
  parseError("redis://[::1]x");
  parseError("redis://[::1]6380");
  parseError("redis://[]:6379");
  parseError("redis://[::1]:0");
}

TEST_CASE("redis_url: unix socket URLs", "[redis_url]") {
  RedisUrl url = parseOk("unix:///var/run/redis/redis.sock");
  CHECK(url.unix_socket);
  CHECK(url.path == "/var/run/redis/redis.sock");
  CHECK(url.db == 0);
  CHECK(url.user.empty());
  CHECK(url.password.empty());

  url = parseOk("unix:///tmp/redis.sock?db=2");
  CHECK(url.unix_socket);
  CHECK(url.path == "/tmp/redis.sock");
  CHECK(url.db == 2);

  url = parseOk("unix:///tmp/r.sock?x=1&db=12");
  CHECK(url.path == "/tmp/r.sock");
  CHECK(url.db == 12);
}

TEST_CASE("redis_url: refused URLs", "[redis_url]") {
  SECTION("scheme") {
    for (std::string_view text : {"", "localhost:6379", "http://h:6379", "rediss://h", "redis:/h",
                                  "redis:h", "unix:/tmp/s.sock", "tcp://h"}) {
      parseError(text);
    }
  }
  SECTION("port") {
    for (std::string_view text :
         {"redis://h:0", "redis://h:70000", "redis://h:65536", "redis://h:abc", "redis://h:-1",
          "redis://h:+1", "redis://h:12ab", "redis://h: 1", "redis://h:1.5",
          "redis://h:99999999999999999999"}) {
      parseError(text);
    }
  }
  SECTION("db") {
    for (std::string_view text :
         {"redis://h/-1", "redis://h/abc", "redis://h/1x", "redis://h/1/2", "redis://h/+1",
          "redis://h/1000001", "redis://h:6379/99999999999999999999", "unix:///s.sock?db=x",
          "unix:///s.sock?db=-1", "unix:///s.sock?db="}) {
      parseError(text);
    }
  }
  SECTION("host") {
    for (std::string_view text : {"redis://", "redis://:6379", "redis:///0", "redis://u:p@",
                                  "redis://u:p@:6379", "redis://@"}) {
      parseError(text);
    }
  }
  SECTION("unix path") {
    for (std::string_view text : {"unix://", "unix://relative.sock", "unix://tmp/redis.sock",
                                  "unix://?db=1", "unix://./redis.sock"}) {
      parseError(text);
    }
  }
  SECTION("credentials") {
    for (std::string_view text : {"redis://u:%zz@h", "redis://u:%4@h", "redis://%@h"}) {
      parseError(text);
    }
  }
}

TEST_CASE("redis_url: errors say what is wrong", "[redis_url]") {
  using Catch::Matchers::Contains;
  CHECK_THAT(parseError("http://h"), Contains("redis://"));
  CHECK_THAT(parseError("redis://h:0"), Contains("port"));
  CHECK_THAT(parseError("redis://h/x"), Contains("db"));
  CHECK_THAT(parseError("redis://:1"), Contains("host"));
  CHECK_THAT(parseError("unix://rel.sock"), Contains("absolute"));
  CHECK_THAT(parseError("redis://%zz@h"), Contains("percent"));
}

}  // namespace redge
