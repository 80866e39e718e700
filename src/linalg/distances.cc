#include "linalg/distances.h"

#include <cstring>

namespace ivftrain {
namespace {

constexpr int kLanes = 16;

// Adds the lanes pairwise (a fixed tree), then the tail in index order.
inline float reduce_lanes(const float* acc) {
  float s8[8], s4[4];
  for (int i = 0; i < 8; ++i) s8[i] = acc[i] + acc[i + 8];
  for (int i = 0; i < 4; ++i) s4[i] = s8[i] + s8[i + 4];
  return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}

}  // namespace

float l2_sqr_ref(const float* a, const float* b, int64_t d) {
  float s = 0;
  for (int64_t j = 0; j < d; ++j) {
    const float t = a[j] - b[j];
    s += t * t;
  }
  return s;
}

float inner_product_ref(const float* a, const float* b, int64_t d) {
  float s = 0;
  for (int64_t j = 0; j < d; ++j) s += a[j] * b[j];
  return s;
}

float norm_sqr_ref(const float* a, int64_t d) { return inner_product_ref(a, a, d); }

float l2_sqr(const float* a, const float* b, int64_t d) {
  float acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= d; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const float t = a[j + l] - b[j + l];
      acc[l] += t * t;
    }
  }
  float s = reduce_lanes(acc);
  for (; j < d; ++j) {
    const float t = a[j] - b[j];
    s += t * t;
  }
  return s;
}

float inner_product(const float* a, const float* b, int64_t d) {
  float acc[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= d; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) acc[l] += a[j + l] * b[j + l];
  }
  float s = reduce_lanes(acc);
  for (; j < d; ++j) s += a[j] * b[j];
  return s;
}

float norm_sqr(const float* a, int64_t d) { return inner_product(a, a, d); }

void row_norms_sqr(int64_t n, int64_t d, const float* x, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = norm_sqr(x + i * d, d);
}

void gather_rows(int64_t d, const float* x, const int64_t* rows, int64_t count, float* out) {
  for (int64_t r = 0; r < count; ++r) {
    std::memcpy(out + r * d, x + rows[r] * d, sizeof(float) * d);
  }
}

}  // namespace ivftrain
