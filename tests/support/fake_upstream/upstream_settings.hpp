#pragma once
// The knobs of the fake upstream that a test may turn while it runs: set once
// from the command line, then patched through POST /control. Pure values and
// functions, no loop: the server applies whatever these accept.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace redge_test {

// What "down" looks like from the relay's side.
enum class DownMode {
  Refuse,  // every POST /message is answered 503 at once
  Hang,    // POST /message is never answered (the relay's timeout must fire)
  Close,   // the listener is closed: connects are refused
};

std::string_view downModeName(DownMode mode);
bool parseDownMode(std::string_view text, DownMode& out);

struct UpstreamSettings {
  int64_t latency_ms = 5;   // delay of every answer
  double error_ratio = 0;   // fraction of requests answered fail_status
  int64_t spike_every = 0;  // every Nth request waits spike_ms instead; 0: never
  int64_t spike_ms = 2000;
  bool down = false;
  DownMode down_mode = DownMode::Refuse;
  int fail_status = 500;
  int64_t retry_after_s = 0;  // > 0: Retry-After on the 503 of "down" and on failures
  bool healthy = true;        // GET /healthz: 200, or 503 when false
  int64_t echo_delay_ms = 0;  // delay of every echo answer (any other path)
  // An echo of a request whose body is larger than this answers fail_status
  // (a release that breaks on large uploads); 0: never.
  int64_t echo_fail_over_bytes = 0;
  int64_t echo_status = 200;  // status of every echo answer (?status= wins)
};

// Bounds shared by the flags and the control endpoint; "" when the settings
// are acceptable, else one sentence naming the field at fault.
std::string checkSettings(const UpstreamSettings& settings);

// Applies a POST /control body (a JSON object, any subset of the fields
// writeSettings() emits, minus the read-only ones) to `settings`. All or
// nothing: on error `settings` is untouched and the sentence is returned.
std::string applySettingsPatch(const rapidjson::Value& patch, UpstreamSettings& settings);

// Writes the settings' fields into an object the caller has opened.
void writeSettings(rapidjson::Writer<rapidjson::StringBuffer>& writer,
                   const UpstreamSettings& settings);

}  // namespace redge_test
