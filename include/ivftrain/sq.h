// Scalar quantization bounds.
#pragma once

#include <cstdint>
#include <vector>

#include "ivftrain/params.h"

namespace ivftrain {

struct SqBounds {
  SqBoundsMode mode = SqBoundsMode::kGlobal;
  // One value each (global) or dim values each (per dimension). Empty until data is seen:
  // then lower = +inf and upper = -inf, which merge as the identity.
  std::vector<float> lower, upper;

  static SqBounds empty(SqBoundsMode mode, int64_t dim);
  // Widens the bounds by n rows of x (n x dim); non-finite values must already be removed.
  void update(int64_t n, int64_t dim, const float* x);
  // min of the minima, max of the maxima. Both must have the same mode and size.
  void merge(const SqBounds& other);
  bool has_data() const;
};

// Quantizes each value to num_bits (4 or 8) between the bounds and back; returns the mean squared
// reconstruction error per row (summed over dimensions).
double sq_reconstruction_error(const SqBounds& bounds, int num_bits, int64_t n, int64_t dim,
                               const float* x);

}  // namespace ivftrain
