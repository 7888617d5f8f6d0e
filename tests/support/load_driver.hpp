#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace redge_test {

// One kind of request in a steady load: the bytes of one whole request on
// the wire, where to send them, and which answers count as success.
struct LoadRequest {
  enum class Wire { Http, Resp };

  std::string name;  // for messages: "app GET /get"
  Wire wire = Wire::Http;
  int port = 0;
  std::string bytes;
  // HTTP statuses that are a success for this request (e.g. 200 and 404 for
  // GET /get, whose message may have expired). RESP: any reply but an error.
  std::vector<int> ok_statuses = {200};
};

// What became of one request, as the client saw it. Times are milliseconds
// since the driver started (LoadDriver::nowMs()).
struct LoadOutcome {
  size_t request = 0;  // index into the mix
  double sent_ms = 0;
  double done_ms = 0;
  double connect_ms = 0;   // of the latency, spent connecting (0 on a reused connection)
  bool answered = false;   // a whole answer came back
  bool ok = false;         // ... and it is one of the request's successes
  int status = 0;          // HTTP status
  std::string error_code;  // HTTP: the JSON body's "error", "" when not an error body
  bool retry_after = false;
  std::string reply;    // HTTP: the body when short; RESP: RespReply::summary()
  std::string failure;  // why there is no answer: "connect: ...", "closed", "timeout", ...

  double latencyMs() const { return done_ms - sent_ms; }
};

struct LoadOptions {
  int workers = 4;
  // Each worker starts a request at most this often (a closed loop with a
  // floor), so the load is steady and leaves the two cores to redge and Redis.
  std::chrono::milliseconds interval{5};
  // A request unanswered this long is recorded as "timeout" (a hang).
  std::chrono::milliseconds request_timeout{5000};
  // After a refused connect, before the next request.
  std::chrono::milliseconds reconnect_pause{10};
};

// A small steady-load generator for the chaos suite: `workers` threads, each
// with its own keep-alive connections (one per port), cycle through the mix
// (worker w starts at request w) until stop(), and record every request's
// outcome and latency. A failed connection is dropped and made again for the
// next request. Outcomes are read with outcomes() at any time; the test's
// assertions run on its own thread, never in the workers.
class LoadDriver {
 public:
  LoadDriver(std::vector<LoadRequest> mix, LoadOptions options = {});
  ~LoadDriver();
  LoadDriver(const LoadDriver&) = delete;
  LoadDriver& operator=(const LoadDriver&) = delete;

  void start();
  // Stops the workers after the request each has in progress (bounded by
  // request_timeout) and joins them. Idempotent.
  void stop();
  double nowMs() const;
  const std::vector<LoadRequest>& mix() const { return mix_; }
  std::vector<LoadOutcome> outcomes() const;
  size_t count() const;
  // Requests sent and not yet answered, now: a case that wants its fault to
  // land mid-request waits for this to be above zero.
  int inFlight() const { return in_flight_; }

 private:
  void work(int worker);
  void record(LoadOutcome outcome);

  std::vector<LoadRequest> mix_;
  LoadOptions options_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> in_flight_{0};
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::vector<LoadOutcome> outcomes_;
};

// One line per outcome for failure messages: "[1234.5 ms +12.0] app GET /get
// -> 503 redis_timeout Retry-After".
std::string describeOutcome(const LoadDriver& driver, const LoadOutcome& o);
// Counts per request name: ok, failed with an answer, no answer; the
// slowest latency. For INFO() in a failing case.
std::string summarizeLoad(const LoadDriver& driver, const std::vector<LoadOutcome>& outcomes);
// The outcomes that failed, one describeOutcome() line each (empty when
// none did): for INFO() before checking there are none.
std::string describeFailures(const LoadDriver& driver, const std::vector<LoadOutcome>& outcomes);
size_t countFailures(const std::vector<LoadOutcome>& outcomes);

}  // namespace redge_test
