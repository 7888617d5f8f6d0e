#pragma once
// The relay's delivery loop: takes messages from the Redis queue (never more
// than relay.concurrency at once), POSTs each to the upstream with
// Idempotency-Key: <message id>, and records the outcome: sent, retried later
// with backoff, or dead-lettered after relay.max_attempts. While the breaker
// is open, each message whose turn comes is refused without being sent and
// held until the breaker half-opens. Failures are told apart by kind
// everywhere (log line, message record, metric label): upstream_error,
// timeout, connect_error, circuit_open.
//
// It also watches whether anything listens at the upstream at all: one TCP
// probe at start-up, re-probes while nothing does, and the connects of real
// deliveries, so an upstream that refuses connections is one warning per
// outage (event=relay_upstream_unreachable), not a silent stream of
// dead letters.

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "net/http/http_client.hpp"
#include "net/http/http_url.hpp"
#include "redis/redis_client.hpp"
#include "resilience/backoff.hpp"
#include "resilience/backpressure_gate.hpp"
#include "resilience/circuit_breaker.hpp"
#include "resilience/reachability_tracker.hpp"
#include "resilience/retry_after.hpp"
#include "services/relay/relay_schedule.hpp"
#include "services/relay/relay_store.hpp"
#include "services/relay/upstream_probe.hpp"

namespace redge {

struct RelayWorkerOptions {
  HttpUrl upstream;
  int64_t timeout_ms = 1000;
  int64_t concurrency = 4;
  int64_t max_attempts = 5;
  int64_t queue_max = 10;
  int64_t queue_recovery = 5;
  int64_t retry_base_ms = 500;
  int64_t retry_max_ms = 30000;
  int64_t poll_ms = 100;  // how often the queue is looked at when idle
  // How often a connect probe looks again while nothing listens upstream.
  int64_t reprobe_ms = 5000;
  CircuitBreakerOptions breaker;
};

class RelayWorker {
 public:
  RelayWorker(Runtime& runtime, RedisClient& redis, RelayStore& store, HttpClientPool& upstream,
              RelayWorkerOptions options);
  RelayWorker(const RelayWorker&) = delete;
  RelayWorker& operator=(const RelayWorker&) = delete;

  void start();
  // A message was just enqueued here: look at the queue now, not at the next poll.
  void kick();
  // Shutdown, step one: take nothing more; deliveries in flight finish.
  void beginDrain() { draining_ = true; }
  void close();

  // A reload's new queue thresholds and breaker options (valid together).
  void reconfigure(int64_t queue_max, int64_t queue_recovery, const CircuitBreakerOptions& breaker);

  CircuitBreaker& breaker() { return breaker_; }
  BackpressureGate& gate() { return gate_; }
  int64_t inflight() const { return inflight_; }
  // Records a depth seen by an enqueue or take and logs a gate switch.
  void observeDepth(int64_t depth, GateChange change);
  // Seconds a refused client should wait.
  int retryAfterSeconds(int64_t depth);

 private:
  void pump();
  void onPoll();
  void holdNext(int64_t open_ms);
  void onTaken(RedisStatus status, const TakeResult& result);
  void deliver(const StoredMessage& message);
  void hold(const StoredMessage& message, int64_t open_ms);
  void onDelivered(const StoredMessage& message, HttpClientError error,
                   const HttpClientResponse* response);
  void fail(const StoredMessage& message, std::string_view kind, const std::string& detail,
            bool retryable);
  // The log line and metric every failed or refused attempt gets.
  void countFailure(std::string_view kind, const std::string& id, int64_t attempt,
                    std::string_view detail);
  Counter& failureCounter(std::string_view kind);
  void probeIfDue();
  void onReachability(ReachabilityTracker::Change change, std::string_view error);
  void afterReconnect();
  void record(const std::string& id, const std::function<void(RedisCallback)>& step);
  void releaseSlot();
  void finishOne();

  const Clock& clock_;
  RedisClient& redis_;
  RelayStore& store_;
  HttpClientPool& upstream_;
  RelayWorkerOptions options_;
  CircuitBreaker breaker_;
  BackpressureGate gate_;
  RetryAfterEstimator estimator_;
  ExponentialBackoff retry_backoff_;
  std::mt19937 random_;
  ReachabilityTracker reachability_;
  UpstreamProbe probe_;
  RelaySchedule schedule_;
  std::string upstream_text_;  // the upstream URL, for log lines
  bool closing_ = false;
  bool holding_ = false;  // a holdNext step is waiting for Redis
  bool draining_ = false;
  bool recovered_ = false;
  int64_t inflight_ = 0;  // taking or delivering
  int64_t last_depth_ = 0;
  std::unordered_set<std::string> active_;         // ids delivering or being recorded here
  std::vector<std::function<void()>> unrecorded_;  // outcome steps Redis could not take yet
  // Metrics
  MetricsRegistry& metrics_;
  Gauge& breaker_state_;
  Gauge& depth_gauge_;
  Gauge& inflight_gauge_;
  Gauge& gate_gauge_;
  Counter& sent_;
  Counter& dead_;
  Counter& retried_;
  Gauge& unreachable_gauge_;
  Counter& outages_;
  std::vector<std::pair<std::string, Counter*>> failures_by_kind_;
};

}  // namespace redge
