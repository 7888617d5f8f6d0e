// RESP reply appenders: the exact bytes of each value type (RESP2, and RESP3
// with its RESP2 stand-ins), CR/LF scrubbing in line-typed values, and that
// appending never disturbs what is already in the output buffer.

#include "net/resp/resp_writer.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>

using namespace std::string_literals;

TEST_CASE("simple strings", "[resp]") {
  std::string out;
  redge::appendRespSimple(out, "OK");
  CHECK(out == "+OK\r\n");
  out.clear();
  redge::appendRespSimple(out, "");
  CHECK(out == "+\r\n");
  out.clear();
  redge::appendRespSimple(out, "a\r\nb\nc\r");
  CHECK(out == "+a  b c \r\n");
}

TEST_CASE("errors", "[resp]") {
  std::string out;
  redge::appendRespError(out, "ERR unknown command");
  CHECK(out == "-ERR unknown command\r\n");
  out.clear();
  redge::appendRespError(out, "ERR Protocol error: expected '$', got '\r'");
  CHECK(out == "-ERR Protocol error: expected '$', got ' '\r\n");
  out.clear();
  redge::appendRespError(out, "ERR x\r\n+OK");  // cannot smuggle a second reply
  CHECK(out == "-ERR x  +OK\r\n");
}

TEST_CASE("integers", "[resp]") {
  std::string out;
  redge::appendRespInteger(out, 0);
  redge::appendRespInteger(out, 42);
  redge::appendRespInteger(out, -7);
  CHECK(out == ":0\r\n:42\r\n:-7\r\n");
  out.clear();
  redge::appendRespInteger(out, std::numeric_limits<int64_t>::max());
  redge::appendRespInteger(out, std::numeric_limits<int64_t>::min());
  CHECK(out == ":9223372036854775807\r\n:-9223372036854775808\r\n");
}

TEST_CASE("bulk strings", "[resp]") {
  std::string out;
  redge::appendRespBulk(out, "hello");
  CHECK(out == "$5\r\nhello\r\n");
  out.clear();
  redge::appendRespBulk(out, "");
  CHECK(out == "$0\r\n\r\n");
  out.clear();
  redge::appendRespBulk(out, "a\r\n\0b"s);  // binary safe: nothing scrubbed
  CHECK(out == "$5\r\na\r\n\0b\r\n"s);
  out.clear();
  const std::string big(100000, 'z');
  redge::appendRespBulk(out, big);
  CHECK(out == "$100000\r\n" + big + "\r\n");
}

TEST_CASE("nulls and arrays", "[resp]") {
  std::string out;
  redge::appendRespNull(out);
  CHECK(out == "$-1\r\n");
  out.clear();
  redge::appendRespNullArray(out);
  CHECK(out == "*-1\r\n");
  out.clear();
  redge::appendRespArrayHeader(out, 0);
  CHECK(out == "*0\r\n");
  out.clear();
  redge::appendRespArrayHeader(out, 3);
  redge::appendRespBulk(out, "a");
  redge::appendRespNull(out);
  redge::appendRespInteger(out, 1);
  CHECK(out == "*3\r\n$1\r\na\r\n$-1\r\n:1\r\n");
}

TEST_CASE("appending keeps what is already there", "[resp]") {
  std::string out = "+PONG\r\n";
  redge::appendRespError(out, "ERR a\nb");
  redge::appendRespSimple(out, "c\rd");
  CHECK(out == "+PONG\r\n-ERR a b\r\n+c d\r\n");
}

TEST_CASE("RESP3 types, and what RESP2 gets instead", "[resp]") {
  using redge::RespProtocol;
  std::string out;
  redge::appendRespNull(out, RespProtocol::Resp3);
  redge::appendRespNull(out, RespProtocol::Resp2);
  CHECK(out == "_\r\n$-1\r\n");
  out.clear();
  redge::appendRespNullArray(out, RespProtocol::Resp3);
  redge::appendRespNullArray(out, RespProtocol::Resp2);
  CHECK(out == "_\r\n*-1\r\n");
  out.clear();
  redge::appendRespMapHeader(out, 2, RespProtocol::Resp3);
  redge::appendRespMapHeader(out, 2, RespProtocol::Resp2);
  redge::appendRespMapHeader(out, 0, RespProtocol::Resp3);
  CHECK(out == "%2\r\n*4\r\n%0\r\n");
  out.clear();
  redge::appendRespSetHeader(out, 3, RespProtocol::Resp3);
  redge::appendRespSetHeader(out, 3, RespProtocol::Resp2);
  CHECK(out == "~3\r\n*3\r\n");
  out.clear();
  redge::appendRespVerbatim(out, "a:1\r\n", RespProtocol::Resp3);
  CHECK(out == "=9\r\ntxt:a:1\r\n\r\n");
  out.clear();
  redge::appendRespVerbatim(out, "a:1\r\n", RespProtocol::Resp2);
  CHECK(out == "$5\r\na:1\r\n\r\n");
  out.clear();
  redge::appendRespVerbatim(out, "", RespProtocol::Resp3);
  CHECK(out == "=4\r\ntxt:\r\n");
}
