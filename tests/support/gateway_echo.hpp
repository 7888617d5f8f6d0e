#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "support/fake_upstream_process.hpp"
#include "support/http_client.hpp"

namespace redge_test {

// What a fake_upstream's echo answer says the request looked like when it
// arrived (see tests/support/fake_upstream/README.md).
struct EchoedRequest {
  bool valid = false;
  std::string name;  // the --name of the fake upstream that answered
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t body_bytes = 0;
  std::string body;

  // Every value of the header (case-insensitive), in order.
  std::vector<std::string> values(const std::string& header) const;
  bool has(const std::string& header) const { return !values(header).empty(); }
};

EchoedRequest parseEcho(const std::string& body);

// "127.0.0.1:<port>": a fake upstream as a gateway member.
std::string memberAddress(const FakeUpstreamProcess& upstream);

// The settings of a redge whose gateway has `routes` and `pools` (JSON),
// with the app, cache proxy and relay off; `extra` come last.
std::vector<std::string> gatewaySettings(const std::string& routes, const std::string& pools,
                                         std::vector<std::string> extra = {});

// A pool of fake upstreams as the JSON of gateway.pools.<name>, with
// health checks on /healthz every `interval_ms` (0: checks off) and the
// `more` members added verbatim, e.g. R"("balance": "hash")".
std::string poolJson(const std::vector<const FakeUpstreamProcess*>& members, int interval_ms,
                     const std::string& more = "");

// The gateway.routes JSON of one route, prefix "/" to pool "web", with the
// cache settings `cache_json` (e.g. R"({"enabled": true})").
std::string cachedRoute(const std::string& cache_json);

// The gateway.pools JSON of pool "web": the one fake upstream, no health checks.
std::string webPool(const FakeUpstreamProcess& upstream);

}  // namespace redge_test
