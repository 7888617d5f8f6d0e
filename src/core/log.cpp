// logfmt logging. One line per state change, written with one write(2) so
// lines from a crashing process are never interleaved half-way.

#include "core/log.hpp"

#include <sys/time.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "core/escape.hpp"

namespace redge {
namespace {

const char* levelName(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}

bool isBareToken(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

bool parseLogLevel(std::string_view text, LogLevel& out) {
  if (text == "debug")
    out = LogLevel::Debug;
  else if (text == "info")
    out = LogLevel::Info;
  else if (text == "warn")
    out = LogLevel::Warn;
  else if (text == "error")
    out = LogLevel::Error;
  else
    return false;
  return true;
}

void Log::stderrSink(std::string_view line) {
  // A single write keeps the line whole; a failed write to stderr has nowhere to be reported.
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

void appendLogfmtValue(std::string& out, std::string_view value) {
  if (isBareToken(value)) {
    out.append(value);
    return;
  }
  out.push_back('"');
  appendBackslashEscaped(out, value, ControlEscape::Logfmt);
  out.push_back('"');
}

LogLine::LogLine(LogLevel level, std::string_view event) : on_(Log::enabled(level)) {
  if (!on_) return;
  line_.reserve(160);
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char ts[64];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(tv.tv_usec / 1000));
  line_.append("ts=").append(ts).append(" level=").append(levelName(level)).append(" event=");
  appendLogfmtValue(line_, event);
  if (!Log::context().empty()) line_.append(" ").append(Log::context());
}

LogLine::~LogLine() {
  if (!on_) return;
  line_.push_back('\n');
  Log::write(line_);
}

LogLine& LogLine::kv(std::string_view key, std::string_view value) {
  if (!on_) return *this;
  line_.push_back(' ');
  line_.append(key).push_back('=');
  appendLogfmtValue(line_, value);
  return *this;
}

LogLine& LogLine::kv(std::string_view key, int64_t value) {
  if (!on_) return *this;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRId64, value);
  line_.push_back(' ');
  line_.append(key).push_back('=');
  line_.append(buf);
  return *this;
}

LogLine& LogLine::kv(std::string_view key, uint64_t value) {
  if (!on_) return *this;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRIu64, value);
  line_.push_back(' ');
  line_.append(key).push_back('=');
  line_.append(buf);
  return *this;
}

LogLine& LogLine::kv(std::string_view key, double value) {
  if (!on_) return *this;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%g", value);
  line_.push_back(' ');
  line_.append(key).push_back('=');
  line_.append(buf);
  return *this;
}

}  // namespace redge
