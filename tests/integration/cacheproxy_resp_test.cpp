// The cache proxy's RESP front, driven by real Redis clients: hiredis (the
// test's RedisConnection) for commands and pipelines, redis-cli as a child
// process, and a raw socket for inline commands and protocol errors, where
// what matters is the exact bytes and whether the server closes.

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "support/child_process.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;
using namespace std::string_literals;

namespace {

TestStack cacheStack(std::vector<std::string> settings = {}) {
  return TestStack(std::move(settings), {}, RedgeServices{.cache_proxy = true});
}

bool isError(const RedisValue& v, const std::string& prefix) {
  return v.type == RedisValue::Type::Error && v.str.rfind(prefix, 0) == 0;
}

}  // namespace

TEST_CASE("cacheproxy: RESP commands answer as Redis would", "[cacheproxy][resp]") {
  TestStack s = cacheStack();
  const std::string binary = "bin\0ary\r\n$3\r\n"s;
  s.redis.command({"SET", "k1", "one"});
  s.redis.command({"SET", "k2", "two"});
  s.redis.command({"SET", "bin", binary});
  RedisConnection c(s.redge.cacheRespPort());

  RedisValue pong = c.command({"PING"});
  CHECK(pong.type == RedisValue::Type::Status);
  CHECK(pong.str == "PONG");
  RedisValue ping_msg = c.command({"PING", "hello there"});
  CHECK(ping_msg.type == RedisValue::Type::String);
  CHECK(ping_msg.str == "hello there");
  RedisValue echo = c.command({"ECHO", "a\0b"s});
  CHECK(echo.type == RedisValue::Type::String);
  CHECK(echo.str == "a\0b"s);

  RedisValue get = c.command({"GET", "bin"});
  CHECK(get.type == RedisValue::Type::String);
  CHECK(get.str == binary);
  CHECK(c.command({"GET", "bin"}).str == binary);  // the hit, too
  CHECK(c.command({"GET", "missing"}).isNil());
  CHECK(c.command({"get", "k1"}).str == "one");  // names are case-insensitive

  RedisValue mget = c.command({"MGET", "k1", "missing", "k2"});
  REQUIRE(mget.type == RedisValue::Type::Array);
  REQUIRE(mget.elements.size() == 3);
  CHECK(mget.elements[0].str == "one");
  CHECK(mget.elements[1].isNil());
  CHECK(mget.elements[2].str == "two");

  RedisValue select0 = c.command({"SELECT", "0"});
  CHECK(select0.type == RedisValue::Type::Status);
  CHECK(select0.str == "OK");
  CHECK(c.command({"SELECT", "1"}).type == RedisValue::Type::Error);

  RedisValue command = c.command({"COMMAND"});
  CHECK(command.type == RedisValue::Type::Array);
  CHECK_FALSE(command.elements.empty());
  RedisValue docs = c.command({"COMMAND", "DOCS"});
  CHECK(docs.type == RedisValue::Type::Array);
  CHECK(docs.elements.empty());

  RedisValue hello = c.command({"HELLO", "2"});
  REQUIRE(hello.type == RedisValue::Type::Array);
  REQUIRE(hello.elements.size() == 14);
  CHECK(hello.elements[5].integer == 2);  // proto
  CHECK(isError(c.command({"HELLO", "4"}), "NOPROTO"));

  // A write is refused as Redis refuses a command it does not know.
  RedisValue set = c.command({"SET", "a", "b"});
  CHECK(set.type == RedisValue::Type::Error);
  CHECK(set.str == "ERR unknown command 'SET', with args beginning with: 'a' 'b' ");
  CHECK(s.redis.command({"GET", "a"}).isNil());  // nothing was written
  CHECK(c.command({"PING"}).str == "PONG");

  RedisValue arity = c.command({"GET"});
  CHECK(arity.type == RedisValue::Type::Error);
  CHECK(arity.str.find("wrong number of arguments") != std::string::npos);
  CHECK(c.command({"GET", "a", "b"}).type == RedisValue::Type::Error);
  CHECK(c.command({"PING"}).str == "PONG");

  RedisValue quit = c.command({"QUIT"});
  CHECK(quit.type == RedisValue::Type::Status);
  CHECK(quit.str == "OK");
  // The server closed: the next command finds the connection gone.
  CHECK_THROWS(c.command({"PING"}));
}

TEST_CASE("cacheproxy: RESP shares the cache with HTTP", "[cacheproxy][resp]") {
  TestStack s = cacheStack();
  s.redis.command({"SET", "shared", "first"});
  REQUIRE(httpGet(s.cache("/shared")).header("X-Cache") == "MISS");
  s.redis.command({"SET", "shared", "second"});
  RedisConnection c(s.redge.cacheRespPort());
  CHECK(c.command({"GET", "shared"}).str == "first");
}

TEST_CASE("cacheproxy: RESP inline commands and QUIT over a raw socket", "[cacheproxy][resp]") {
  TestStack s = cacheStack();
  s.redis.command({"SET", "key with space", "spaced value"});
  RawConnection c(s.redge.cacheRespPort());

  REQUIRE(c.send("PING\r\n"));
  REQUIRE(c.readUntil("\r\n", 3000ms));
  CHECK(c.pending() == "+PONG\r\n");

  std::string expected = "+PONG\r\n$12\r\nspaced value\r\n";
  REQUIRE(c.send("GET \"key with space\"\r\n"));
  CHECK(c.readUntil(expected, 3000ms));
  CHECK(c.pending() == expected);

  expected += "+OK\r\n";
  REQUIRE(c.send("QUIT\r\n"));
  CHECK(c.waitForClose(2000ms));
  CHECK(c.pending() == expected);
}

TEST_CASE("cacheproxy: 1000 pipelined RESP commands come back in order",
          "[cacheproxy][resp][pipeline]") {
  TestStack s = cacheStack();
  for (int i = 0; i < 100; ++i) {
    s.redis.command({"SET", std::string("p").append(std::to_string(i)),
                     std::string("value-").append(std::to_string(i))});
  }
  // Hits, misses and absent keys interleaved; the first reads of each key
  // are misses, the later ones hits.
  std::vector<std::string> keys;
  std::vector<std::string> expected;  // "" for nil
  for (int i = 0; i < 1000; ++i) {
    if (i % 3 == 1) {
      keys.push_back(std::string("absent-").append(std::to_string(i)));
      expected.push_back("");
    } else {
      int n = (i * 7) % 100;
      keys.push_back(std::string("p").append(std::to_string(n)));
      expected.push_back(std::string("value-").append(std::to_string(n)));
    }
  }
  RedisConnection c(s.redge.cacheRespPort());
  for (const auto& k : keys) c.append({"GET", k});
  int wrong = 0;
  std::string first_wrong;
  for (size_t i = 0; i < keys.size(); ++i) {
    RedisValue v = c.readReply();
    bool right = expected[i].empty() ? v.isNil()
                                     : v.type == RedisValue::Type::String && v.str == expected[i];
    if (!right && wrong++ == 0) {
      first_wrong = std::string("reply ")
                        .append(std::to_string(i))
                        .append(" for ")
                        .append(keys[i])
                        .append(": ")
                        .append(v.str);
    }
  }
  INFO(first_wrong);
  CHECK(wrong == 0);
  CHECK(c.command({"PING"}).str == "PONG");
}

TEST_CASE("cacheproxy: RESP protocol errors are answered, then the connection is closed",
          "[cacheproxy][resp]") {
  TestStack s = cacheStack();
  struct Case {
    std::string bytes;
    std::string contains;
  };
  const std::vector<Case> cases = {
      {"*1\r\n$x\r\n", ""},
      {"*99999999999\r\n", ""},
      {"*1\r\n$999999999\r\n", "invalid bulk length"},
  };
  for (const auto& c : cases) {
    INFO("sent " << Catch::Detail::stringify(c.bytes));
    RawConnection raw(s.redge.cacheRespPort());
    REQUIRE(raw.send(c.bytes));
    CHECK(raw.waitForClose(2000ms));
    INFO("got " << Catch::Detail::stringify(raw.pending()));
    CHECK(raw.pending().rfind("-ERR Protocol error", 0) == 0);
    CHECK(raw.pending().size() >= 2);
    CHECK(raw.pending().substr(raw.pending().size() - 2) == "\r\n");
    CHECK(raw.pending().find("\r\n") == raw.pending().size() - 2);  // one reply only
    if (!c.contains.empty()) CHECK(raw.pending().find(c.contains) != std::string::npos);
  }
  // A command before the bad bytes is still answered first.
  RawConnection mixed(s.redge.cacheRespPort());
  REQUIRE(mixed.send("PING\r\n*1\r\n$x\r\n"));
  CHECK(mixed.waitForClose(2000ms));
  CHECK(mixed.pending().rfind("+PONG\r\n-ERR Protocol error", 0) == 0);

  RedisConnection fresh(s.redge.cacheRespPort());
  CHECK(fresh.command({"PING"}).str == "PONG");
  CHECK(s.redge.running());
}

TEST_CASE("cacheproxy: redis-cli reads through the RESP port", "[cacheproxy][resp]") {
  TestStack s = cacheStack();
  s.redis.command({"SET", "cli-key", "read by redis-cli"});
  ChildSpec spec;
  spec.argv = {"/usr/bin/redis-cli",
               "-h",
               "127.0.0.1",
               "-p",
               std::to_string(s.redge.cacheRespPort()),
               "GET",
               "cli-key"};
  spec.env = cleanEnvironment();
  spec.stdout_path = s.dir.file("cli.out");
  spec.stderr_path = s.dir.file("cli.err");
  int code = runToExit(spec, 5000ms);
  INFO("stderr: " << readFile(spec.stderr_path));
  CHECK(code == 0);
  CHECK(readFile(spec.stdout_path) == "read by redis-cli\n");

  spec.argv = {"/usr/bin/redis-cli",
               "-h",
               "127.0.0.1",
               "-p",
               std::to_string(s.redge.cacheRespPort()),
               "PING"};
  CHECK(runToExit(spec, 5000ms) == 0);
  CHECK(readFile(spec.stdout_path) == "PONG\n");
}

TEST_CASE("cacheproxy: a RESP connection past max_connections gets the Redis error and is closed",
          "[cacheproxy][resp][limits]") {
  TestStack s = cacheStack({"cacheproxy.max_connections=3"});
  std::vector<std::unique_ptr<RedisConnection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<RedisConnection>(s.redge.cacheRespPort()));
    CHECK(open.back()->command({"PING"}).str == "PONG");
  }

  RawConnection fourth(s.redge.cacheRespPort());
  CHECK(fourth.waitForClose(2000ms));
  CHECK(fourth.pending() == "-ERR max number of clients reached\r\n");
  fourth.close();  // as redis-cli and hiredis do on EOF

  for (auto& c : open) CHECK(c->command({"PING"}).str == "PONG");

  open.pop_back();
  auto freed = std::chrono::steady_clock::now();
  bool admitted = waitUntil(
      [&] {
        try {
          RedisConnection c(s.redge.cacheRespPort());
          return c.command({"PING"}).str == "PONG";
        } catch (const std::exception&) {
          return false;
        }
      },
      3000ms, 20ms);
  CHECK(admitted);
  CHECK(msSince(freed) < 1000);
}

// As for HTTP: a refused client that has not closed its socket yet must not
// keep a slot that a served client has given back.
TEST_CASE("cacheproxy: a refused RESP connection does not hold a connection slot",
          "[cacheproxy][resp][limits]") {
  TestStack s = cacheStack({"cacheproxy.max_connections=2"});
  std::vector<std::unique_ptr<RedisConnection>> served;
  for (int i = 0; i < 2; ++i) {
    served.push_back(std::make_unique<RedisConnection>(s.redge.cacheRespPort()));
    REQUIRE(served.back()->command({"PING"}).str == "PONG");
  }
  RawConnection refused(s.redge.cacheRespPort());
  REQUIRE(refused.waitForClose(2000ms));
  REQUIRE(refused.pending() == "-ERR max number of clients reached\r\n");
  // `refused` stays open on the client side from here on.

  served.pop_back();
  auto freed = std::chrono::steady_clock::now();
  std::string last;
  bool admitted = waitUntil(
      [&] {
        try {
          RedisConnection c(s.redge.cacheRespPort());
          last = c.command({"PING"}).str;
        } catch (const std::exception& e) {
          last = e.what();
        }
        return last == "PONG";
      },
      3000ms, 20ms);
  long long waited = msSince(freed);
  INFO("a new client was admitted " << waited << " ms after a served one closed (last answer "
                                    << last << ")");
  CHECK(admitted);
  CHECK(waited < 500);
}
