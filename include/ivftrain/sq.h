// Scalar quantization bounds.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "ivftrain/status.h"

namespace ivftrain {

enum class SqBoundsMode {
  kGlobal,       // one min/max over all dimensions (Lance)
  kPerDimension  // one min/max per dimension
};

struct SqParams {
  // Bits per dimension: 4 or 8. Lance: 8.
  int num_bits = 8;
  // Rows wanted for the bounds: sample_rate * 2^num_bits. Lance: 256.
  int64_t sample_rate = 256;
  SqBoundsMode bounds = SqBoundsMode::kGlobal;
};

// Checks the parameters; errors name the field.
Status validate(const SqParams& params);

std::string_view to_string(SqBoundsMode t);
Result<SqBoundsMode> parse_sq_bounds_mode(std::string_view s);

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
