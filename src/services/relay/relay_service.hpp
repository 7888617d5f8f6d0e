#pragma once
// The relay's API, mounted on the app listener:
//   POST /messages          accept a message (202), or 503 queue_full with Retry-After;
//                           with relay.durability=replicated, 202 only once a
//                           replica has it (WAIT), else 503 not_replicated
//   GET  /messages/{id}     one message's record
//   GET  /messages          newest first, ?status=queued|delivering|sent|failed&limit=N
//   GET  /messages/stats    queue depth (ready, held by the breaker, waiting for
//                           a retry), gate, breaker and failure counts

#include <uv.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "net/http/http_client.hpp"
#include "net/http/http_server.hpp"
#include "redis/redis_client.hpp"
#include "redis/replica_reads.hpp"
#include "services/relay/message_request.hpp"
#include "services/relay/relay_store.hpp"
#include "services/relay/relay_worker.hpp"
#include "services/service.hpp"

namespace redge {

struct RelayOptions {
  RelayWorkerOptions worker;
  MessageRequestLimits limits;
  std::string key_prefix = "redge:";
  std::string instance;     // names this instance's processing list
  bool replicated = false;  // relay.durability = replicated
  int64_t replication_timeout_ms = 500;
  int64_t replication_acks = 1;  // replicas WAIT asks for
};

class RelayService final : public Service {
 public:
  // Declares the relay's routes on `http` (the app listener). `durable` is
  // the connection enqueues and their WAITs go through when
  // options.replicated (null otherwise); the listing reads through `reads`
  // (attached for this service, detached in close()).
  RelayService(Runtime& runtime, HttpServer& http, RedisClient& redis,
               std::unique_ptr<RedisClient> durable, std::shared_ptr<ReplicaReads> reads,
               RelayOptions options);
  void start() override;
  // SIGTERM: stop taking messages; inflight() says when deliveries are done.
  void beginDrain() override { worker_.beginDrain(); }
  size_t inflight() const override { return static_cast<size_t>(worker_.inflight()); }
  // relay.queue_max, relay.queue_recovery and relay.breaker.* change live.
  void reload(const Config& next, std::vector<std::string>& live) override;
  void close(std::function<void()> done) override;

 private:
  void post(HttpRequest& req, const HttpResponder& res);
  void getOne(HttpRequest& req, const HttpResponder& res);
  void list(HttpRequest& req, const HttpResponder& res);
  void stats(HttpRequest& req, const HttpResponder& res);
  std::string newId();
  // relay.durability=replicated: the enqueues answered since the last WAIT,
  // waiting for one.
  struct Unacked {
    HttpResponder res;
    EnqueueResult result;
    uint64_t connection;  // the durable connection's id when Redis answered
  };
  void sendWait();
  void answerEnqueued(const HttpResponder& res, const EnqueueResult& r);
  void answerNotReplicated(const HttpResponder& res, const EnqueueResult& r, int64_t acked);

  LoopHooks& hooks_;
  RedisClient& redis_;
  std::unique_ptr<RedisClient> durable_;
  std::shared_ptr<ReplicaReads> reads_;
  RelayOptions options_;
  RelayStore store_;
  HttpClientPool upstream_;
  RelayWorker worker_;
  std::mt19937_64 random_;
  Counter& accepted_;
  Counter& refused_;
  Counter& replicated_;
  Counter& not_replicated_;
  std::vector<Unacked> unacked_;
  LoopHooks::HookId wait_hook_ = 0;
  std::string wait_timeout_;
  std::string wait_acks_;
  bool replicating_ = true;  // the last WAIT was acked (logs state changes only)
  bool closed_ = false;
};

}  // namespace redge
