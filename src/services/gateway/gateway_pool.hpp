#pragma once
// One named pool of the gateway: its members, the balancer that picks among
// them, their health (the upstream layer's HealthChecker, which owns the
// PoolHealth), the retry budget, and the stats of the pool and of each
// member. What it knows of I/O is two seams: the HealthProbe its checker
// asks, and a PoolTransport told when a member joins or leaves (the gateway
// service opens and retires the member's connections there; tests record).
//
// Members. A member is an address ("10.0.0.5:8080", its name: the identity
// the hash ring and the shared rotation use, the same in every gateway) and
// a weight. It may be named by several sources at once (a configured
// member, registry instances); it joins with the first and leaves with the
// last. Each member has a slot index (Member::index, reused after it
// leaves) and a generation (never reused), so a try that ends after its
// member left finds it gone and reports nothing.
//
// Health. A member joins unchecked: no traffic before its first passed
// check (with active checks off it takes traffic at once). The checker's
// events keep each member's `eligible` in the balancer's view current; the
// gateway reports each try's outcome (endTry), which drives the passive
// ejections.
//
// Single-threaded; timers and time from the injected factory and clock, so
// unit tests drive it by hand. stop() destroys the checker (its timers) and
// must come before the loop's end; afterwards outcomes are ignored.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/timer.hpp"
#include "services/gateway/gateway_config.hpp"
#include "services/gateway/gateway_stats.hpp"
#include "upstream/health_checker.hpp"
#include "upstream/load_balancer.hpp"
#include "upstream/random_source.hpp"
#include "upstream/retry_budget.hpp"

namespace redge {

struct PoolMember {
  PoolMember(uint32_t member_index, uint64_t member_generation, std::string member_name,
             std::string member_host, int member_port, uint32_t member_weight,
             const GatewayMemberStats& member_stats)
      : index(member_index),
        generation(member_generation),
        name(std::move(member_name)),
        host(std::move(member_host)),
        port(member_port),
        weight(member_weight),
        stats(member_stats) {}

  uint32_t index;
  uint64_t generation;
  std::string name;  // "host:port" as configured or registered
  std::string host;  // a literal address to connect to
  int port;
  uint32_t weight;
  int refs = 0;           // sources naming it
  uint64_t requests = 0;  // tries sent to it
  int64_t inflight = 0;   // tries in flight to it
  GatewayMemberStats stats;
};

// The I/O side of a pool's members.
class PoolTransport {
 public:
  virtual ~PoolTransport() = default;
  // Before the checker hears of the member (its first probe may go at once).
  virtual void memberAdded(const PoolMember& member) = 0;
  // After the checker has forgotten it.
  virtual void memberRemoved(const PoolMember& member) = 0;
};

// One try of a request on one member.
struct MemberTicket {
  uint32_t index = 0;
  uint64_t generation = 0;
};

// How a try ended, as the passive health counts it.
enum class TryResult {
  Success,    // an answer below 500
  Failure,    // a 5xx answer, or no answer (connect error, reset, timeout, bad answer)
  Abandoned,  // the gateway is closing: counts for nothing
};

struct GatewayPoolDeps {
  TimerFactory& timers;
  const Clock& clock;
  MetricsRegistry& metrics;
  RandomSource& random;      // least_request's draws
  HealthProbe* probe;        // null: no active checks
  PoolTransport* transport;  // may be null (tests of the choice alone)
};

class GatewayPool {
 public:
  // Options as the configuration checked them (balance and hash_by parse).
  GatewayPool(std::string name, const GatewayPoolOptions& options, RetryBudgetOptions retry_budget,
              GatewayPoolDeps deps);
  ~GatewayPool();
  GatewayPool(const GatewayPool&) = delete;
  GatewayPool& operator=(const GatewayPool&) = delete;

  const std::string& name() const { return name_; }
  BalancePolicy policy() const { return policy_; }
  const HashBy& hashBy() const { return hash_by_; }
  const std::string& discover() const { return discover_; }

  // ---- membership ----
  // A source names the member: it joins if it was not a member. `host` is a
  // literal address. True if it joined.
  bool addMember(std::string_view name, std::string host, int port, uint32_t weight);
  // A source no longer names it: it leaves with the last. True if it left.
  bool releaseMember(std::string_view name);
  // A registry instance of the discovered service, present (added, updated)
  // or gone. Its address must be a literal host:port (no name lookups on
  // the loop); another is skipped, logged once per instance.
  void onInstance(const std::string& id, std::string_view address, bool present);
  // Called after every membership change (the shared rotation follows).
  void setMembershipListener(std::function<void()> listener) {
    membership_listener_ = std::move(listener);
  }

  // Starts the active checks. stop(): final; the checker and its timers go.
  void start();
  void stop();
  bool stopped() const { return stopped_; }

  // ---- choosing ----
  size_t size() const { return view_.size(); }
  size_t eligibleCount() const;
  // The member for a request (avoiding those it tried), or nothing.
  std::optional<uint32_t> pick(std::string_view hash_key, std::span<const uint32_t> avoid);
  // redis_rotation: the member the shared rotation named, when it may take
  // this request, else the local rotation's pick.
  std::optional<uint32_t> pickNamed(std::string_view name, std::span<const uint32_t> avoid);
  const PoolMember* member(uint32_t index) const;
  const PoolMember* findByName(std::string_view name) const;
  bool eligible(uint32_t index) const;
  // One turn of the shared rotation: member names in smooth weighted order
  // (each as often as its weight; at most kMaxRotationEntries).
  std::vector<std::string> rotationOrder() const;
  static constexpr size_t kMaxRotationEntries = 1000;

  // ---- tries ----
  MemberTicket beginTry(uint32_t index);
  void endTry(MemberTicket ticket, TryResult result);

  RetryBudget& retryBudget() { return retry_budget_; }
  GatewayPoolStats& stats() { return stats_; }
  // Retries and refusals count on the checker's pool table.
  void countRetry();
  void countRetryRefused();
  // What a 503 no_healthy_upstream tells the client to wait: until the first
  // ejected member returns, or a few checks' time, in whole seconds (1..60).
  int retryAfterSeconds() const;
  // "healthy", "unchecked", "unhealthy" or "ejected", for /listservers.
  std::string_view healthWord(uint32_t index) const;

  // Writes this pool's gauges again (member health, in flight, pool
  // counts): another pool of the same name, retired by a reload, may have
  // written them last.
  void republishStats();
  // A pool a reload removed, as it closes: its gauges go to 0 (no member,
  // none healthy, nothing in flight), since no pool of its name follows.
  void clearStats();

  const PoolHealth* health() const { return checker_ ? &checker_->health() : nullptr; }

 private:
  void onHealthEvent(const HealthEvent& e);
  void rebuildView();

  std::string name_;
  BalancePolicy policy_ = BalancePolicy::RoundRobin;
  HashBy hash_by_;
  std::string discover_;
  GatewayPoolDeps deps_;
  bool active_checks_;
  int64_t check_interval_ms_;
  int64_t rise_;
  std::unique_ptr<HealthChecker> checker_;
  std::unique_ptr<LoadBalancer> balancer_;
  RetryBudget retry_budget_;
  GatewayPoolStats stats_;

  std::vector<std::unique_ptr<PoolMember>> slots_;  // by index; null: free
  std::vector<Member> view_;                        // the balancer's view, members only
  std::vector<uint32_t> position_;                  // by index: position in view_
  std::map<std::string, uint32_t, std::less<>> by_name_;
  // Registry instances and the member name each one counts for.
  std::map<std::string, std::string, std::less<>> instances_;
  std::map<std::string, std::string, std::less<>> skipped_;  // instance -> address logged
  uint64_t next_generation_ = 1;
  bool stopped_ = false;
  std::function<void()> membership_listener_;
};

}  // namespace redge
