// The request-framing and smuggling table (tests/support/framing_table) run
// on every HTTP listener at once, many times over, from one thread per
// listener, while a steady load of well-formed requests (HTTP and RESP)
// shares the same listeners. Every row must be answered exactly as in the
// integration test, and the well-formed load must never see an error: a
// refused shape must not disturb a neighbour's connection, and nothing
// smuggled may reach another client.

#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chaos_stack.hpp"
#include "fault_verdict.hpp"
#include "support/framing_table.hpp"
#include "support/metrics_text.hpp"
#include "support/test_stack.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

TEST_CASE("framing: the table on every HTTP listener at once, under load", "[chaos][framing]") {
  // Rounds of the whole table per listener: as many as fit in kDuration, at
  // most kMaxRounds (each row is a new connection; this keeps the client's
  // TIME_WAIT sockets to a few thousand on a machine others share).
  constexpr auto kDuration = 3000ms;
  constexpr int kMaxRounds = 100;
  TestStack s({}, {}, RedgeServices{.cache_proxy = true});
  REQUIRE(s.redis.command({"SET", "k", "v"}).str == "OK");
  using Wire = LoadRequest::Wire;
  LoadDriver load(
      {{"app GET /", Wire::Http, s.redge.appPort(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
       {"admin GET /healthz", Wire::Http, s.redge.adminPort(),
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"},
       {"cacheproxy GET /k", Wire::Http, s.redge.cacheHttpPort(),
        "GET /k HTTP/1.1\r\nHost: x\r\n\r\n"},
       {"cacheproxy RESP GET k", Wire::Resp, s.redge.cacheRespPort(), "GET k\r\n"}},
      LoadOptions{.workers = 2, .interval = 5ms});
  struct Listener {
    const char* name;
    int port;
    bool exact_status;
  };
  const std::vector<Listener> listeners = {{"admin", s.redge.adminPort(), true},
                                           {"app", s.redge.appPort(), false},
                                           {"cacheproxy", s.redge.cacheHttpPort(), false}};
  const std::vector<FramingCase> table = framingTable();
  std::mutex mutex;
  std::vector<std::string> failures;
  size_t rows_run = 0;
  std::map<std::string, int> rounds;

  load.start();
  std::vector<std::thread> runners;
  for (const Listener& l : listeners) {
    runners.emplace_back([&, l] {
      const auto start = std::chrono::steady_clock::now();
      for (int round = 0;
           round < kMaxRounds && std::chrono::steady_clock::now() - start < kDuration; ++round) {
        for (const FramingCase& row : table) {
          std::string why = checkFramingRow(l.port, row, l.exact_status);
          std::lock_guard<std::mutex> lock(mutex);
          ++rows_run;
          if (!why.empty()) {
            failures.push_back(std::string(l.name) + ", round " + std::to_string(round) + ", " +
                               row.name + ": " + why);
          }
        }
        std::lock_guard<std::mutex> lock(mutex);
        ++rounds[l.name];
      }
    });
  }
  for (auto& t : runners) t.join();
  load.stop();

  const std::vector<LoadOutcome> all = load.outcomes();
  WARN(rows_run << " framing rows on 3 listeners under load; " << summarizeLoad(load, all));
  size_t all_rounds = 0;
  for (const auto& [name, n] : rounds) all_rounds += static_cast<size_t>(n);
  CHECK(rows_run == all_rounds * table.size());
  INFO(failures.size() << " rows answered wrongly; first: "
                       << (failures.empty() ? "" : failures.front()));
  CHECK(failures.empty());
  // The neighbours' requests all succeeded, in bounded time.
  INFO(summarizeLoad(load, all));
  CHECK(improperFailures(load, all, {}).empty());
  CHECK(slowOrUnanswered(load, all, 1000).empty());
  CHECK(all.size() > 100);
  // Every refusal is counted, on each listener.
  size_t refused_rows = 0;
  for (const auto& row : table) refused_rows += row.closes ? 1 : 0;
  for (const Listener& l : listeners) {
    double total = 0;
    for (const char* code : {"bad_request", "unsupported_transfer_coding", "expectation_failed"}) {
      total += scrapeMetric(s.redge, std::string("redge_http_errors_total{service=\"") + l.name +
                                         "\",code=\"" + code + "\"}")
                   .value_or(0);
    }
    INFO(l.name);
    CHECK(total == static_cast<double>(rounds[l.name] * refused_rows));
  }
  CHECK(stillServes(s.redge));
}
