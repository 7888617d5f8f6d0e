// ConsistentHash: building the ring of virtual nodes from the members' names
// and weights, and the lookup (binary search, then walk on past members that
// cannot take the request).
//
// The ring is kept as two parallel arrays, so the binary search touches 8
// bytes per step rather than a whole entry.

#include "upstream/consistent_hash.hpp"

#include <algorithm>
#include <string>

namespace redge {

uint64_t ConsistentHash::hash(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64 offset basis
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;  // FNV-1a 64 prime
  }
  // FNV-1a alone leaves keys that differ in their last byte close together
  // on the ring; a murmur-style finaliser spreads every input bit over all
  // 64 output bits.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

void ConsistentHash::rebuild() {
  uint64_t total_weight = 0;
  for (const Member& m : members_) total_weight += m.weight;
  uint64_t per_weight = kPointsPerWeight;
  if (total_weight * per_weight > kMaxRingPoints) {
    per_weight = std::max<uint64_t>(1, kMaxRingPoints / std::max<uint64_t>(total_weight, 1));
  }

  struct Point {
    uint64_t hash;
    uint32_t position;
    uint32_t replica;
  };
  std::vector<Point> points;
  points.reserve(
      static_cast<size_t>(std::min<uint64_t>(total_weight * per_weight, kMaxRingPoints)));
  std::string label;
  for (size_t pos = 0; pos < members_.size(); ++pos) {
    const Member& m = members_[pos];
    uint64_t count = std::min<uint64_t>(m.weight * per_weight, kMaxRingPoints);
    // A member without a name is placed by its index (then the ring is only
    // as stable as the indices).
    std::string identity(m.name);
    if (identity.empty()) identity.append("#").append(std::to_string(m.index));
    for (uint64_t r = 0; r < count; ++r) {
      label.assign(identity);
      label.push_back('#');
      label.append(std::to_string(r));
      points.push_back(Point{hash(label), static_cast<uint32_t>(pos), static_cast<uint32_t>(r)});
    }
  }
  // Ties (two points on one hash) are ordered by name and replica, not by
  // table position, so every instance builds the same ring.
  std::sort(points.begin(), points.end(), [this](const Point& a, const Point& b) {
    if (a.hash != b.hash) return a.hash < b.hash;
    std::string_view an = members_[a.position].name;
    std::string_view bn = members_[b.position].name;
    if (an != bn) return an < bn;
    return a.replica < b.replica;
  });
  hashes_.resize(points.size());
  positions_.resize(points.size());
  for (size_t i = 0; i < points.size(); ++i) {
    hashes_[i] = points[i].hash;
    positions_[i] = points[i].position;
  }
}

std::optional<uint32_t> ConsistentHash::pick(const PickContext& ctx) {
  const size_t n = hashes_.size();
  if (n == 0) return std::nullopt;
  const uint64_t h = hash(ctx.hash_key);
  size_t at =
      static_cast<size_t>(std::lower_bound(hashes_.begin(), hashes_.end(), h) - hashes_.begin());
  if (at == n) at = 0;
  for (size_t step = 0; step < n; ++step) {
    const Member& m = members_[positions_[at]];
    if (available(m, ctx)) return m.index;
    if (++at == n) at = 0;
  }
  return std::nullopt;
}

}  // namespace redge
