// replyText and replyInteger over replies that hiredis's own reader builds
// from RESP bytes: every reply type, and no reply at all.

#include "redis/redis_reply.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "wire_reply.hpp"

namespace redge {
namespace {

using redge_test::parseWireReply;

}  // namespace

TEST_CASE("redis_reply: text of string, status and error replies", "[redis_reply]") {
  CHECK(replyText(parseWireReply("$5\r\nhello\r\n").get()) == "hello");
  CHECK(replyText(parseWireReply("$0\r\n\r\n").get(), "fallback").empty());  // empty, not missing
  CHECK(replyText(parseWireReply(std::string_view("$3\r\na\0b\r\n", 9)).get()) ==
        std::string_view("a\0b", 3));
  CHECK(replyText(parseWireReply("+OK\r\n").get()) == "OK");
  CHECK(replyText(parseWireReply("-ERR no such key\r\n").get()) == "ERR no such key");
}

TEST_CASE("redis_reply: replies without text give the fallback", "[redis_reply]") {
  CHECK(replyText(nullptr).empty());
  CHECK(replyText(nullptr, "Unavailable") == "Unavailable");
  CHECK(replyText(parseWireReply("$-1\r\n").get(), "nil") == "nil");
  CHECK(replyText(parseWireReply(":42\r\n").get(), "int") == "int");
  CHECK(replyText(parseWireReply("*1\r\n$1\r\na\r\n").get(), "array") == "array");
}

TEST_CASE("redis_reply: integers only from integer replies", "[redis_reply]") {
  CHECK(replyInteger(parseWireReply(":42\r\n").get()) == 42);
  CHECK(replyInteger(parseWireReply(":-7\r\n").get(), 5) == -7);
  CHECK(replyInteger(parseWireReply(":9223372036854775807\r\n").get()) == INT64_MAX);
  CHECK(replyInteger(nullptr) == 0);
  CHECK(replyInteger(nullptr, -1) == -1);
  CHECK(replyInteger(parseWireReply("$2\r\n42\r\n").get(), -1) ==
        -1);  // a number as text is not one
  CHECK(replyInteger(parseWireReply("$-1\r\n").get(), -1) == -1);
  CHECK(replyInteger(parseWireReply("-ERR x\r\n").get(), -1) == -1);
}

TEST_CASE("redis_reply: elements of an array", "[redis_reply]") {
  auto r = parseWireReply("*3\r\n$2\r\nid\r\n:3\r\n$-1\r\n");
  REQUIRE(r->elements == 3);
  CHECK(replyText(r->element[0]) == "id");
  CHECK(replyInteger(r->element[1]) == 3);
  CHECK(replyText(r->element[2], "none") == "none");
}

}  // namespace redge
