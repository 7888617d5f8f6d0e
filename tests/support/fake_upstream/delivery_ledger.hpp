#pragma once
// What the fake upstream has seen and answered on POST /message, per
// Idempotency-Key, so a test can tell "delivered once" from "delivered twice"
// (at-least-once with duplicates) from "never delivered".

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace redge_test {

class DeliveryLedger {
 public:
  // A POST /message arrived. `key` is its Idempotency-Key, empty when it had
  // none (counted in requests and unkeyed only).
  void recordRequest(std::string_view key);

  // An answer with `status` went out for a request with `key`. A 2xx is a
  // delivery: the service did the work whether or not the client was still
  // there to read the answer (`client_gone`), which is exactly how a relay
  // that timed out and retried produces a duplicate.
  void recordAnswer(std::string_view key, int status, bool client_gone);

  // "Down" outcomes, on top of recordAnswer (refused) or instead of it (hung:
  // no answer ever goes out).
  void recordRefused() { ++refused_; }
  void recordHung() { ++hung_; }

  void reset() { *this = DeliveryLedger(); }

  // Writes the counters into an object the caller has opened:
  // requests, ok, errors, unique_delivered, duplicates, unkeyed, refused,
  // hung, lost, deliveries {key: n}, attempts {key: n}.
  void writeStats(rapidjson::Writer<rapidjson::StringBuffer>& writer) const;

 private:
  uint64_t requests_ = 0;
  uint64_t ok_ = 0;
  uint64_t errors_ = 0;
  uint64_t unkeyed_ = 0;
  uint64_t refused_ = 0;
  uint64_t hung_ = 0;
  uint64_t lost_ = 0;
  // Ordered maps: /stats lists keys in a stable order a test can diff.
  std::map<std::string, uint64_t, std::less<>> deliveries_;
  std::map<std::string, uint64_t, std::less<>> attempts_;
};

}  // namespace redge_test
