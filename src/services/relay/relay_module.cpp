// The relay module: its section (relay.*), its rules across keys, and the
// relay service mounted on the app listener.

#include <unistd.h>

#include "core/host_name.hpp"
#include "core/log.hpp"
#include "net/resolve_host.hpp"
#include "services/relay/relay_config.hpp"
#include "services/relay/relay_service.hpp"
#include "services/replica_reads_access.hpp"
#include "services/service.hpp"

namespace redge {
namespace {

using namespace config_limits;

// WAIT's count is replicas; no deployment has more than this many.
constexpr int64_t kMaxReplicationAcks = 64;

void declareKeys(ConfigSchema& schema) {
  auto relay = schema.moduleSection<RelayConfig>("relay");
  relay.boolKey(REDGE_FIELD(RelayConfig, enabled), "run the message relay")
      .stringKey(REDGE_FIELD(RelayConfig, upstream_url),
                 "where relayed messages are POSTed (http:// only)", checkHttpUrl)
      .intKey(REDGE_FIELD(RelayConfig, timeout_ms), 1, kMaxDurationMs,
              "how long one upstream request may take")
      .intKey(REDGE_FIELD(RelayConfig, concurrency), 1, kMaxCount,
              "upstream requests in flight at once")
      .intKey(REDGE_FIELD(RelayConfig, max_attempts), 1, kMaxAttempts,
              "attempts per message before it is given up")
      .intKey(REDGE_FIELD(RelayConfig, queue_max), 1, kMaxCount,
              "queued messages at which intake stops")
      .envAlias("QUEUE_MAX_SIZE")
      .intKey(REDGE_FIELD(RelayConfig, queue_recovery), 0, kMaxCount,
              "queue length at which intake resumes")
      .envAlias("QUEUE_RECOVERY_THRESHOLD")
      .intKey(REDGE_FIELD(RelayConfig, max_destination_bytes), 1, kMaxBytes,
              "longest destination accepted")
      .intKey(REDGE_FIELD(RelayConfig, max_body_bytes), 1, kMaxBytes,
              "longest message body accepted")
      .enumKey(REDGE_FIELD(RelayConfig, durability), {"none", "replicated"},
               "when POST /messages answers 202: once the master has the message (none), or "
               "once replicas have it too (replicated: WAIT relay.replication_acks, else 503 "
               "not_replicated)")
      .intKey(REDGE_FIELD(RelayConfig, replication_timeout_ms), 1, kMaxDurationMs,
              "relay.durability=replicated: how long an enqueue waits for the replicas' acks")
      .intKey(REDGE_FIELD(RelayConfig, replication_acks), 1, kMaxReplicationAcks,
              "relay.durability=replicated: replicas that must have a message before its 202; "
              "as many as there are replicas, so that whichever a failover promotes has it");
  relay.group(REDGE_FIELD(RelayConfig, breaker))
      .intKey(REDGE_FIELD(CircuitBreakerOptions, window_ms), 1, kMaxDurationMs,
              "circuit breaker: sliding window of calls judged")
      .intKey(REDGE_FIELD(CircuitBreakerOptions, min_calls), 1, kMaxCount,
              "circuit breaker: calls in the window before the ratio counts")
      .doubleKey(REDGE_FIELD(CircuitBreakerOptions, failure_ratio), 0, true, 1,
                 "circuit breaker: failure ratio that opens it")
      .intKey(REDGE_FIELD(CircuitBreakerOptions, consecutive_failures), 1, kMaxCount,
              "circuit breaker: failures in a row that open it")
      .intKey(REDGE_FIELD(CircuitBreakerOptions, open_ms), 1, kMaxDurationMs,
              "circuit breaker: first open period")
      .intKey(REDGE_FIELD(CircuitBreakerOptions, max_open_ms), 1, kMaxDurationMs,
              "circuit breaker: ceiling of the growing open period")
      .intKey(REDGE_FIELD(CircuitBreakerOptions, half_open_probes), 1, kMaxCount,
              "circuit breaker: trial calls let through when half-open");

  schema.addRule([](const Config& c, const ConfigSchema& s) -> std::optional<ConfigError> {
    const RelayConfig& r = c.module<RelayConfig>();
    // Hysteresis needs a gap: resuming at or above the stop mark would flap
    // intake on every message.
    if (r.queue_recovery >= r.queue_max) {
      return ConfigError{s.pathOf(c, &r.queue_recovery), "must be less than " +
                                                             s.pathOf(c, &r.queue_max) + " (" +
                                                             std::to_string(r.queue_max) + ")"};
    }
    // An enqueue may wait behind one WAIT and then for its own: both must
    // end before redge gives up on the command, or every replica outage
    // would read as a Redis timeout.
    if (r.durability == "replicated" && 2 * r.replication_timeout_ms > c.redis.command_timeout_ms) {
      return ConfigError{s.pathOf(c, &r.replication_timeout_ms),
                         "must be at most half of redis.command_timeout_ms (" +
                             std::to_string(c.redis.command_timeout_ms) + ")"};
    }
    if (r.breaker.open_ms > r.breaker.max_open_ms) {
      return ConfigError{s.pathOf(c, &r.breaker.open_ms),
                         "must be at most " + s.pathOf(c, &r.breaker.max_open_ms) + " (" +
                             std::to_string(r.breaker.max_open_ms) + ")"};
    }
    return std::nullopt;
  });
}

std::optional<ConfigError> prepare(Config& config) {
  RelayConfig& r = config.module<RelayConfig>();
  std::string error = parseHttpUrl(r.upstream_url, r.upstream);
  if (!error.empty()) return ConfigError{"relay.upstream_url", error};
  if (!resolveHost(r.upstream.host)) {
    return ConfigError{"relay.upstream_url", "cannot resolve host '" + r.upstream.host + "'"};
  }
  return std::nullopt;
}

// Names this instance's processing list: stable across restarts of the same
// host, so a restart recovers what the last run was delivering.
std::string instanceName() {
  return hostName("local");
}

RelayOptions relayOptions(const Config& config) {
  const RelayConfig& r = config.module<RelayConfig>();
  RelayOptions o;
  o.key_prefix = config.redis.key_prefix;
  o.instance = instanceName();
  o.limits.max_destination_bytes = static_cast<size_t>(r.max_destination_bytes);
  o.limits.max_body_bytes = static_cast<size_t>(r.max_body_bytes);
  RelayWorkerOptions& w = o.worker;
  w.upstream = r.upstream;
  w.timeout_ms = r.timeout_ms;
  w.concurrency = r.concurrency;
  w.max_attempts = r.max_attempts;
  w.queue_max = r.queue_max;
  w.queue_recovery = r.queue_recovery;
  w.breaker = r.breaker;
  o.replicated = r.durability == "replicated";
  o.replication_timeout_ms = r.replication_timeout_ms;
  o.replication_acks = r.replication_acks;
  return o;
}

std::unique_ptr<Service> create(ModuleContext& context) {
  HttpServer* app = context.findHttpServer("app");
  if (app == nullptr) {
    REDGE_LOG(Warn, "relay_not_served")
        .kv("reason", "the relay is mounted on the app listener, and app.enabled is false");
    return nullptr;
  }
  RelayOptions options = relayOptions(context.config());
  std::unique_ptr<RedisClient> durable;
  if (options.replicated) {
    // Follows the master as the shared connection does (sentinels included).
    RedisClientOptions o = context.redisOptions();
    o.name = "relay_durable";
    durable = std::make_unique<RedisClient>(context.runtime(), std::move(o));
  }
  return std::make_unique<RelayService>(context.runtime(), *app, context.redis(),
                                        std::move(durable), attachReplicaReads(context),
                                        std::move(options));
}

}  // namespace

Module relayModule() {
  return {"relay", &declareKeys, [](const Config& c) { return c.module<RelayConfig>().enabled; },
          &prepare, &create};
}

}  // namespace redge
