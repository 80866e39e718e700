// Fixed-width vectors through the GCC/Clang vector extension. With -march=native they compile
// to AVX-512 registers (or pairs of AVX2 ones), without intrinsics tied to one instruction set.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

namespace ivftrain::simd {

inline constexpr int kWidth = 16;
typedef float f32x16 __attribute__((vector_size(64)));
typedef int32_t i32x16 __attribute__((vector_size(64)));

inline f32x16 load(const float* p) {
  f32x16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline f32x16 splat(float x) { return f32x16{} + x; }
inline i32x16 iota(int32_t base) {
  return i32x16{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15} + base;
}

// Running per-lane argmin: keeps, in each lane, the smallest value seen and the index where it
// was first seen (strict <, so earlier = smaller indices win ties).
struct ArgMin {
  f32x16 value = splat(std::numeric_limits<float>::infinity());
  i32x16 index = i32x16{};

  void update(f32x16 v, i32x16 idx) {
    const i32x16 lt = v < value;
    value = lt ? v : value;
    index = lt ? idx : index;
  }
  // Reduces the lanes: the smallest value, and among equal values the smallest index.
  // Branch-free (a tree of lane swaps): this runs once per row and mispredicted branches would
  // cost more than the comparisons.
  void reduce(float* best_value, int32_t* best_index) const {
    const f32x16 m = all_lanes_min(value);
    const i32x16 tied = value == m;
    const i32x16 idx = all_lanes_min(tied ? index : i32x16{} + INT32_MAX);
    *best_value = m[0];
    *best_index = idx[0];
  }

  template <typename V>
  static V all_lanes_min(V v) {
    v = min(v, __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7));
    v = min(v, __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11));
    v = min(v, __builtin_shufflevector(v, v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13));
    v = min(v, __builtin_shufflevector(v, v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14));
    return v;
  }
  template <typename V>
  static V min(V a, V b) {
    return a < b ? a : b;
  }
};

}  // namespace ivftrain::simd
