// FakeUpstreamProcess: starts build/fake_upstream for one test, learns its
// two ports from the log, and reads its /stats with RapidJSON so a relay test
// can count deliveries per Idempotency-Key.

#include "support/fake_upstream_process.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#ifndef FAKE_UPSTREAM_BINARY
#error "FAKE_UPSTREAM_BINARY must name the fake_upstream executable"
#endif

namespace redge_test {
namespace {

std::atomic<int> run_counter{0};

// The port of the complete `event=listening service=<service> ` line, or 0.
// The trailing space keeps "fake_upstream" from matching
// "fake_upstream_control".
int listeningPort(const std::string& log, const std::string& service) {
  std::string marker = "event=listening service=" + service + " ";
  size_t at = log.find(marker);
  if (at == std::string::npos) return 0;
  size_t line_end = log.find('\n', at);
  if (line_end == std::string::npos) return 0;  // still being written
  size_t port_at = log.find(" port=", at);
  if (port_at == std::string::npos || port_at > line_end) return 0;
  return std::atoi(log.c_str() + port_at + 6);
}

int64_t intMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsInt64()) return 0;
  return it->value.GetInt64();
}

std::map<std::string, int64_t> countMap(const rapidjson::Value& object, const char* name) {
  std::map<std::string, int64_t> out;
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsObject()) return out;
  for (auto m = it->value.MemberBegin(); m != it->value.MemberEnd(); ++m) {
    if (m->value.IsInt64()) {
      out[std::string(m->name.GetString(), m->name.GetStringLength())] = m->value.GetInt64();
    }
  }
  return out;
}

}  // namespace

int64_t UpstreamStats::deliveriesOf(const std::string& key) const {
  auto it = deliveries.find(key);
  return it == deliveries.end() ? 0 : it->second;
}

int64_t UpstreamStats::attemptsOf(const std::string& key) const {
  auto it = attempts.find(key);
  return it == attempts.end() ? 0 : it->second;
}

FakeUpstreamProcess::FakeUpstreamProcess(const TempDir& dir, std::vector<std::string> flags) {
  int n = ++run_counter;
  stderr_path_ = dir.file("fake_upstream-" + std::to_string(n) + ".err");
  stdout_path_ = dir.file("fake_upstream-" + std::to_string(n) + ".out");
  ChildSpec spec;
  spec.argv = {FAKE_UPSTREAM_BINARY, "--port", "0", "--control-port", "0"};
  spec.argv.insert(spec.argv.end(), flags.begin(), flags.end());
  spec.env = cleanEnvironment();
  spec.stdout_path = stdout_path_;
  spec.stderr_path = stderr_path_;
  process_.start(spec);
  bool want_stream = std::find(flags.begin(), flags.end(), "--stream-port") != flags.end();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (port_ == 0 || control_port_ == 0 || (want_stream && stream_port_ == 0)) {
    std::string log = logText();
    if (port_ == 0) port_ = listeningPort(log, "fake_upstream");
    if (control_port_ == 0) control_port_ = listeningPort(log, "fake_upstream_control");
    if (want_stream && stream_port_ == 0) stream_port_ = listeningPort(log, "fake_upstream_stream");
    if (port_ != 0 && control_port_ != 0 && (!want_stream || stream_port_ != 0)) break;
    if (!process_.running()) {
      throw std::runtime_error("fake_upstream exited with code " +
                               std::to_string(process_.exitCode().value_or(-1)) +
                               " before listening; log:\n" + logText());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      process_.kill9();
      throw std::runtime_error("fake_upstream did not listen within 10 s; log:\n" + log);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string FakeUpstreamProcess::messageUrl() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/message";
}

std::string FakeUpstreamProcess::controlUrl(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(control_port_) + target;
}

std::string FakeUpstreamProcess::streamUrl(const std::string& target) const {
  return "http://127.0.0.1:" + std::to_string(stream_port_) + target;
}

std::string FakeUpstreamProcess::streamStats() const {
  return httpGet(controlUrl("/stream-stats")).body;
}

HttpReply FakeUpstreamProcess::control(const std::string& settings_json) const {
  return httpPost(controlUrl("/control"), settings_json, {"Content-Type: application/json"});
}

void FakeUpstreamProcess::configure(const std::string& settings_json) const {
  HttpReply r = control(settings_json);
  if (r.status != 200) {
    throw std::runtime_error("fake_upstream refused " + settings_json + ": " +
                             std::to_string(r.status) + " " + r.error + " " + r.body);
  }
}

UpstreamStats FakeUpstreamProcess::stats() const {
  UpstreamStats s;
  HttpReply r = httpGet(controlUrl("/stats"));
  s.raw = r.body;
  if (r.status != 200) return s;
  rapidjson::Document doc;
  doc.Parse(r.body.c_str(), r.body.size());
  if (doc.HasParseError() || !doc.IsObject()) return s;
  s.valid = true;
  s.requests = intMember(doc, "requests");
  s.ok = intMember(doc, "ok");
  s.errors = intMember(doc, "errors");
  s.unique_delivered = intMember(doc, "unique_delivered");
  s.duplicates = intMember(doc, "duplicates");
  s.unkeyed = intMember(doc, "unkeyed");
  s.refused = intMember(doc, "refused");
  s.hung = intMember(doc, "hung");
  s.lost = intMember(doc, "lost");
  s.pending = intMember(doc, "pending");
  s.parked = intMember(doc, "parked");
  s.echoed = intMember(doc, "echoed");
  s.not_modified = intMember(doc, "not_modified");
  s.health_checks = intMember(doc, "health_checks");
  s.deliveries = countMap(doc, "deliveries");
  s.attempts = countMap(doc, "attempts");
  return s;
}

void FakeUpstreamProcess::reset() const {
  HttpReply r = httpPost(controlUrl("/reset"), "");
  if (r.status != 200) {
    throw std::runtime_error("fake_upstream /reset answered " + std::to_string(r.status) + " " +
                             r.error);
  }
}

std::string FakeUpstreamProcess::logText() const {
  return readFile(stderr_path_) + readFile(stdout_path_);
}

}  // namespace redge_test
