// A small, portable random generator. std:: distributions differ between standard libraries, so
// every random choice in ivftrain goes through this file: the same seed gives the same numbers
// on every platform, which the determinism contract needs.
#pragma once

#include <array>
#include <cstdint>

namespace ivftrain {

// SplitMix64 step: a good 64-bit mixer, used to derive independent seeds.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A seed for one purpose (`stream`, e.g. a fragment id or a sub-space index) of a run seeded
// with `seed`. Distinct streams give unrelated sequences.
inline uint64_t derive_seed(uint64_t seed, uint64_t purpose, uint64_t stream) {
  uint64_t s = seed ^ (purpose * 0xD1B54A32D192ED03ull);
  splitmix64(s);
  s ^= stream * 0x8CB92BA72F3D8DD7ull;
  return splitmix64(s);
}

// Purposes for derive_seed.
enum : uint64_t {
  kSeedFragmentRows = 1,   // rows chosen inside a fragment
  kSeedQuotaRounding = 2,  // the plan's rounding of fragment quotas
  kSeedIvfSubset = 3,      // the subset of the sample IVF trains on
  kSeedPqSubset = 4,       // the subset of the sample PQ trains on
  kSeedIvfKMeans = 5,      // IVF k-means
  kSeedPqKMeans = 6,       // PQ k-means, stream = sub-space
  // Inside one k-means run, derived from its seed:
  kSeedCoarseSample = 101,  // hierarchical: the rows the coarse k-means trains on
  kSeedCoarse = 102,        // hierarchical: the coarse k-means
  kSeedGroup = 103,         // hierarchical: the k-means of one group, stream = group
  kSeedRefine = 104,        // hierarchical: empty-cluster splits during refinement
  kSeedBalanceCut = 105,    // balance: the k-means cutting a cluster, stream = round * k + cluster
  kSeedKMeansParallel = 106,  // k-means||: the draws of one oversampling round, stream = round
};

// xoshiro256** 1.0 (Blackman and Vigna), seeded through SplitMix64.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& w : s_) w = splitmix64(seed);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, bound), bound >= 1, without modulo bias (Lemire's method).
  uint64_t uniform(uint64_t bound) {
    __uint128_t m = static_cast<__uint128_t>(next()) * bound;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < bound) {
      const uint64_t threshold = -bound % bound;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next()) * bound;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
  // Uniform double in [0, 1) with 53 random bits.
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Standard normal (Box-Muller; one value per call, deterministic).
  double normal();

  // The generator's whole state, so that a run split across processes (the file protocol's
  // rounds) continues the sequence exactly where the previous process left it.
  using State = std::array<uint64_t, 4>;
  State state() const { return {s_[0], s_[1], s_[2], s_[3]}; }
  static Rng from_state(const State& state) {
    Rng rng(0);
    for (int i = 0; i < 4; ++i) rng.s_[i] = state[i];
    return rng;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace ivftrain
