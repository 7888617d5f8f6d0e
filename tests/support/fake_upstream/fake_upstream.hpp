#pragma once
// FakeUpstream: the external HTTP service the message relay delivers to,
// and a gateway member, played on redge's own HttpServer for tests and
// demos. Every path but its own routes is an echo: the request as it
// arrived, as JSON (for the gateway's header and routing tests); GET
// /healthz answers 200 or, switched off, 503. It answers
// POST /message after a configurable latency, fails a seeded pseudo-random
// fraction of requests, slows every Nth one, and can be "down" in three ways
// (refuse with 503, hang, close the listener), all switchable at run time
// through POST /control. GET /stats says what it delivered, per
// Idempotency-Key.
//
// Listeners. The main listener serves /message and, for convenience, the
// control routes; a second listener serves only /control, /stats and /reset,
// so a test can still bring the service back up after down_mode "close" has
// closed the main one. Coming back up opens a new HttpServer on the same
// port: a closed HttpServer cannot listen again.
//
// Lifetimes. Every delayed answer owns its own uv_timer_t, so a slow answer
// never holds up another one (except behind it on one pipelined connection,
// where HTTP/1.1 order applies). Answers hold HttpResponders, which may name
// a server whose listener has since closed: such servers are kept, drained,
// until close(), and freed only with the FakeUpstream, after the loop has run
// out of handles.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "core/uv_runtime.hpp"
#include "delivery_ledger.hpp"
#include "net/http/http_server.hpp"
#include "stream_service.hpp"
#include "upstream_settings.hpp"

namespace redge_test {

struct FakeUpstreamOptions {
  std::string bind = "127.0.0.1";
  int port = 0;          // main listener; 0: any free port
  int control_port = 0;  // control listener; 0: any free port
  int stream_port = -1;  // streaming listener (stream_service.hpp); 0: any free port, -1: none
  uint32_t seed = 1;     // std::mt19937 seed for the error_ratio draws
  std::string name = "fake_upstream";  // who answers, in echo answers (X-Upstream)
  UpstreamSettings settings;
};

class FakeUpstream {
 public:
  FakeUpstream(uv_loop_t* loop, redge::MetricsRegistry& metrics, FakeUpstreamOptions options);
  // Call close() and let the loop run out of handles first.
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  // Opens both listeners (each logs event=listening). Returns 0 or the libuv
  // error of the first that failed; close() is still needed after a failure.
  int start();

  // Idempotent: cancels every pending answer, forgets parked requests and
  // closes every server, so the loop can run out of handles.
  void close();

 private:
  enum class Outcome { Delivered, Failed, Refused, Echo };

  // What an echo's query asks of its answer's caching fields (cc=, etag=,
  // vary=, location=, cache_tag=, surrogate_key=, nocookie=1).
  struct EchoHeaders {
    std::string cache_control;
    std::string etag;  // with its quotes
    std::string vary;
    std::string location;
    std::string cache_tag;      // Cache-Tag: comma-separated tags
    std::string surrogate_key;  // Surrogate-Key: space-separated tags
    bool cookies = true;
  };

  // One delayed answer. Freed in its timer's close callback.
  struct PendingAnswer {
    uv_timer_t timer;
    FakeUpstream* owner;
    redge::HttpResponder responder;
    std::string key;
    Outcome outcome;
    int status;
    int64_t retry_after_s;
    uint64_t epoch;    // answers to requests from before a /reset are not counted
    std::string body;  // Echo: the answer
    bool hop = false;  // Echo: with hop-by-hop headers
    EchoHeaders echo_headers{};
  };

  std::unique_ptr<redge::HttpServer> makeMainServer(int port);
  void addControlRoutes(redge::HttpServer& server);

  void onMessage(redge::HttpRequest& request, const redge::HttpResponder& responder);
  void onControlGet(const redge::HttpResponder& responder);
  void onControlPost(redge::HttpRequest& request, const redge::HttpResponder& responder);
  void onStats(const redge::HttpResponder& responder);
  void onReset(const redge::HttpResponder& responder);
  void onHealth(const redge::HttpResponder& responder);
  void onEcho(redge::HttpRequest& request, const redge::HttpResponder& responder);
  void sendEcho(const redge::HttpResponder& responder, int status, const std::string& body,
                const EchoHeaders& headers, bool hop);

  void scheduleAnswer(const redge::HttpResponder& responder, std::string_view key, Outcome outcome,
                      int status, int64_t delay_ms);
  void sendAnswer(const redge::HttpResponder& responder, std::string_view key, Outcome outcome,
                  int status, int64_t retry_after_s, uint64_t epoch);
  static void onAnswerTimerCb(uv_timer_t* timer) noexcept;
  static void onAnswerClosedCb(uv_handle_t* handle) noexcept;
  void onAnswerTimer(PendingAnswer* answer);

  // Makes the listeners and parked requests match settings_ after a change.
  // Opening comes before the control answer (so a failure can be reported),
  // closing after it (so the answer is not lost when it was asked for on the
  // main listener itself).
  bool wantMainOpen() const;
  int openMainIfWanted();
  void closeMainIfUnwanted();
  void dropParkedIfUnwanted();
  void pruneParked();

  std::string settingsJson() const;
  void writeSettingsObject(rapidjson::Writer<rapidjson::StringBuffer>& w) const;

  uv_loop_t* loop_;
  redge::MetricsRegistry& metrics_;
  redge::SteadyClock clock_;
  redge::LoopHooks hooks_;
  redge::UvTimerFactory timers_;
  redge::Runtime runtime_;
  redge::UvLoopHooks uv_hooks_;
  FakeUpstreamOptions options_;
  UpstreamSettings settings_;
  std::mt19937 rng_;
  uint64_t ordinal_ = 0;       // POST /message requests since start or /reset; 1-based
  uint64_t epoch_ = 0;         // bumped by /reset
  uint64_t echoed_ = 0;        // echo requests since start or /reset
  uint64_t not_modified_ = 0;  // echo requests answered 304 (etag=)
  uint64_t health_checks_ = 0;
  DeliveryLedger ledger_;
  // The port the main listener got first, reused whenever it opens again.
  int main_port_ = 0;
  // Null while down in mode "close".
  std::unique_ptr<redge::HttpServer> main_;
  // Drained, or failed to listen: kept until close() because pending answers
  // and parked requests may hold responders that name them.
  std::vector<std::unique_ptr<redge::HttpServer>> retired_;
  std::unique_ptr<redge::HttpServer> control_;
  std::unique_ptr<redge::HttpServer> stream_;
  std::unique_ptr<StreamService> stream_service_;
  // Answers whose timer is still running; each is freed in its close callback.
  std::unordered_set<PendingAnswer*> pending_;
  // Requests swallowed in mode "hang", never answered.
  std::vector<redge::HttpResponder> parked_;
  bool closed_ = false;
};

}  // namespace redge_test
