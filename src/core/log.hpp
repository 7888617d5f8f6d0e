#pragma once
// logfmt lines on stderr: `ts=... level=info event=breaker_open upstream=x`.
// A LogLine collects key=value pairs and writes the whole line once, when it
// goes out of scope; a line below the current level costs one comparison.

#include <cstdint>
#include <string>
#include <string_view>

namespace redge {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

// Parses "debug" | "info" | "warn" | "error".
bool parseLogLevel(std::string_view text, LogLevel& out);

class Log {
 public:
  static void setLevel(LogLevel level) { level_ = level; }
  static LogLevel level() { return level_; }
  static bool enabled(LogLevel level) { return level >= level_; }
  // Where lines go; tests may capture them. Default: stderr.
  static void setSink(void (*sink)(std::string_view line)) { sink_ = sink; }
  static void write(std::string_view line) { sink_(line); }
  // key=value fields every line carries after its event (a worker process's
  // `worker=2`); set once at start-up, before any line is written.
  static void setContext(std::string fields) { context_ = std::move(fields); }
  static const std::string& context() { return context_; }

 private:
  static inline LogLevel level_ = LogLevel::Info;
  static inline std::string context_;
  static void stderrSink(std::string_view line);
  static inline void (*sink_)(std::string_view) = &Log::stderrSink;
};

class LogLine {
 public:
  LogLine(LogLevel level, std::string_view event);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  LogLine& kv(std::string_view key, std::string_view value);
  LogLine& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  LogLine& kv(std::string_view key, const std::string& value) {
    return kv(key, std::string_view(value));
  }
  LogLine& kv(std::string_view key, int64_t value);
  LogLine& kv(std::string_view key, uint64_t value);
  LogLine& kv(std::string_view key, int value) { return kv(key, static_cast<int64_t>(value)); }
  LogLine& kv(std::string_view key, unsigned value) {
    return kv(key, static_cast<uint64_t>(value));
  }
  LogLine& kv(std::string_view key, long long value) {
    return kv(key, static_cast<int64_t>(value));
  }
  LogLine& kv(std::string_view key, unsigned long long value) {
    return kv(key, static_cast<uint64_t>(value));
  }
  LogLine& kv(std::string_view key, double value);
  LogLine& kv(std::string_view key, bool value) { return kv(key, value ? "true" : "false"); }

 private:
  bool on_;
  std::string line_;
};

// Appends `value` to `out` in logfmt form: bare when it is a simple token,
// otherwise double-quoted with \" \\ \n escaped.
void appendLogfmtValue(std::string& out, std::string_view value);

}  // namespace redge

#define REDGE_LOG(level, event) ::redge::LogLine(::redge::LogLevel::level, event)
