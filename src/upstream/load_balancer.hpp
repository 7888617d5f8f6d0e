#pragma once
// How a pool chooses the member that takes a request: the seam every
// balancing policy (`balance` of a pool) implements, and the small view of a
// member they choose among.
//
// The pool owns its members' table (a contiguous array of Member) and hands
// the balancer a view of it with setMembers(). Between two setMembers() calls
// the pool may change `eligible` and `active_requests` in place, at any time,
// and the next pick() sees them; any other change (a member added or
// removed, a weight changed, the array moved) needs setMembers() again. That
// is when a balancer rebuilds what it derives from membership (the hash
// ring, the round-robin state), never per request.
//
// pick() is the per-request call: it allocates nothing and runs no I/O. It
// returns the `index` of the chosen member, or nothing when no member is
// eligible and not avoided; the gateway then answers 503
// no_healthy_upstream (a retry with nothing left to try is not made).
//
// What a pick costs, n members (see each balancer's header):
//   round_robin     SmoothWeightedRoundRobin  O(n): one pass over the members
//   least_request   LeastRequest              O(1) expected: two random draws
//   hash            ConsistentHash            O(key length + log(ring points))
//   redis_rotation  one LMOVE on the shared Redis connection per request (the
//                   gateway's); LocalRotation, O(1), while Redis is down
//
// Single-threaded, like the rest of redge.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace redge {

class RandomSource;

struct Member {
  uint32_t index = 0;            // the member's slot in the pool: what pick() returns
  uint32_t weight = 1;           // relative share of the traffic; 0 takes none
  bool eligible = false;         // passed its health checks and is not ejected
  uint32_t active_requests = 0;  // requests in flight to it now (least_request)
  std::string_view name;         // stable identity, e.g. "10.0.0.5:8080": where the hash
                                 // ring places it, the same in every gateway instance
};

struct PickContext {
  // hash: the value to hash (a header, a cookie, the client address). The
  // gateway chooses it and its fallback; an empty key is hashed like any other.
  std::string_view hash_key;
  // Member indices not to pick: the members this request already tried, so
  // a retry goes to a different one. Usually empty or one entry.
  std::span<const uint32_t> avoid;
};

// The `balance` policies a pool may name.
enum class BalancePolicy { RoundRobin, LeastRequest, Hash, RedisRotation };

// "round_robin" | "least_request" | "hash" | "redis_rotation".
bool parseBalancePolicy(std::string_view text, BalancePolicy& out);
std::string_view balancePolicyName(BalancePolicy policy);

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;

  // Membership changed (see the top of this file). The view must stay valid
  // until the next setMembers() or the balancer's destruction.
  void setMembers(std::span<const Member> members) {
    members_ = members;
    rebuild();
  }
  // The member to send a request to, or nothing.
  virtual std::optional<uint32_t> pick(const PickContext& ctx) = 0;

  std::span<const Member> members() const { return members_; }

 protected:
  // Derive whatever the balancer keeps from members_.
  virtual void rebuild() = 0;

  // May this member take this request?
  static bool available(const Member& m, const PickContext& ctx) {
    if (!m.eligible || m.weight == 0) return false;
    for (uint32_t a : ctx.avoid) {
      if (a == m.index) return false;
    }
    return true;
  }

  std::span<const Member> members_;
};

// The balancer for a policy. For redis_rotation it is the local fallback
// (LocalRotation): the shared rotation itself is the gateway's LMOVE.
// `random` is used by least_request and must outlive the balancer.
std::unique_ptr<LoadBalancer> makeLoadBalancer(BalancePolicy policy, RandomSource& random);

}  // namespace redge
