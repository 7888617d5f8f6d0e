// Counting for GET /stats: every POST /message is an attempt of its key,
// every 2xx answer a delivery of it, and a key delivered more than once is a
// duplicate the relay's retries caused.

#include "delivery_ledger.hpp"

namespace redge_test {
namespace {

void writeCounts(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* name,
                 const std::map<std::string, uint64_t, std::less<>>& counts) {
  w.Key(name);
  w.StartObject();
  for (const auto& [key, n] : counts) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.Uint64(n);
  }
  w.EndObject();
}

}  // namespace

void DeliveryLedger::recordRequest(std::string_view key) {
  ++requests_;
  if (key.empty()) {
    ++unkeyed_;
    return;
  }
  auto it = attempts_.find(key);
  if (it == attempts_.end()) it = attempts_.emplace(std::string(key), 0).first;
  ++it->second;
}

void DeliveryLedger::recordAnswer(std::string_view key, int status, bool client_gone) {
  if (client_gone) ++lost_;
  if (status < 200 || status > 299) {
    ++errors_;
    return;
  }
  ++ok_;
  if (key.empty()) return;
  auto it = deliveries_.find(key);
  if (it == deliveries_.end()) it = deliveries_.emplace(std::string(key), 0).first;
  ++it->second;
}

void DeliveryLedger::writeStats(rapidjson::Writer<rapidjson::StringBuffer>& w) const {
  uint64_t duplicates = 0;
  for (const auto& [key, n] : deliveries_) duplicates += n - 1;  // every entry has n >= 1
  w.Key("requests");
  w.Uint64(requests_);
  w.Key("ok");
  w.Uint64(ok_);
  w.Key("errors");
  w.Uint64(errors_);
  w.Key("unique_delivered");
  w.Uint64(deliveries_.size());
  w.Key("duplicates");
  w.Uint64(duplicates);
  w.Key("unkeyed");
  w.Uint64(unkeyed_);
  w.Key("refused");
  w.Uint64(refused_);
  w.Key("hung");
  w.Uint64(hung_);
  w.Key("lost");
  w.Uint64(lost_);
  writeCounts(w, "deliveries", deliveries_);
  writeCounts(w, "attempts", attempts_);
}

}  // namespace redge_test
