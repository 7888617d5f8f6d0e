// The cache proxy's RESP front negotiates and answers as Redis does.
//
// The main check is differential: the same bytes go to the real
// redis-server behind the proxy and to the proxy, and the replies must be
// byte for byte the same (HELLO's connection id aside). Each case runs twice
// on the proxy, so both a miss (read through Redis) and a hit (answered from
// the cache) are compared. What Redis 7.0 cannot show (CLIENT SETINFO, a
// refused write inside MULTI, replies that wait for Redis inside EXEC, INFO's
// cache counters) is checked against the expected bytes.

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "support/metrics_text.hpp"
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

// Where the RESP2/RESP3 value starting at `pos` ends, or npos while it is
// incomplete.
size_t valueEnd(std::string_view s, size_t pos) {
  if (pos >= s.size()) return std::string_view::npos;
  size_t eol = s.find("\r\n", pos);
  if (eol == std::string_view::npos) return eol;
  char type = s[pos];
  std::string_view head = s.substr(pos + 1, eol - pos - 1);
  size_t next = eol + 2;
  switch (type) {
    case '$':
    case '=':
    case '!': {
      long long len = std::stoll(std::string(head));
      if (len < 0) return next;
      size_t end = next + static_cast<size_t>(len) + 2;
      return end <= s.size() ? end : std::string_view::npos;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      long long n = std::stoll(std::string(head));
      if (type == '%' || type == '|') n *= 2;
      for (long long i = 0; i < n; ++i) {
        next = valueEnd(s, next);
        if (next == std::string_view::npos) return next;
      }
      return next;
    }
    default:  // + - : _ # , (
      return next;
  }
}

// Reads until `n` complete replies are in; returns them (fewer at the
// timeout or if the server closed).
std::vector<std::string> readReplies(RawConnection& c, size_t n,
                                     std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (out.size() < n) {
      size_t end = valueEnd(c.pending(), pos);
      if (end == std::string_view::npos) break;
      out.push_back(c.pending().substr(pos, end - pos));
      pos = end;
    }
    if (out.size() == n || c.peerClosed() || std::chrono::steady_clock::now() >= deadline) {
      return out;
    }
    c.readFor(2ms);
  }
}

size_t countCommands(const std::string& inline_commands) {
  size_t n = 0;
  for (size_t pos = 0; (pos = inline_commands.find("\r\n", pos)) != std::string::npos; pos += 2) {
    ++n;
  }
  return n;
}

// The one field that differs between two servers for the same session:
// HELLO's connection id.
std::string normalized(std::string reply) {
  const std::string field = "$2\r\nid\r\n:";
  for (size_t at = reply.find(field); at != std::string::npos; at = reply.find(field, at)) {
    at += field.size();
    size_t end = reply.find("\r\n", at);
    reply.replace(at, end - at, "ID");
  }
  return reply;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out += ch;
    }
  }
  return out;
}

std::string exchange(int port, const std::string& commands) {
  RawConnection c(port);
  REQUIRE(c.send(commands));
  std::vector<std::string> replies = readReplies(c, countCommands(commands));
  std::string all;
  for (const std::string& r : replies) all += normalized(r);
  return all;
}

// Lines of an INFO reply as field -> value.
std::string infoField(const std::string& info, const std::string& field) {
  size_t at = info.find("\r\n" + field + ":");
  if (at == std::string::npos) return "<absent>";
  at += field.size() + 3;
  return info.substr(at, info.find("\r\n", at) - at);
}

}  // namespace

TEST_CASE("cacheproxy: RESP replies are byte for byte those of redis-server",
          "[cacheproxy][resp][redis]") {
  TestStack s = cacheStack();
  s.redis.command({"SET", "str", "hello"});
  s.redis.command({"SET", "num", "12345"});
  s.redis.command({"SET", "empty", ""});
  s.redis.command({"RPUSH", "lst", "a", "b"});

  std::vector<std::string> cases = {
      // Negotiation.
      "HELLO\r\n",
      "HELLO 2\r\n",
      "HELLO 3\r\n",
      "HELLO 4\r\nHELLO 1\r\nHELLO abc\r\nHELLO 03\r\nHELLO -3\r\n",
      "HELLO 3 AUTH default secret\r\n",
      "HELLO 3 AUTH someone secret\r\nHELLO 3 AUTH default\r\nHELLO 2 SETNAME\r\n",
      "HELLO 3 SETNAME app-1\r\nCLIENT GETNAME\r\nHELLO 2\r\nCLIENT GETNAME\r\n",
      "HELLO 2 SETNAME \"a b\"\r\nHELLO 3 BOGUS\r\nHELLO 2 AUTH default x SETNAME n1\r\n",
      "AUTH secret\r\nAUTH default secret\r\nAUTH someone secret\r\nAUTH a b c\r\nAUTH\r\n",
      // RESP3 values, and back to RESP2.
      "HELLO 3\r\nGET nokey\r\nMGET str nokey lst\r\nGET str\r\nCLIENT GETNAME\r\n"
      "HELLO 2\r\nGET nokey\r\nMGET nokey\r\n",
      "HELLO 3\r\nEXISTS str nokey\r\nSTRLEN nokey\r\nTYPE nokey\r\nGETRANGE nokey 0 -1\r\n"
      "TTL nokey\r\nINFO bogus\r\nCOMMAND DOCS nosuch\r\n",
      // CLIENT.
      "CLIENT\r\nCLIENT FOO\r\nCLIENT SETNAME\r\nCLIENT SETNAME a b\r\nCLIENT GETNAME x\r\n"
      "CLIENT ID x\r\n",
      "CLIENT GETNAME\r\nCLIENT SETNAME abc\r\nCLIENT GETNAME\r\nCLIENT SETNAME \"\"\r\n"
      "CLIENT GETNAME\r\nCLIENT SETNAME \"a\\x01\"\r\nclient setname \"a\\nb\"\r\n",
      // Small connection commands.
      // (SELECT 1 is left out: the proxy serves one database, Redis has 16.)
      "PING\r\nPING hi\r\nPING a b\r\nECHO\r\nECHO x\r\nSELECT 0\r\nSELECT x\r\nSELECT -1\r\n"
      "SELECT 99999\r\nQUIT\r\n",
      "FOO\r\nFOO a \"b c\"\r\nnot-a-command x y z\r\nCOMMAND FOO\r\nCOMMAND DOCS nosuch\r\n"
      "INFO bogus\r\n",
      // Transactions.
      "MULTI\r\nGET str\r\nGET nokey\r\nMGET str lst num\r\nEXEC\r\n",
      "MULTI\r\nMULTI\r\nGET str\r\nEXEC\r\nEXEC\r\nDISCARD\r\n",
      "MULTI\r\nFOO x\r\nGET str\r\nEXEC\r\nGET str\r\n",
      "MULTI\r\nGET\r\nPING\r\nEXEC\r\n",
      "MULTI\r\nGET str\r\nDISCARD\r\nGET str\r\nEXEC\r\n",
      "MULTI\r\nEXEC\r\nMULTI x\r\nEXEC x\r\nMULTI\r\nEXEC x\r\nEXEC\r\n",
      "HELLO 3\r\nMULTI\r\nGET nokey\r\nHELLO 2\r\nGET nokey\r\nEXEC\r\nGET nokey\r\n",
      "MULTI\r\nCLIENT SETNAME zz\r\nCLIENT GETNAME\r\nSELECT 0\r\nEXEC\r\nCLIENT GETNAME\r\n",
      "MULTI\r\nTTL str\r\nTYPE lst\r\nSTRLEN str\r\nGETRANGE str 1 3\r\nEXISTS str lst\r\n"
      "AUTH x\r\nEXEC\r\n",
      // Reads answered from the cached value, or forwarded.
      "EXISTS\r\nEXISTS str\r\nEXISTS nokey\r\nEXISTS str str nokey lst\r\n",
      "STRLEN str\r\nSTRLEN nokey\r\nSTRLEN lst\r\nSTRLEN empty\r\nSTRLEN num\r\nSTRLEN\r\n",
      "TYPE str\r\nTYPE lst\r\nTYPE nokey\r\nTYPE num\r\nTYPE\r\n",
      "TTL str\r\nTTL nokey\r\nPTTL str\r\nPTTL nokey\r\nTTL lst\r\nTTL\r\nPTTL a b\r\n",
      "GET lst\r\nMGET lst str\r\nGETRANGE lst 0 1\r\nGETRANGE str\r\nGETRANGE str a 1\r\n"
      "GETRANGE str 1 b\r\nGETRANGE nokey x 1\r\nGETRANGE empty 0 -1\r\nGETRANGE num 1 2\r\n",
  };
  // GETRANGE's arithmetic over every corner of "hello".
  std::string grid;
  for (int start : {-9, -6, -5, -2, -1, 0, 1, 3, 4, 5, 9}) {
    for (int end : {-9, -6, -5, -2, -1, 0, 1, 3, 4, 5, 9}) {
      grid += "GETRANGE str " + std::to_string(start) + " " + std::to_string(end) + "\r\n";
    }
  }
  cases.push_back(grid);

  for (const std::string& c : cases) {
    INFO("commands: " << printable(c));
    std::string from_redis = exchange(s.redis.port(), c);
    REQUIRE_FALSE(from_redis.empty());
    for (int round = 0; round < 2; ++round) {
      INFO("round " << round << " (0: misses, 1: hits)");
      std::string from_proxy = exchange(s.redge.cacheRespPort(), c);
      CHECK(printable(from_proxy) == printable(from_redis));
    }
  }
}

TEST_CASE("cacheproxy: RESP3 replies carry RESP3 types", "[cacheproxy][resp]") {
  TestStack s = cacheStack();
  s.redis.command({"SET", "k", "v"});
  RawConnection c(s.redge.cacheRespPort());
  REQUIRE(c.send("HELLO 3\r\nGET missing\r\nMGET k missing\r\n"));
  REQUIRE(readReplies(c, 3).size() == 3);
  // INFO once the MGET is answered, so k is cached by then. (Replies keep
  // their order, but a command that need not wait for Redis runs at once.)
  REQUIRE(c.send("CLIENT GETNAME\r\nINFO keyspace\r\nCOMMAND INFO get\r\n"));
  std::vector<std::string> r = readReplies(c, 6);  // all six since HELLO
  REQUIRE(r.size() == 6);
  CHECK(r[0].rfind("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
                   "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:",
                   0) == 0);
  CHECK(r[1] == "_\r\n");
  CHECK(r[2] == "*2\r\n$1\r\nv\r\n_\r\n");
  CHECK(r[3] == "_\r\n");
  // INFO is a verbatim string on RESP3.
  CHECK(r[4] == "=38\r\ntxt:# Keyspace\r\ndb0:keys=1,expires=1\r\n\r\n");
  CHECK(r[5] ==
        "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        "~0\r\n~0\r\n~0\r\n~0\r\n");
}

TEST_CASE("cacheproxy: RESP CLIENT SETINFO is answered as Redis 7.2 does", "[cacheproxy][resp]") {
  TestStack s = cacheStack();
  RawConnection c(s.redge.cacheRespPort());
  REQUIRE(
      c.send("CLIENT SETINFO LIB-NAME redis-py\r\nCLIENT SETINFO lib-ver 5.0.1\r\n"
             "CLIENT SETINFO LIB-NAME \"has space\"\r\nCLIENT SETINFO lib-size 3\r\n"
             "CLIENT SETINFO LIB-NAME\r\nCLIENT SETINFO LIB-VER \"\"\r\n"));
  std::vector<std::string> r = readReplies(c, 6);
  REQUIRE(r.size() == 6);
  CHECK(r[0] == "+OK\r\n");
  CHECK(r[1] == "+OK\r\n");
  CHECK(r[2] == "-ERR LIB-NAME cannot contain spaces, newlines or special characters.\r\n");
  CHECK(r[3] == "-ERR Unrecognized option 'lib-size'\r\n");
  CHECK(r[4] == "-ERR wrong number of arguments for 'client|setinfo' command\r\n");
  CHECK(r[5] == "+OK\r\n");
}

TEST_CASE("cacheproxy: RESP write inside MULTI is refused and EXEC aborts, the connection stays",
          "[cacheproxy][resp][multi]") {
  TestStack s = cacheStack();
  s.redis.command({"SET", "k", "v"});
  RawConnection c(s.redge.cacheRespPort());
  REQUIRE(c.send("MULTI\r\nGET k\r\nSET k other\r\nEXEC\r\nGET k\r\nEXEC\r\n"));
  std::vector<std::string> r = readReplies(c, 6);
  REQUIRE(r.size() == 6);
  CHECK(r[0] == "+OK\r\n");
  CHECK(r[1] == "+QUEUED\r\n");
  CHECK(r[2] == "-ERR unknown command 'SET', with args beginning with: 'k' 'other' \r\n");
  CHECK(r[3] == "-EXECABORT Transaction discarded because of previous errors.\r\n");
  CHECK(r[4] == "$1\r\nv\r\n");
  CHECK(r[5] == "-ERR EXEC without MULTI\r\n");
  CHECK(s.redis.command({"GET", "k"}).str == "v");  // nothing was written
  const std::string labels = "{service=\"cacheproxy\",reason=";
  CHECK(scrapeMetric(s.redge,
                     "redge_resp_commands_refused_total" + labels + "\"unknown_command\"}") == 1);
  CHECK(scrapeMetric(s.redge, "redge_resp_commands_refused_total" + labels +
                                  "\"transaction_aborted\"}") == 1);
  CHECK(scrapeMetric(s.redge, "redge_resp_commands_refused_total" + labels + "\"wrong_arity\"}") ==
        0);
}

TEST_CASE("cacheproxy: RESP EXEC answers one array in order while parts wait for Redis",
          "[cacheproxy][resp][multi]") {
  TestStack s = cacheStack();
  s.redis.command({"SET", "hot", "cached"});
  s.redis.command({"SET", "cold", "from redis"});
  RawConnection c(s.redge.cacheRespPort());
  REQUIRE(c.send("GET hot\r\n"));
  REQUIRE(readReplies(c, 1) == std::vector<std::string>{"$6\r\ncached\r\n"});

  RawConnection fresh(s.redge.cacheRespPort());
  s.redis.pause();
  // The cold GET cannot be answered until Redis resumes; the hit, the PING
  // and the GET after EXEC are ready at once and must wait their turn.
  REQUIRE(
      fresh.send("MULTI\r\nGET cold\r\nGET hot\r\nPING\r\nMGET hot cold\r\nEXEC\r\n"
                 "GET hot\r\n"));
  REQUIRE(fresh.readUntil("+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n", 3000ms));
  s.redis.resume();
  std::vector<std::string> r = readReplies(fresh, 7);
  REQUIRE(r.size() == 7);
  CHECK(r[0] == "+OK\r\n");
  CHECK(r[5] ==
        "*4\r\n$10\r\nfrom redis\r\n$6\r\ncached\r\n+PONG\r\n*2\r\n$6\r\ncached\r\n"
        "$10\r\nfrom redis\r\n");
  CHECK(r[6] == "$6\r\ncached\r\n");
}

TEST_CASE("cacheproxy: RESP EXEC part that fails is an error inside the array",
          "[cacheproxy][resp][multi]") {
  TestStack s = cacheStack();
  s.redis.command({"SET", "hot", "cached"});
  RawConnection c(s.redge.cacheRespPort());
  REQUIRE(c.send("GET hot\r\n"));
  REQUIRE(readReplies(c, 1).size() == 1);
  s.redis.stop();
  REQUIRE(c.send("MULTI\r\nGET hot\r\nGET cold\r\nTTL hot\r\nEXEC\r\nPING\r\n"));
  std::vector<std::string> r = readReplies(c, 7);  // the first GET's reply, then these six
  REQUIRE(r.size() == 7);
  CHECK(r[1] == "+OK\r\n");
  CHECK(r[5] == "*3\r\n$6\r\ncached\r\n-ERR redis unavailable\r\n-ERR redis unavailable\r\n");
  CHECK(r[6] == "+PONG\r\n");
}

TEST_CASE("cacheproxy: RESP connection that closes while its EXEC waits leaves nothing behind",
          "[cacheproxy][resp][multi]") {
  TestStack s = cacheStack();
  s.redis.command({"SET", "cold", "v"});
  {
    RawConnection c(s.redge.cacheRespPort());
    s.redis.pause();
    REQUIRE(c.send("MULTI\r\nGET cold\r\nTTL cold\r\nEXEC\r\n"));
    REQUIRE(c.readUntil("+QUEUED\r\n+QUEUED\r\n", 3000ms));
  }  // closed with the EXEC's parts still at Redis
  s.redis.resume();
  RawConnection after(s.redge.cacheRespPort());
  REQUIRE(after.send("MULTI\r\nGET cold\r\nEXEC\r\n"));
  std::vector<std::string> r = readReplies(after, 3);
  REQUIRE(r.size() == 3);
  CHECK(r[2] == "*1\r\n$1\r\nv\r\n");
  CHECK(s.redge.running());
}

TEST_CASE("cacheproxy: RESP transaction past the queue limit is aborted",
          "[cacheproxy][resp][multi]") {
  TestStack s = cacheStack();
  RawConnection c(s.redge.cacheRespPort());
  std::string burst = "MULTI\r\n";
  for (int i = 0; i < 10001; ++i) burst += "PING\r\n";
  burst += "EXEC\r\nPING\r\n";
  REQUIRE(c.send(burst));
  std::vector<std::string> r = readReplies(c, 10004, 10000ms);
  REQUIRE(r.size() == 10004);
  CHECK(r[10000] == "+QUEUED\r\n");
  CHECK(r[10001].rfind("-ERR transaction too large", 0) == 0);
  CHECK(r[10002] == "-EXECABORT Transaction discarded because of previous errors.\r\n");
  CHECK(r[10003] == "+PONG\r\n");
}

TEST_CASE("cacheproxy: RESP INFO reports the server, its clients and the cache's counters",
          "[cacheproxy][resp]") {
  TestStack s = cacheStack();
  s.redis.command({"SET", "a", "1"});
  s.redis.command({"SET", "b", "2"});
  RedisConnection c(s.redge.cacheRespPort());
  RedisValue before = c.command({"INFO"});
  REQUIRE(before.type == RedisValue::Type::String);
  const std::string& b = before.str;
  CHECK(b.rfind("# Server\r\nredis_version:7.0.15\r\n", 0) == 0);
  CHECK(infoField(b, "redis_mode") == "standalone");
  CHECK(infoField(b, "tcp_port") == std::to_string(s.redge.cacheRespPort()));
  CHECK(infoField(b, "process_id") != "<absent>");
  CHECK(infoField(b, "connected_clients") == "1");
  CHECK(infoField(b, "role") == "master");
  CHECK(infoField(b, "keyspace_hits") == "0");
  CHECK(infoField(b, "keyspace_misses") == "0");
  CHECK(b.find("# Keyspace\r\n") != std::string::npos);
  CHECK(b.find("db0:") == std::string::npos);  // nothing cached yet

  c.command({"GET", "a"});  // miss
  c.command({"GET", "a"});  // hit
  c.command({"MGET", "b", "absent"});
  RawConnection other(s.redge.cacheRespPort());
  REQUIRE(other.send("PING\r\n"));
  REQUIRE(other.readUntil("+PONG\r\n", 3000ms));

  RedisValue after = c.command({"INFO", "stats", "KEYSPACE", "clients"});
  const std::string& a = after.str;
  CHECK(a.rfind("# Clients\r\n", 0) == 0);
  CHECK(infoField(a, "connected_clients") == "2");
  CHECK(infoField(a, "keyspace_hits") == "1");
  CHECK(infoField(a, "keyspace_misses") == "3");
  CHECK(infoField(a, "db0") == "keys=2,expires=2");
  CHECK(a.find("# Server") == std::string::npos);
  CHECK(std::stoll(infoField(a, "total_commands_processed")) >= 5);
}

TEST_CASE("cacheproxy: RESP COMMAND lists the command table", "[cacheproxy][resp]") {
  TestStack s = cacheStack();
  RedisConnection c(s.redge.cacheRespPort());
  RedisValue count = c.command({"COMMAND", "COUNT"});
  RedisValue all = c.command({"COMMAND"});
  REQUIRE(count.type == RedisValue::Type::Integer);
  REQUIRE(all.type == RedisValue::Type::Array);
  CHECK(static_cast<size_t>(count.integer) == all.elements.size());
  std::vector<std::string> names;
  for (const RedisValue& e : all.elements) names.push_back(e.elements.at(0).str);
  for (const char* want : {"get", "mget", "exists", "strlen", "type", "getrange", "ttl", "pttl",
                           "hello", "client", "multi", "exec", "discard", "info", "command"}) {
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
  }
  RedisValue info = c.command({"COMMAND", "INFO", "mget", "set"});
  REQUIRE(info.elements.size() == 2);
  CHECK(info.elements[0].elements.at(1).integer == -2);
  CHECK(info.elements[0].elements.at(4).integer == -1);  // last key: the last argument
  CHECK(info.elements[1].isNil());
  RedisValue help = c.command({"CLIENT", "HELP"});
  REQUIRE(help.type == RedisValue::Type::Array);
  CHECK(help.elements.at(0).str.rfind("CLIENT <subcommand>", 0) == 0);
}
