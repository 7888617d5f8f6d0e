#pragma once
// Plain round robin over the available members, in table order, weights
// ignored: what redis_rotation falls back to while Redis is down.
//
// redis_rotation itself keeps the member list in a Redis list and takes each
// request's member with LMOVE list list LEFT RIGHT, so every gateway
// instance on that Redis walks one shared rotation. Its cost per request is
// one command on the shared, pipelined Redis connection: about 1 µs of
// Redis CPU when commands are batched, but one Redis round trip added to the
// request's latency, and no answer at all while Redis is away; hence this
// local fallback. An LMOVE that names a member this instance holds
// ineligible (or one the request must avoid) is the gateway's to skip, with
// this rotation's pick.
//
// Cost per pick: O(1) while the next member in turn is available; a run of k
// unavailable members costs k more steps, at most n. No allocation.

#include <cstdint>
#include <optional>

#include "upstream/load_balancer.hpp"

namespace redge {

class LocalRotation final : public LoadBalancer {
 public:
  std::optional<uint32_t> pick(const PickContext& ctx) override;

 private:
  void rebuild() override;

  size_t next_ = 0;  // the position whose turn it is
};

}  // namespace redge
