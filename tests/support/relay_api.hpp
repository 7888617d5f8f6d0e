#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/fake_upstream_process.hpp"
#include "support/http_client.hpp"
#include "support/redge_process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace redge_test {

// The --set pairs that switch the message relay on and point it at
// `upstream`, followed by `extra` (so a test can override any of them).
// RedgeProcess switches the relay off by default and applies its settings
// after its defaults, so passing these as its settings is the opt-in.
std::vector<std::string> relaySettings(const FakeUpstreamProcess& upstream,
                                       std::vector<std::string> extra = {});

// {"destination": ..., "body": ...}, escaped properly.
std::string messageJson(const std::string& destination, const std::string& body);

// POST /messages with Content-Type: application/json and, when not empty,
// an Idempotency-Key.
HttpReply postMessage(const RedgeProcess& redge, const std::string& destination,
                      const std::string& body, const std::string& idempotency_key = "");

// One message record as GET /messages/{id} (or one entry of GET /messages)
// renders it. `valid` is false when the JSON lacks a field or has one of the
// wrong type; `raw` keeps the text for failure messages.
struct RelayMessage {
  bool valid = false;
  std::string id;
  std::string destination;
  std::string body;
  std::string status;
  int64_t attempts = -1;
  bool has_error = false;  // last_error is an object rather than null
  std::string error_kind;
  std::string error_detail;
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::string raw;
};

// GET /messages/{id}: the record, with the HTTP status in `status_code`
// (404 for an unknown id, 0 when redge did not answer).
struct RelayMessageReply {
  long status_code = 0;
  RelayMessage message;
  std::string body;
};
RelayMessageReply getMessage(const RedgeProcess& redge, const std::string& id);

// The "messages" array of a GET /messages answer; nullopt when the body is
// not {"messages": [...]} or an entry is malformed.
std::optional<std::vector<RelayMessage>> parseMessageList(const std::string& body);

// GET /messages/stats, parsed. `valid` is false unless every field the
// relay promises is there with its type.
struct RelayStats {
  bool valid = false;
  // Every message waiting for its next attempt: ready + held_by_breaker +
  // retry_scheduled (what the gate judges).
  int64_t queue_depth = -1;
  int64_t ready = -1;
  int64_t held_by_breaker = -1;
  int64_t in_flight = -1;
  int64_t processing = -1;
  int64_t retry_scheduled = -1;
  bool accepting = false;
  int64_t gate_max = -1;
  int64_t gate_recovery = -1;
  std::string breaker_state;
  int64_t remaining_open_ms = -1;
  int64_t opened_total = -1;
  int64_t rejected_total = -1;
  std::map<std::string, int64_t> by_status;
  std::map<std::string, int64_t> failures_by_kind;
  std::string raw;

  int64_t status(const std::string& name) const;
  int64_t failures(const std::string& kind) const;
};
RelayStats relayStats(const RedgeProcess& redge);

// Polls GET /messages/{id} for every id until each is sent or failed.
// Returns the last record read per id, final or not; `settled` says whether
// all of them were final at the deadline.
struct SettledMessages {
  bool settled = false;
  std::map<std::string, RelayMessage> records;
  // The ids not final at the deadline, with their last status, for INFO().
  std::string pending;
};
SettledMessages waitForSettled(const RedgeProcess& redge, const std::vector<std::string>& ids,
                               std::chrono::milliseconds timeout);

// The lines of a logfmt log that contain `needle`, looking only at the text
// from byte `from` on (a test's mark of "after this point").
std::vector<std::string> logLinesWith(const std::string& log, const std::string& needle,
                                      size_t from = 0);
// The value of `key=` in one logfmt line, "" when absent.
std::string logfmtValue(const std::string& line, const std::string& key);

// A relay test's processes: its directory, Redis, the fake upstream and
// redge with the relay on and pointed at it, ready (Redis connected) before
// the test begins. Destroyed in reverse order: redge first, the directory
// last.
struct RelayStack {
  explicit RelayStack(std::vector<std::string> settings = {},
                      std::vector<std::string> upstream_flags = {},
                      std::vector<std::string> redis_args = {}, std::vector<std::string> env = {})
      : redis(dir, std::move(redis_args)),
        upstream(dir, std::move(upstream_flags)),
        redge(dir, redis, relaySettings(upstream, std::move(settings)), std::move(env)) {
    redge.waitUntilReady();
  }

  TempDir dir;
  RedisServer redis;
  FakeUpstreamProcess upstream;
  RedgeProcess redge;
};

}  // namespace redge_test
