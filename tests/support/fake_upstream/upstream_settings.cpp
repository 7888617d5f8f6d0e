// Validation and JSON form of the fake upstream's settings. The control
// endpoint and the command line go through the same bounds, so a value a test
// can set at start it can also set later, and the other way round.

#include "upstream_settings.hpp"

#include <cmath>

namespace redge_test {
namespace {

// An hour: anything longer is a typo, and a timer that long would keep a
// test's connection open past any sensible timeout.
constexpr int64_t kMaxDelayMs = 3600000;
constexpr int64_t kMaxRetryAfterS = 86400;

// Reads an integer field into `out`; "" when absent or valid.
std::string readInt(const rapidjson::Value& patch, const char* name, int64_t& out) {
  auto it = patch.FindMember(name);
  if (it == patch.MemberEnd()) return "";
  if (!it->value.IsInt64()) return std::string(name) + " must be an integer.";
  out = it->value.GetInt64();
  return "";
}

bool isKnownField(std::string_view name) {
  static constexpr std::string_view kFields[] = {
      "latency_ms", "error_ratio",   "spike_every", "spike_ms",
      "down",       "down_mode",     "fail_status", "retry_after_s",
      "healthy",    "echo_delay_ms", "echo_status", "echo_fail_over_bytes"};
  for (std::string_view f : kFields) {
    if (f == name) return true;
  }
  return false;
}

}  // namespace

std::string_view downModeName(DownMode mode) {
  switch (mode) {
    case DownMode::Refuse:
      return "refuse";
    case DownMode::Hang:
      return "hang";
    case DownMode::Close:
      return "close";
  }
  return "refuse";
}

bool parseDownMode(std::string_view text, DownMode& out) {
  for (DownMode mode : {DownMode::Refuse, DownMode::Hang, DownMode::Close}) {
    if (downModeName(mode) == text) {
      out = mode;
      return true;
    }
  }
  return false;
}

std::string checkSettings(const UpstreamSettings& s) {
  if (s.latency_ms < 0 || s.latency_ms > kMaxDelayMs) {
    return "latency_ms must be between 0 and " + std::to_string(kMaxDelayMs) + ".";
  }
  if (s.spike_ms < 0 || s.spike_ms > kMaxDelayMs) {
    return "spike_ms must be between 0 and " + std::to_string(kMaxDelayMs) + ".";
  }
  if (s.spike_every < 0) return "spike_every must be 0 (never) or a positive count.";
  if (s.echo_status < 200 || s.echo_status > 599) return "echo_status must be between 200 and 599.";
  if (s.echo_fail_over_bytes < 0) return "echo_fail_over_bytes must be 0 or more.";
  if (s.echo_delay_ms < 0 || s.echo_delay_ms > kMaxDelayMs) {
    return "echo_delay_ms must be between 0 and " + std::to_string(kMaxDelayMs) + ".";
  }
  // NaN fails both comparisons, hence the explicit check.
  if (std::isnan(s.error_ratio) || s.error_ratio < 0 || s.error_ratio > 1) {
    return "error_ratio must be between 0 and 1.";
  }
  // A 2xx "failure" would be counted as a delivery, which no test means.
  if (s.fail_status < 400 || s.fail_status > 599) return "fail_status must be between 400 and 599.";
  if (s.retry_after_s < 0 || s.retry_after_s > kMaxRetryAfterS) {
    return "retry_after_s must be between 0 and " + std::to_string(kMaxRetryAfterS) + ".";
  }
  return "";
}

std::string applySettingsPatch(const rapidjson::Value& patch, UpstreamSettings& settings) {
  if (!patch.IsObject()) return "The body must be a JSON object of settings.";
  // A misspelt field silently ignored would leave a test running against
  // settings it did not ask for.
  for (auto m = patch.MemberBegin(); m != patch.MemberEnd(); ++m) {
    std::string_view name(m->name.GetString(), m->name.GetStringLength());
    if (!isKnownField(name)) return "Unknown setting '" + std::string(name) + "'.";
  }
  UpstreamSettings next = settings;
  std::string err;
  if (!(err = readInt(patch, "latency_ms", next.latency_ms)).empty()) return err;
  if (!(err = readInt(patch, "spike_every", next.spike_every)).empty()) return err;
  if (!(err = readInt(patch, "spike_ms", next.spike_ms)).empty()) return err;
  if (!(err = readInt(patch, "retry_after_s", next.retry_after_s)).empty()) return err;
  if (!(err = readInt(patch, "echo_delay_ms", next.echo_delay_ms)).empty()) return err;
  if (!(err = readInt(patch, "echo_fail_over_bytes", next.echo_fail_over_bytes)).empty())
    return err;
  if (!(err = readInt(patch, "echo_status", next.echo_status)).empty()) return err;
  if (auto it = patch.FindMember("healthy"); it != patch.MemberEnd()) {
    if (!it->value.IsBool()) return "healthy must be true or false.";
    next.healthy = it->value.GetBool();
  }
  int64_t fail_status = next.fail_status;
  if (!(err = readInt(patch, "fail_status", fail_status)).empty()) return err;
  if (fail_status < 0 || fail_status > 999) return "fail_status must be between 400 and 599.";
  next.fail_status = static_cast<int>(fail_status);
  if (auto it = patch.FindMember("error_ratio"); it != patch.MemberEnd()) {
    if (!it->value.IsNumber()) return "error_ratio must be a number.";
    next.error_ratio = it->value.GetDouble();
  }
  if (auto it = patch.FindMember("down"); it != patch.MemberEnd()) {
    if (!it->value.IsBool()) return "down must be true or false.";
    next.down = it->value.GetBool();
  }
  if (auto it = patch.FindMember("down_mode"); it != patch.MemberEnd()) {
    if (!it->value.IsString() ||
        !parseDownMode(std::string_view(it->value.GetString(), it->value.GetStringLength()),
                       next.down_mode)) {
      return "down_mode must be \"refuse\", \"hang\" or \"close\".";
    }
  }
  if (!(err = checkSettings(next)).empty()) return err;
  settings = next;
  return "";
}

void writeSettings(rapidjson::Writer<rapidjson::StringBuffer>& w, const UpstreamSettings& s) {
  w.Key("latency_ms");
  w.Int64(s.latency_ms);
  w.Key("error_ratio");
  w.Double(s.error_ratio);
  w.Key("spike_every");
  w.Int64(s.spike_every);
  w.Key("spike_ms");
  w.Int64(s.spike_ms);
  w.Key("down");
  w.Bool(s.down);
  w.Key("down_mode");
  std::string_view mode = downModeName(s.down_mode);
  w.String(mode.data(), static_cast<rapidjson::SizeType>(mode.size()));
  w.Key("fail_status");
  w.Int(s.fail_status);
  w.Key("retry_after_s");
  w.Int64(s.retry_after_s);
  w.Key("healthy");
  w.Bool(s.healthy);
  w.Key("echo_delay_ms");
  w.Int64(s.echo_delay_ms);
  w.Key("echo_fail_over_bytes");
  w.Int64(s.echo_fail_over_bytes);
  w.Key("echo_status");
  w.Int64(s.echo_status);
}

}  // namespace redge_test
