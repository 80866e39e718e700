// An exact sum of floats whose value does not depend on the order the floats are added in, nor
// on how they are split between workers and merged: the k-means objective, which drives the
// stop rule and is written to the model, must be the same whether the rows sit in one process
// or are sharded (docs/sharded.md).
//
// Every finite float is m x 2^(e - 150) with an integer |m| < 2^24 and a biased exponent e in
// [1, 254] (subnormals: e = 1 without the implicit bit). The sum keeps one int64 per exponent
// and adds m to it: integer additions, exact and associative. A bin takes at most 2^39 floats
// before it could overflow (2^63 / 2^24), far beyond any sample. Infinities and NaN are counted
// apart, so a sum that meets one is inf or NaN as IEEE addition would give, in any order.
#pragma once

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace ivftrain {

struct ExactSum {
  // Bins 0..255 by biased exponent (0 unused: subnormals go to bin 1), then the counts of +inf,
  // -inf and NaN. Plain integers: merged by adding them (MPI_SUM, a file's partial).
  static constexpr int kBins = 256;
  static constexpr int kSize = kBins + 3;
  std::array<int64_t, kSize> bins{};

  void add(float v) {
    const uint32_t u = std::bit_cast<uint32_t>(v);
    const uint32_t e = (u >> 23) & 0xffu;
    if (e == 0xffu) {
      ++bins[(u & 0x7fffffu) != 0 ? kBins + 2 : ((u >> 31) ? kBins + 1 : kBins)];
      return;
    }
    const int64_t m = static_cast<int64_t>((u & 0x7fffffu) | (e != 0 ? 0x800000u : 0u));
    bins[e != 0 ? e : 1] += (u >> 31) ? -m : m;
  }

  void add(const float* v, int64_t n) {
    for (int64_t i = 0; i < n; ++i) add(v[i]);
  }

  void merge(const ExactSum& other) {
    for (int i = 0; i < kSize; ++i) bins[i] += other.bins[i];
  }

  // The sum rounded to double: a function of the bins alone, so equal bins give equal bits.
  // Bins are added from the smallest exponent up, each exactly representable while it holds
  // fewer than 2^29 floats, so the result is within a few ulps of the exact sum.
  double value() const {
    const int64_t pos_inf = bins[kBins], neg_inf = bins[kBins + 1], nan = bins[kBins + 2];
    if (nan > 0 || (pos_inf > 0 && neg_inf > 0)) return std::numeric_limits<double>::quiet_NaN();
    if (pos_inf > 0) return std::numeric_limits<double>::infinity();
    if (neg_inf > 0) return -std::numeric_limits<double>::infinity();
    double s = 0;
    for (int e = 1; e < kBins - 1; ++e) {
      if (bins[e] != 0) s += std::ldexp(static_cast<double>(bins[e]), e - 150);
    }
    return s;
  }
};

}  // namespace ivftrain
