#pragma once
// The relay's configuration section (relay.*).

#include <cstdint>
#include <string>

#include "net/http/http_url.hpp"
#include "resilience/circuit_breaker.hpp"

namespace redge {

struct RelayConfig {
  bool enabled = true;
  std::string upstream_url = "http://127.0.0.1:9001/message";
  int64_t timeout_ms = 1000;
  int64_t concurrency = 4;
  int64_t max_attempts = 5;
  int64_t queue_max = 10;
  int64_t queue_recovery = 5;
  int64_t max_destination_bytes = 50;
  int64_t max_body_bytes = 1000;
  CircuitBreakerOptions breaker;
  // "none": 202 once the master has the message. "replicated": 202 only once
  // replication_acks replicas have it too (WAIT replication_acks
  // replication_timeout_ms after the enqueue), else 503 not_replicated.
  std::string durability = "none";
  int64_t replication_timeout_ms = 500;
  int64_t replication_acks = 1;
  // Not a key: upstream_url parsed and its host resolved, by the module's
  // prepare step.
  HttpUrl upstream;
};

}  // namespace redge
