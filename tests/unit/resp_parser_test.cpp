// RespParser: multibulk and inline requests, pipelining, skipped input, every
// protocol error and the limits. Every sample is parsed whole, one byte at a
// time and (when short) split at every point into two chunks, and all of them
// must give the same commands, the same error and the same unparsed tail,
// because the network decides the chunking.

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "net/resp/resp_parser.hpp"
#include "net/resp/resp_writer.hpp"

using redge::RespLimits;
using redge::RespParser;
using redge::parseRespInteger;
using namespace std::string_literals;

namespace {

struct Command {
  std::vector<std::string> args;
  bool is_inline = false;
  bool operator==(const Command& o) const { return args == o.args && is_inline == o.is_inline; }
};

struct Outcome {
  std::vector<Command> commands;
  bool failed = false;
  std::string error;
  std::string leftover;   // bytes still unparsed at the end (empty after an error)
  std::string violation;  // a broken API promise, empty if none

  bool operator==(const Outcome& o) const {
    return commands == o.commands && failed == o.failed && error == o.error &&
           leftover == o.leftover && violation == o.violation;
  }
};

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x" + std::to_string(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string describe(const Outcome& o) {
  std::string s = "failed=" + std::to_string(o.failed) + " error=[" + printable(o.error) +
                  "] leftover=[" + printable(o.leftover.substr(0, 64)) + "]";
  if (!o.violation.empty()) s += " violation=" + o.violation;
  for (const Command& c : o.commands) {
    s += c.is_inline ? "\n  inline" : "\n  multibulk";
    for (const std::string& a : c.args) s += " [" + printable(a.substr(0, 64)) + "]";
  }
  return s;
}

// A connection as a server would drive the parser: one growing buffer, the
// consumed bytes dropped after every call, pieces ending at `cuts` appended.
Outcome run(std::string_view input, const std::vector<size_t>& cuts, const RespLimits& limits) {
  Outcome out;
  RespParser parser(limits);
  std::string buffer;

  // Parses what the buffer holds; false once the parser has failed.
  auto drain = [&]() {
    while (true) {
      size_t consumed = 99999999;
      const RespParser::Result result = parser.parse(buffer, consumed);
      if (consumed > buffer.size()) out.violation = "consumed beyond the buffer";
      if (result == RespParser::Result::Error) {
        if (consumed != 0) out.violation = "consumed on error";
        if (parser.error().empty()) out.violation = "error without a message";
        if (!parser.args().empty()) out.violation = "args on error";
        size_t again = 1;
        if (parser.parse(buffer, again) != RespParser::Result::Error || again != 0 ||
            parser.error().empty()) {
          out.violation = "error not sticky";
        }
        out.failed = true;
        out.error = std::string(parser.error());
        return false;
      }
      if (!parser.error().empty()) out.violation = "error message without error";
      if (result == RespParser::Result::NeedMore) {
        if (!parser.args().empty()) out.violation = "args without a command";
        buffer.erase(0, consumed);
        return true;
      }
      if (consumed == 0) out.violation = "command consumed nothing";
      if (parser.args().empty()) out.violation = "command without args";
      Command command;
      command.is_inline = parser.inlineCommand();
      for (std::string_view arg : parser.args()) {
        // Multibulk arguments are views into the caller's buffer.
        const bool in_buffer =
            arg.data() >= buffer.data() && arg.data() + arg.size() <= buffer.data() + consumed;
        if (!command.is_inline && !in_buffer) out.violation = "multibulk arg outside the buffer";
        command.args.emplace_back(arg);
      }
      out.commands.push_back(std::move(command));
      buffer.erase(0, consumed);
    }
  };

  size_t begin = 0;
  bool ok = true;
  for (size_t cut : cuts) {
    buffer.append(input.substr(begin, cut - begin));
    begin = cut;
    ok = drain();
    if (!ok) break;
  }
  if (ok) {
    buffer.append(input.substr(begin));
    ok = drain();
  }
  if (ok) out.leftover = buffer;
  return out;
}

Outcome runBytewise(std::string_view input, const RespLimits& limits) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
  return run(input, cuts, limits);
}

// Longer samples get a handful of split points instead of all of them.
constexpr size_t kAllSplitsMax = 4096;

// Parses `input` every way described at the top and returns the one outcome
// they all agree on.
Outcome parseAllWays(std::string_view input, const RespLimits& limits = {}) {
  const Outcome whole = run(input, {}, limits);
  INFO("input: " << printable(input.substr(0, 200)));
  INFO("whole: " << describe(whole));
  CHECK(whole.violation.empty());

  const Outcome bytewise = runBytewise(input, limits);
  INFO("bytewise: " << describe(bytewise));
  CHECK(bytewise == whole);

  std::vector<size_t> splits;
  if (input.size() <= kAllSplitsMax) {
    for (size_t i = 1; i < input.size(); ++i) splits.push_back(i);
  } else {
    for (size_t i : {size_t{1}, input.size() / 3, input.size() / 2, input.size() - 1}) {
      splits.push_back(i);
    }
  }
  for (size_t split : splits) {
    const Outcome two = run(input, {split}, limits);
    if (!(two == whole)) {
      INFO("split at " << split << ": " << describe(two));
      CHECK(two == whole);
    }
  }
  return whole;
}

Command mb(std::vector<std::string> args) {
  return Command{std::move(args), false};
}
Command il(std::vector<std::string> args) {
  return Command{std::move(args), true};
}

// A multibulk request for `args`, written by hand (not by the writer) so the
// parser tests do not lean on the code under test elsewhere.
std::string request(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args)
    out.append("$").append(std::to_string(a.size())).append("\r\n").append(a).append("\r\n");
  return out;
}

// Expects the input to parse, every way, to exactly `commands` with nothing left.
void expectCommands(std::string_view input, const std::vector<Command>& commands,
                    const RespLimits& limits = {}) {
  const Outcome o = parseAllWays(input, limits);
  INFO("input: " << printable(input.substr(0, 200)) << "\noutcome: " << describe(o));
  CHECK_FALSE(o.failed);
  CHECK(o.leftover.empty());
  CHECK(o.commands == commands);
}

// Expects the input to fail, every way, with `error` after `before` commands.
void expectError(std::string_view input, const std::string& error, size_t before = 0,
                 const RespLimits& limits = {}) {
  const Outcome o = parseAllWays(input, limits);
  INFO("input: " << printable(input.substr(0, 200)) << "\noutcome: " << describe(o));
  CHECK(o.failed);
  CHECK(o.error == error);
  CHECK(o.commands.size() == before);
}

// Expects an incomplete request: no command and no error yet, however fed.
void expectIncomplete(std::string_view input, const RespLimits& limits = {}) {
  const Outcome o = parseAllWays(input, limits);
  INFO("input: " << printable(input.substr(0, 200)) << "\noutcome: " << describe(o));
  CHECK_FALSE(o.failed);
  CHECK(o.commands.empty());
  CHECK_FALSE(o.leftover.empty());
}

}  // namespace

TEST_CASE("multibulk commands", "[resp]") {
  expectCommands("*1\r\n$4\r\nPING\r\n", {mb({"PING"})});
  expectCommands("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", {mb({"SET", "key", "value"})});
  expectCommands(request({"GET", "a b"}), {mb({"GET", "a b"})});
}

TEST_CASE("multibulk arguments are binary safe", "[resp]") {
  const std::string crlf_arg = "line1\r\nline2\r\n";
  const std::string nul_arg = "a\0b\0"s;
  const std::string protocol_arg = "*2\r\n$3\r\n";
  const std::string high = "\xff\xfe\x80\x00\r"s;
  expectCommands(request({"SET", crlf_arg, nul_arg}), {mb({"SET", crlf_arg, nul_arg})});
  expectCommands(request({protocol_arg, high, "\n"}), {mb({protocol_arg, high, "\n"})});
  expectCommands(request({std::string(300, '\0')}), {mb({std::string(300, '\0')})});
}

TEST_CASE("empty bulk arguments", "[resp]") {
  expectCommands("*1\r\n$0\r\n\r\n", {mb({""})});
  expectCommands("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n", {mb({"SET", "", ""})});
}

TEST_CASE("pipelined commands come out one per call, in order", "[resp]") {
  const std::string input = request({"SET", "k", "v"}) + request({"GET", "k"}) + "PING\r\n" +
                            request({"DEL", "k"}) + "ECHO \"x y\"\n" + request({"QUIT"});
  expectCommands(input, {mb({"SET", "k", "v"}), mb({"GET", "k"}), il({"PING"}), mb({"DEL", "k"}),
                         il({"ECHO", "x y"}), mb({"QUIT"})});

  // By hand: each parse() returns the first command and says how long it is.
  RespParser parser;
  std::string buffer = request({"GET", "a"}) + request({"GET", "bb"}) + "*1\r\n$4\r\nPI";
  size_t consumed = 0;
  REQUIRE(parser.parse(buffer, consumed) == RespParser::Result::Command);
  CHECK(consumed == request({"GET", "a"}).size());
  CHECK(parser.args() == std::vector<std::string_view>{"GET", "a"});
  buffer.erase(0, consumed);
  REQUIRE(parser.parse(buffer, consumed) == RespParser::Result::Command);
  CHECK(parser.args() == std::vector<std::string_view>{"GET", "bb"});
  buffer.erase(0, consumed);
  REQUIRE(parser.parse(buffer, consumed) == RespParser::Result::NeedMore);
  CHECK(consumed == 0);
  CHECK(parser.args().empty());
  buffer += "NG\r\n";
  REQUIRE(parser.parse(buffer, consumed) == RespParser::Result::Command);
  CHECK(consumed == buffer.size());
  CHECK(parser.args() == std::vector<std::string_view>{"PING"});
}

TEST_CASE("partial requests wait for more", "[resp]") {
  expectIncomplete("*");
  expectIncomplete("*2");
  expectIncomplete("*2\r");
  expectIncomplete("*2\r\n$3\r\nGET\r\n");
  expectIncomplete("*2\r\n$3\r\nGET\r\n$1\r\nk");
  expectIncomplete("*2\r\n$3\r\nGET\r\n$1\r\nk\r");
  expectIncomplete("PING");
  expectIncomplete("PING\r");
  expectIncomplete("\"unclosed until the line ends");
}

TEST_CASE("empty and null multibulks are skipped", "[resp]") {
  expectCommands("*0\r\n", {});
  expectCommands("*-1\r\n", {});
  expectCommands("*-5\r\n", {});  // Redis skips any count <= 0
  expectCommands("*0\r\n*-1\r\n" + request({"PING"}) + "*0\r\n", {mb({"PING"})});

  RespParser parser;
  size_t consumed = 0;
  CHECK(parser.parse("*0\r\n*1\r\n$4\r\nPI", consumed) == RespParser::Result::NeedMore);
  CHECK(consumed == 4);  // the skipped *0 may go; the partial command stays
}

TEST_CASE("inline commands", "[resp]") {
  expectCommands("PING\r\n", {il({"PING"})});
  expectCommands("PING\n", {il({"PING"})});
  expectCommands("SET key value\r\n", {il({"SET", "key", "value"})});
  expectCommands("  SET \t key   value \t \r\n", {il({"SET", "key", "value"})});
  expectCommands("GET $5\n", {il({"GET", "$5"})});  // a '$' or '*' inside is just text
  expectCommands("PING\r\nPING\nPING\r\n", {il({"PING"}), il({"PING"}), il({"PING"})});
  // Only the CR right before the LF is part of the line end; another CR
  // separates words like a space does.
  expectCommands("PING\r\r\n", {il({"PING"})});
  expectCommands("a\rb\n", {il({"a", "b"})});
  // Vertical tab and form feed are skipped between words but kept inside one.
  expectCommands("\va\vb \f\n", {il({"a\vb"})});
  // NUL is an ordinary byte.
  expectCommands("SET k a\0b\n"s, {il({"SET", "k", "a\0b"s})});
}

TEST_CASE("inline double quotes and escapes", "[resp]") {
  expectCommands("SET k \"hello world\"\r\n", {il({"SET", "k", "hello world"})});
  expectCommands("ECHO \"\"\n", {il({"ECHO", ""})});
  expectCommands(R"(ECHO "a\nb\rc\td\be\af\\g\"h")"
                 "\n",
                 {il({"ECHO", "a\nb\rc\td\be\af\\g\"h"})});
  expectCommands(R"(ECHO "\x41\x7a\x00\xff\xFf")"
                 "\n",
                 {il({"ECHO", "Az\0\xff\xff"s})});
  // Not a full \xHH escape: backslash-x is just 'x'.
  expectCommands(R"(ECHO "\xZZ" "\x4" "\x")"
                 "\n",
                 {il({"ECHO", "xZZ", "x4", "x"})});
  // Any other escaped byte stands for itself.
  expectCommands(R"(ECHO "\q\'\$")"
                 "\n",
                 {il({"ECHO", "q'$"})});
  // Quoted and bare text join into one word.
  expectCommands("ECHO a\"b c\" d\n", {il({"ECHO", "ab c", "d"})});
  // Raw CR and tab inside quotes are kept.
  expectCommands("ECHO \"a\rb\tc\"\r\n", {il({"ECHO", "a\rb\tc"})});
  // A closing quote may be followed by any whitespace.
  expectCommands("ECHO \"a\"\tb\n", {il({"ECHO", "a", "b"})});
  expectCommands("ECHO \"a\"\r\r\n", {il({"ECHO", "a"})});
}

TEST_CASE("inline single quotes", "[resp]") {
  expectCommands("ECHO 'it\\'s'\n", {il({"ECHO", "it's"})});
  expectCommands("ECHO 'a\\nb'\n", {il({"ECHO", "a\\nb"})});  // no other escapes
  expectCommands("ECHO 'say \"hi\"'\n", {il({"ECHO", "say \"hi\""})});
  expectCommands("ECHO ''\n", {il({"ECHO", ""})});
  expectCommands("ECHO 'a\\b'\n", {il({"ECHO", "a\\b"})});
}

TEST_CASE("empty inline lines are skipped", "[resp]") {
  expectCommands("\r\n", {});
  expectCommands("\n", {});
  expectCommands("   \t \r\n", {});
  expectCommands("\r\n\n  \r\nPING\r\n\r\n", {il({"PING"})});
  // Blank lines between multibulk requests, as telnet users send them.
  expectCommands(request({"GET", "a"}) + "\r\n" + request({"GET", "b"}),
                 {mb({"GET", "a"}), mb({"GET", "b"})});

  RespParser parser;
  size_t consumed = 0;
  CHECK(parser.parse("\r\n\r\nPIN", consumed) == RespParser::Result::NeedMore);
  CHECK(consumed == 4);
}

TEST_CASE("inline unbalanced quotes", "[resp]") {
  const std::string unbalanced = "Protocol error: unbalanced quotes in request";
  expectError("ECHO \"abc\r\n", unbalanced);
  expectError("ECHO 'abc\n", unbalanced);
  expectError("ECHO \"abc\"def\n", unbalanced);  // closing quote glued to a word
  expectError("ECHO 'a'b\n", unbalanced);
  expectError("ECHO a\"b\"c\n", unbalanced);
  expectError("ECHO \"abc\\\"\n", unbalanced);  // the last quote is escaped
  expectError("ECHO 'abc\\'\n", unbalanced);
  expectError("ECHO \"abc\\\n", unbalanced);  // a backslash ends the line
  expectError("PING\r\nECHO \"x\n", unbalanced, 1);
}

TEST_CASE("invalid multibulk length", "[resp]") {
  const std::string invalid = "Protocol error: invalid multibulk length";
  for (const char* count : {"abc", "", "01", "+1", " 1", "1 ", "-0", "1a", "0x10", "2147483648",
                            "99999999999999999999999", "-99999999999999999999999"}) {
    INFO("count: " << count);
    expectError("*"s + count + "\r\n", invalid);
  }
  expectError("*1\rX$4\r\nPING\r\n", invalid);  // count line not ended by CRLF
  expectError(request({"PING"}) + "*x\r\n", invalid, 1);

  RespLimits limits;
  limits.max_args = 3;
  expectError("*4\r\n", invalid, 0, limits);
  expectCommands(request({"a", "b", "c"}), {mb({"a", "b", "c"})}, limits);
}

TEST_CASE("expected '$'", "[resp]") {
  expectError("*1\r\nPING\r\n", "Protocol error: expected '$', got 'P'");
  expectError("*2\r\n$3\r\nGET\r\n:1\r\n", "Protocol error: expected '$', got ':'");
  expectError("*1\r\n\r\n", "Protocol error: expected '$', got '\r'");
  expectError("*1\r\n\0\r\n"s, "Protocol error: expected '$', got '\0'"s);
  // A nested array is not a request.
  expectError("*1\r\n*1\r\n$1\r\na\r\n", "Protocol error: expected '$', got '*'");
}

TEST_CASE("invalid bulk length", "[resp]") {
  const std::string invalid = "Protocol error: invalid bulk length";
  for (const char* len : {"abc", "", "-1", "-5", "01", "+3", " 3", "3 ", "-0", "3x",
                          "99999999999999999999999", "1048577"}) {
    INFO("len: " << len);
    expectError("*1\r\n$"s + len + "\r\n", invalid);
  }
  expectError("*1\r\n$3\rXabc\r\n", invalid);  // count line not ended by CRLF
  expectError("*2\r\n$1\r\na\r\n$z\r\n", invalid);

  RespLimits limits;
  limits.max_bulk_bytes = 10;
  expectError("*1\r\n$11\r\n", invalid, 0, limits);
  expectCommands(request({"0123456789"}), {mb({"0123456789"})}, limits);
}

TEST_CASE("bulk not followed by CRLF", "[resp]") {
  const std::string bad = "Protocol error: bulk argument not followed by CRLF";
  expectError("*1\r\n$3\r\nabcd\r\n", bad);
  expectError("*1\r\n$3\r\nabc\rX", bad);
  expectError("*1\r\n$3\r\nabc\n\r", bad);
  expectError("*1\r\n$0\r\nX", bad);
  expectError("*2\r\n$3\r\nGET\r\n$1\r\nab\r\n", bad);
  // Fails as soon as the wrong byte is there, without waiting for more.
  expectError("*1\r\n$3\r\nabcd", bad);
}

TEST_CASE("count lines are bounded", "[resp]") {
  SECTION("default limit") {
    const std::string digits(64 * 1024, '1');
    expectError("*" + digits, "Protocol error: too big mbulk count string");
    expectIncomplete("*" + digits.substr(1));  // exactly the limit: may still end
    expectError("*1\r\n$" + digits, "Protocol error: too big bulk count string");
    expectIncomplete("*1\r\n$" + digits.substr(1));
    // Too big is decided by where the CR is, not by when it arrives.
    expectError("*" + digits + "\r\n", "Protocol error: too big mbulk count string");
  }
  SECTION("small limit, at the boundary") {
    RespLimits limits;
    limits.max_inline_bytes = 4;
    expectCommands("*1\r\n$1\r\na\r\n", {mb({"a"})}, limits);
    // A CR at offset 4 is within the limit; at offset 5 it is not.
    expectIncomplete("*100\r\n", limits);
    expectError("*1000\r\n", "Protocol error: too big mbulk count string", 0, limits);
    expectIncomplete("*1\r\n$100\r\n", limits);
    expectError("*1\r\n$1000\r\n", "Protocol error: too big bulk count string", 0, limits);
    expectError("*1\r\n$a\r\n", "Protocol error: invalid bulk length", 0, limits);
  }
}

TEST_CASE("inline lines are bounded", "[resp]") {
  const std::string too_big = "Protocol error: too big inline request";
  SECTION("default limit") {
    const std::string word(64 * 1024, 'a');
    expectCommands(word + "\n", {il({word})});
    expectIncomplete(word);
    expectError(word + "a", too_big);
    expectError(word + "a\n", too_big);
    expectError(word + "\r\n", too_big);  // the CR counts towards the line
  }
  SECTION("small limit") {
    RespLimits limits;
    limits.max_inline_bytes = 8;
    expectCommands("GET abcd\nGET abc\r\n", {il({"GET", "abcd"}), il({"GET", "abc"})}, limits);
    expectError("GET abcd\r\n", too_big, 0, limits);
    expectError("PING\nGET abcdef", too_big, 1, limits);
    expectIncomplete("GET abcd", limits);
  }
}

TEST_CASE("declared sizes are checked on the count line itself", "[resp]") {
  RespParser parser;
  size_t consumed = 0;
  CHECK(parser.parse("*1048577\r\n", consumed) == RespParser::Result::Error);
  CHECK(parser.error() == "Protocol error: invalid multibulk length");

  parser.reset();
  CHECK(parser.parse("*1\r\n$1048577\r\n", consumed) == RespParser::Result::Error);
  CHECK(parser.error() == "Protocol error: invalid bulk length");

  // At the limits, nothing is decided until the bytes come.
  parser.reset();
  CHECK(parser.parse("*1048576\r\n$1048576\r\nabc", consumed) == RespParser::Result::NeedMore);
  CHECK(consumed == 0);
  CHECK(parser.error().empty());
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#if defined(__SANITIZE_ADDRESS__)
#define REDGE_RESP_MALLINFO 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REDGE_RESP_MALLINFO 0
#endif
#endif
#ifndef REDGE_RESP_MALLINFO
#define REDGE_RESP_MALLINFO 1
#endif
#endif

#if REDGE_RESP_MALLINFO
TEST_CASE("huge declared sizes cost no memory", "[resp]") {
  // Limits wide open, so only the parser's own restraint keeps memory small.
  RespLimits limits;
  limits.max_args = SIZE_MAX;
  limits.max_bulk_bytes = SIZE_MAX;
  RespParser parser(limits);
  const std::string buffer = "*2000000000\r\n$500000000000\r\nsome bytes";
  auto in_use = [] {
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
  };
  const size_t before = in_use();
  size_t consumed = 0;
  const RespParser::Result result = parser.parse(buffer, consumed);
  const size_t after = in_use();
  CHECK(result == RespParser::Result::NeedMore);
  CHECK(consumed == 0);
  CHECK(static_cast<ptrdiff_t>(after - before) < 4096);
}
#endif

TEST_CASE("a large bulk fed a byte at a time", "[resp]") {
  // Quadratic rescanning would take minutes here; linear takes milliseconds.
  std::string payload(1024 * 1024, 'x');
  payload[12345] = '\r';
  payload[12346] = '\n';
  const std::string input = request({"SET", "k", payload});
  RespParser parser;
  std::string buffer;
  size_t commands = 0;
  for (char c : input) {
    buffer.push_back(c);
    size_t consumed = 0;
    const RespParser::Result result = parser.parse(buffer, consumed);
    if (result == RespParser::Result::Error) FAIL(parser.error());
    if (result == RespParser::Result::Command) {
      ++commands;
      REQUIRE(parser.args().size() == 3);
      CHECK(parser.args()[2] == payload);
    }
    buffer.erase(0, consumed);
  }
  CHECK(commands == 1);
  CHECK(buffer.empty());
}

TEST_CASE("a long inline line fed a byte at a time", "[resp]") {
  const std::string line = "SET k " + std::string(60 * 1024, 'v') + "\r\n";
  const Outcome o = runBytewise(line, {});
  REQUIRE(o.commands.size() == 1);
  CHECK(o.commands[0].args.size() == 3);
  CHECK(o.commands[0].args[2].size() == 60 * 1024);
}

TEST_CASE("errors are sticky until reset", "[resp]") {
  RespParser parser;
  size_t consumed = 7;
  REQUIRE(parser.parse("*x\r\n", consumed) == RespParser::Result::Error);
  CHECK(consumed == 0);
  CHECK(parser.error() == "Protocol error: invalid multibulk length");
  CHECK(parser.parse("PING\r\n", consumed) == RespParser::Result::Error);
  CHECK(parser.args().empty());

  parser.reset();
  CHECK(parser.error().empty());
  REQUIRE(parser.parse("PING\r\n", consumed) == RespParser::Result::Command);
  CHECK(parser.args() == std::vector<std::string_view>{"PING"});
}

TEST_CASE("reset drops a partial command", "[resp]") {
  RespParser parser;
  size_t consumed = 0;
  REQUIRE(parser.parse("*2\r\n$3\r\nGET\r\n", consumed) == RespParser::Result::NeedMore);
  parser.reset();
  REQUIRE(parser.parse("*1\r\n$4\r\nPING\r\n", consumed) == RespParser::Result::Command);
  CHECK(parser.args() == std::vector<std::string_view>{"PING"});
}

TEST_CASE("inlineCommand tracks the last command returned", "[resp]") {
  RespParser parser;
  size_t consumed = 0;
  CHECK_FALSE(parser.inlineCommand());
  REQUIRE(parser.parse("PING\r\n", consumed) == RespParser::Result::Command);
  CHECK(parser.inlineCommand());
  REQUIRE(parser.parse("*1\r\n$4\r\nPING\r\n", consumed) == RespParser::Result::Command);
  CHECK_FALSE(parser.inlineCommand());
  // A partial inline command does not change it.
  REQUIRE(parser.parse("PIN", consumed) == RespParser::Result::NeedMore);
  CHECK_FALSE(parser.inlineCommand());
}

TEST_CASE("the buffer may move between calls", "[resp]") {
  RespParser parser;
  size_t consumed = 0;
  std::string first = "*2\r\n$3\r\nGET\r\n$5\r\nab";
  REQUIRE(parser.parse(first, consumed) == RespParser::Result::NeedMore);
  std::string moved = first + "cde\r\n";  // a new allocation holding the same bytes
  first.assign(first.size(), '#');
  REQUIRE(parser.parse(moved, consumed) == RespParser::Result::Command);
  CHECK(parser.args() == std::vector<std::string_view>{"GET", "abcde"});
}

TEST_CASE("writer output parses back", "[resp]") {
  const std::vector<std::string> args = {"SET", "k\r\n", "\0x"s, ""};
  std::string wire;
  redge::appendRespArrayHeader(wire, args.size());
  for (const std::string& a : args) redge::appendRespBulk(wire, a);
  expectCommands(wire, {mb(args)});
}

TEST_CASE("Redis's integer syntax, short and long", "[resp]") {
  int64_t v = 7;
  CHECK(parseRespInteger("0", v));
  CHECK(v == 0);
  CHECK(parseRespInteger("-12", v));
  CHECK(v == -12);
  CHECK(parseRespInteger("123456789012345678", v));  // 18 digits: summed by hand
  CHECK(v == 123456789012345678);
  CHECK(parseRespInteger("9223372036854775807", v));  // 19 digits: from_chars
  CHECK(v == INT64_MAX);
  CHECK(parseRespInteger("-9223372036854775808", v));
  CHECK(v == INT64_MIN);
  v = 7;
  for (const char* bad : {"", "-", "-0", "007", "+1", " 1", "1 ", "1a", "9223372036854775808",
                          "-9223372036854775809", "12345678901234567890123"}) {
    INFO(bad);
    CHECK_FALSE(parseRespInteger(bad, v));
  }
  CHECK(v == 7);  // a refused text leaves the value alone
}
