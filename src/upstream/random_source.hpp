#pragma once
// The random numbers a balancer draws (least_request's two choices), behind
// a seam so unit tests replay exact sequences. SplitMixRandom is the
// production source: a few arithmetic operations per number, no state shared
// with anything else, not for cryptography.

#include <cstdint>
#include <random>

namespace redge {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // 64 uniformly random bits.
  virtual uint64_t next() = 0;
  // A number in [0, n), n >= 1. Multiply-shift on the high 32 bits: no
  // division, and a bias of at most n / 2^32, which a balancer cannot see.
  uint32_t below(uint32_t n) {
    return static_cast<uint32_t>(((next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }
};

// SplitMix64: a counter stepped by the golden-ratio constant and mixed; every
// seed gives a full-period sequence.
class SplitMixRandom final : public RandomSource {
 public:
  explicit SplitMixRandom(uint64_t seed) : state_(seed) {}
  // Seeded once from the system's entropy, so instances do not move in step.
  SplitMixRandom()
      : state_((static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()) {}

  uint64_t next() override {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

}  // namespace redge
