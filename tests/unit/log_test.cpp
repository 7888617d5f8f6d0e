// Logging: lines captured through Log::setSink. Each line is logfmt that
// starts with ts=, then level= and event=; values are bare or quoted with
// escapes; numbers are plain; lines below the level are never written.

#include "core/log.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace redge {
namespace {

std::vector<std::string>& captured() {
  static std::vector<std::string> lines;
  return lines;
}

void captureSink(std::string_view line) {
  captured().emplace_back(line);
}

// What the default sink does; Log keeps its own private, so this is what is
// put back when a test ends.
void stderrSink(std::string_view line) {
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

// Captures lines for one test and puts the sink and level back afterwards.
class CapturedLog {
 public:
  explicit CapturedLog(LogLevel level = LogLevel::Info) : saved_level_(Log::level()) {
    captured().clear();
    Log::setSink(&captureSink);
    Log::setLevel(level);
  }
  ~CapturedLog() {
    Log::setSink(&stderrSink);
    Log::setLevel(saved_level_);
    captured().clear();
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  const std::vector<std::string>& lines() const { return captured(); }
  // The only line so far, without its timestamp and newline.
  std::string onlyLine() const {
    REQUIRE(captured().size() == 1);
    const std::string& line = captured()[0];
    REQUIRE(line.size() > 1);
    REQUIRE(line.back() == '\n');
    const size_t space = line.find(' ');
    REQUIRE(space != std::string::npos);
    return line.substr(space + 1, line.size() - space - 2);
  }

 private:
  LogLevel saved_level_;
};

std::string logfmt(std::string_view value) {
  std::string out;
  appendLogfmtValue(out, value);
  return out;
}

}  // namespace

TEST_CASE("log: a line starts with ts= and has level= and event=", "[log]") {
  CapturedLog log;
  { LogLine(LogLevel::Info, "server_started").kv("port", 8080); }
  REQUIRE(log.lines().size() == 1);
  const std::string& line = log.lines()[0];
  CHECK_THAT(
      line, Catch::Matchers::Matches(R"(ts=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z level=info )"
                                     R"(event=server_started port=8080\n)"));
  CHECK(log.onlyLine() == "level=info event=server_started port=8080");
}

TEST_CASE("log: the line is written once, when it goes out of scope", "[log]") {
  CapturedLog log;
  {
    LogLine line(LogLevel::Warn, "slow");
    line.kv("a", "1");
    CHECK(log.lines().empty());
    line.kv("b", "2");
    CHECK(log.lines().empty());
  }
  CHECK(log.onlyLine() == "level=warn event=slow a=1 b=2");
}

TEST_CASE("log: level names", "[log]") {
  CapturedLog log(LogLevel::Debug);
  { REDGE_LOG(Debug, "e"); }
  { REDGE_LOG(Info, "e"); }
  { REDGE_LOG(Warn, "e"); }
  { REDGE_LOG(Error, "e"); }
  REQUIRE(log.lines().size() == 4);
  CHECK(log.lines()[0].find(" level=debug event=e\n") != std::string::npos);
  CHECK(log.lines()[1].find(" level=info event=e\n") != std::string::npos);
  CHECK(log.lines()[2].find(" level=warn event=e\n") != std::string::npos);
  CHECK(log.lines()[3].find(" level=error event=e\n") != std::string::npos);
}

TEST_CASE("log: lines below the level are not emitted", "[log]") {
  SECTION("at info") {
    CapturedLog log(LogLevel::Info);
    CHECK_FALSE(Log::enabled(LogLevel::Debug));
    CHECK(Log::enabled(LogLevel::Info));
    { REDGE_LOG(Debug, "hidden").kv("k", "v").kv("n", 1); }
    CHECK(log.lines().empty());
    { REDGE_LOG(Info, "shown"); }
    { REDGE_LOG(Error, "shown_too"); }
    CHECK(log.lines().size() == 2);
  }
  SECTION("at warn") {
    CapturedLog log(LogLevel::Warn);
    { REDGE_LOG(Debug, "hidden"); }
    { REDGE_LOG(Info, "hidden"); }
    CHECK(log.lines().empty());
    { REDGE_LOG(Warn, "shown"); }
    CHECK(log.lines().size() == 1);
  }
  SECTION("at error") {
    CapturedLog log(LogLevel::Error);
    { REDGE_LOG(Warn, "hidden"); }
    CHECK(log.lines().empty());
    { REDGE_LOG(Error, "shown"); }
    CHECK(log.onlyLine() == "level=error event=shown");
  }
  SECTION("at debug everything is") {
    CapturedLog log(LogLevel::Debug);
    { REDGE_LOG(Debug, "shown"); }
    CHECK(log.onlyLine() == "level=debug event=shown");
  }
}

TEST_CASE("log: values that need quoting", "[log]") {
  CapturedLog log;
  {
    REDGE_LOG(Info, "quoting")
        .kv("space", "a b")
        .kv("quote", "say \"hi\"")
        .kv("equals", "a=b")
        .kv("newline", "line1\nline2")
        .kv("backslash", "C:\\dir")
        .kv("empty", "");
  }
  CHECK(log.onlyLine() ==
        "level=info event=quoting space=\"a b\" quote=\"say \\\"hi\\\"\" equals=\"a=b\" "
        "newline=\"line1\\nline2\" backslash=\"C:\\\\dir\" empty=\"\"");
}

TEST_CASE("log: appendLogfmtValue", "[log]") {
  // Bare tokens.
  CHECK(logfmt("simple") == "simple");
  CHECK(logfmt("/path/to-x_y.z:80") == "/path/to-x_y.z:80");
  CHECK(logfmt("127.0.0.1:6379") == "127.0.0.1:6379");
  // Quoted.
  CHECK(logfmt("") == "\"\"");
  CHECK(logfmt(" ") == "\" \"");
  CHECK(logfmt("a b") == "\"a b\"");
  CHECK(logfmt("\"") == "\"\\\"\"");
  CHECK(logfmt("=") == "\"=\"");
  CHECK(logfmt("k=v") == "\"k=v\"");
  CHECK(logfmt("/path?x=1") == "\"/path?x=1\"");
  CHECK(logfmt("\\") == "\"\\\\\"");
  CHECK(logfmt("a\nb") == "\"a\\nb\"");
  CHECK(logfmt("a\rb") == "\"a\\rb\"");
  CHECK(logfmt("a\tb") == "\"a\\tb\"");
  CHECK(logfmt("\x01") == "\"\\x01\"");
  CHECK(logfmt(std::string_view("a\0b", 3)) == "\"a\\x00b\"");
  CHECK(logfmt("\x1f") == "\"\\x1f\"");
  CHECK(logfmt("\x7f") == "\"\x7f\"");
  // Non-ASCII bytes are quoted but passed through.
  CHECK(logfmt("caf\xC3\xA9") == "\"caf\xC3\xA9\"");
  // Appends.
  std::string out = "k=";
  appendLogfmtValue(out, "v w");
  CHECK(out == "k=\"v w\"");
}

TEST_CASE("log: a quoted value never ends the line or the pair early", "[log]") {
  // Whatever the value, the quoted form is one token with no raw newline,
  // and unquoting it gives back the value.
  for (int c = 0; c < 256; ++c) {
    const std::string value = std::string("x") + static_cast<char>(c) + "y";
    const std::string out = logfmt(value);
    INFO("byte " << c << " -> " << out);
    CHECK(out.find('\n') == std::string::npos);
    if (out.front() != '"') {
      CHECK(out == value);
      continue;
    }
    REQUIRE(out.size() >= 2);
    REQUIRE(out.back() == '"');
    std::string back;
    for (size_t i = 1; i + 1 < out.size(); ++i) {
      if (out[i] != '\\') {
        CHECK(out[i] != '"');
        back.push_back(out[i]);
        continue;
      }
      REQUIRE(i + 2 < out.size());
      const char e = out[++i];
      if (e == 'n')
        back.push_back('\n');
      else if (e == 'r')
        back.push_back('\r');
      else if (e == 't')
        back.push_back('\t');
      else if (e == '"' || e == '\\')
        back.push_back(e);
      else if (e == 'x') {
        REQUIRE(i + 3 < out.size());
        back.push_back(static_cast<char>(std::stoi(out.substr(i + 1, 2), nullptr, 16)));
        i += 2;
      } else {
        FAIL("unknown escape \\" << e);
      }
    }
    CHECK(back == value);
  }
}

TEST_CASE("log: the event is quoted like any value", "[log]") {
  CapturedLog log;
  { REDGE_LOG(Info, "odd event"); }
  CHECK(log.onlyLine() == "level=info event=\"odd event\"");
}

TEST_CASE("log: numbers and booleans", "[log]") {
  CapturedLog log;
  {
    REDGE_LOG(Info, "numbers")
        .kv("int", -5)
        .kv("zero", 0)
        .kv("unsigned", 7u)
        .kv("i64", std::numeric_limits<int64_t>::min())
        .kv("u64", std::numeric_limits<uint64_t>::max())
        .kv("ll", -12345678901LL)
        .kv("ull", 12345678901ULL)
        .kv("half", 0.5)
        .kv("ms", 12.25)
        .kv("big", 1e20)
        .kv("yes", true)
        .kv("no", false);
  }
  CHECK(log.onlyLine() ==
        "level=info event=numbers int=-5 zero=0 unsigned=7 i64=-9223372036854775808 "
        "u64=18446744073709551615 ll=-12345678901 ull=12345678901 half=0.5 ms=12.25 "
        "big=1e+20 yes=true no=false");
}

TEST_CASE("log: std::string values", "[log]") {
  CapturedLog log;
  const std::string s = "with space";
  const std::string t = "plain";
  { REDGE_LOG(Info, "strings").kv("s", s).kv("t", t).kv("sv", std::string_view("v")); }
  CHECK(log.onlyLine() == "level=info event=strings s=\"with space\" t=plain sv=v");
}

TEST_CASE("log: parseLogLevel", "[log]") {
  LogLevel level = LogLevel::Error;
  CHECK(parseLogLevel("debug", level));
  CHECK(level == LogLevel::Debug);
  CHECK(parseLogLevel("info", level));
  CHECK(level == LogLevel::Info);
  CHECK(parseLogLevel("warn", level));
  CHECK(level == LogLevel::Warn);
  CHECK(parseLogLevel("error", level));
  CHECK(level == LogLevel::Error);
  for (std::string_view bad : {"", "INFO", "Info", "warning", "err", "trace", " info"}) {
    INFO(bad);
    level = LogLevel::Warn;
    CHECK_FALSE(parseLogLevel(bad, level));
    CHECK(level == LogLevel::Warn);  // untouched on failure
  }
}

TEST_CASE("log: setLevel and enabled", "[log]") {
  const LogLevel saved = Log::level();
  Log::setLevel(LogLevel::Warn);
  CHECK(Log::level() == LogLevel::Warn);
  CHECK_FALSE(Log::enabled(LogLevel::Debug));
  CHECK_FALSE(Log::enabled(LogLevel::Info));
  CHECK(Log::enabled(LogLevel::Warn));
  CHECK(Log::enabled(LogLevel::Error));
  Log::setLevel(saved);
}

}  // namespace redge
