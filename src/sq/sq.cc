#include "ivftrain/sq.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "util/enum_names.h"

namespace ivftrain {

Status validate(const SqParams& p) {
  if (p.num_bits != 4 && p.num_bits != 8) {
    return Status::InvalidArgument(
        fmt::format("num_bits {} is not supported for SQ (use 4 or 8)", p.num_bits));
  }
  if (p.sample_rate < 1) {
    return Status::InvalidArgument(
        fmt::format("sample_rate must be at least 1 (got {})", p.sample_rate));
  }
  return Status::OK();
}

std::string_view to_string(SqBoundsMode t) {
  return t == SqBoundsMode::kGlobal ? "global" : "per-dim";
}

Result<SqBoundsMode> parse_sq_bounds_mode(std::string_view s) {
  static constexpr SqBoundsMode v[] = {SqBoundsMode::kGlobal, SqBoundsMode::kPerDimension};
  return parse_enum(s, v, "SQ bounds mode");
}

SqBounds SqBounds::empty(SqBoundsMode mode, int64_t dim) {
  SqBounds b;
  b.mode = mode;
  const size_t size = mode == SqBoundsMode::kGlobal ? 1 : static_cast<size_t>(dim);
  b.lower.assign(size, std::numeric_limits<float>::infinity());
  b.upper.assign(size, -std::numeric_limits<float>::infinity());
  return b;
}

void SqBounds::update(int64_t n, int64_t dim, const float* x) {
  if (lower.empty()) *this = empty(mode, dim);
  if (mode == SqBoundsMode::kGlobal) {
    float lo = lower[0], hi = upper[0];
    for (int64_t i = 0; i < n * dim; ++i) {
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
    }
    lower[0] = lo;
    upper[0] = hi;
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float* row = x + i * dim;
    for (int64_t j = 0; j < dim; ++j) {
      lower[j] = std::min(lower[j], row[j]);
      upper[j] = std::max(upper[j], row[j]);
    }
  }
}

void SqBounds::merge(const SqBounds& other) {
  if (lower.empty()) {
    *this = other;
    return;
  }
  for (size_t j = 0; j < lower.size() && j < other.lower.size(); ++j) {
    lower[j] = std::min(lower[j], other.lower[j]);
    upper[j] = std::max(upper[j], other.upper[j]);
  }
}

bool SqBounds::has_data() const { return !lower.empty() && lower[0] <= upper[0]; }

double sq_reconstruction_error(const SqBounds& bounds, int num_bits, int64_t n, int64_t dim,
                               const float* x) {
  if (n <= 0 || dim <= 0) return 0;
  const float levels = static_cast<float>((1 << num_bits) - 1);
  const bool global = bounds.mode == SqBoundsMode::kGlobal;
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    double row_error = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const size_t b = global ? 0 : static_cast<size_t>(j);
      // Bounds that have seen no data quantize everything to 0.
      float lo = 0, hi = 0;
      if (b < bounds.lower.size() && bounds.lower[b] <= bounds.upper[b]) {
        lo = bounds.lower[b];
        hi = bounds.upper[b];
      }
      const float v = x[i * dim + j];
      float decoded = lo;  // hi == lo: a single level
      if (hi > lo) {
        const float range = hi - lo;
        const float code = std::clamp(std::round((v - lo) / range * levels), 0.0f, levels);
        decoded = lo + code * range / levels;
      }
      const double e = static_cast<double>(v) - decoded;
      row_error += e * e;
    }
    total += row_error;
  }
  return total / static_cast<double>(n);
}

}  // namespace ivftrain
