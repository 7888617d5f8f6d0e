#pragma once
// hash: consistent hashing on a ring with virtual nodes. Each member is
// placed at kPointsPerWeight × weight points on a 64-bit ring, each point the
// hash of "<name>#<replica>"; a key goes to the member owning the first
// point at or after the key's hash (wrapping around). A key whose member is
// unavailable (ineligible, or avoided by a retry) walks on to the next point
// of an available member: exactly where it would go if that member had left.
//
// So a member leaving, whether removed from the pool or merely unhealthy,
// moves only the keys it held, spread over the others by their weights; a
// member joining takes back only its share. Points depend on member names
// alone, so every gateway instance with the same members maps a key to the
// same member, whatever order its table is in.
//
// Cost per pick: hashing the key (O(key length)), one lookup in a bucket
// index on the hash's top bits, and a binary search over the few points of
// that bucket (about four: O(1) in the ring's size P = kPointsPerWeight ×
// total weight); walking on past unavailable members adds a step per point
// skipped, all P of them only when no member is available (the gateway knows
// that beforehand from PoolHealth::eligibleCount()). No allocation.
// setMembers() rebuilds the ring: O(P log P), with about P × 13 bytes kept.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "upstream/load_balancer.hpp"

namespace redge {

class ConsistentHash final : public LoadBalancer {
 public:
  // Points per unit of weight. More points spread the keys more evenly
  // (the standard deviation of a member's share is about 1/sqrt(points)).
  static constexpr uint32_t kPointsPerWeight = 160;
  // A bound on the ring's size (3 MiB). A pool whose total weight would
  // exceed it gets fewer points per weight; membership changes can then also
  // move a few keys between members that stayed.
  static constexpr size_t kMaxRingPoints = size_t{1} << 18;

  std::optional<uint32_t> pick(const PickContext& ctx) override;

  // The 64-bit hash of keys and points: FNV-1a followed by a 64-bit
  // finaliser, so that short, similar keys spread over the whole ring. The
  // same on every platform (it defines where keys go across instances).
  static uint64_t hash(std::string_view bytes);

  size_t ringPoints() const { return hashes_.size(); }

 private:
  void rebuild() override;

  static constexpr int kMaxBucketBits = 16;

  std::vector<uint64_t> hashes_;     // the ring's points, ascending
  std::vector<uint32_t> positions_;  // the member (position in members_) owning each point
  // bucket_start_[b]: the first point whose top bucket_bits_ bits are >= b;
  // one more entry at the end (hashes_.size()).
  std::vector<uint32_t> bucket_start_{0, 0, 0};
  int bucket_bits_ = 1;
};

}  // namespace redge
