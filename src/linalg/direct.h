// The centroids as the direct kernel (linalg/kernels.h) reads them: transposed, padded to whole
// vectors of the widest target, with their biases (||c||^2 for l2) as the kernel's init. Built
// once per call and shared, read-only, by every block of rows.
#pragma once

#include <hwy/aligned_allocator.h>

#include <cstdint>

#include "linalg/metric.h"

namespace ivftrain {

class DirectCentroids {
 public:
  // k centroids of d floats (row-major); they must outlive this object.
  DirectCentroids(Metric metric, int64_t k, int64_t d, const float* centroids);

  // For each of `rows` contiguous rows of x: the smallest score, and the first centroid that
  // reaches it (kernels::direct_argmin).
  void argmin(int64_t rows, const float* x, float* best, int32_t* labels) const;
  // The same for rows ids[r] of x (r < rows), with the second smallest score
  // (kernels::direct_two_min); the results at r.
  void two_min(int64_t rows, const float* x, const int64_t* ids, float* best, int32_t* labels,
               float* second) const;
  // Each row's score against the centroid labels[i] names, bit for bit as argmin and two_min
  // compute it.
  void scores(int64_t rows, const float* x, const int32_t* labels, float* out) const;

 private:
  int64_t d_, kp_;
  float alpha_;
  const float* centroids_;
  // Both start on a cache line, so that no vector load of the kernel splits one (malloc aligns
  // to 16 bytes: half the AVX2 loads, all the AVX-512 ones, straddled two lines; PQ training
  // at AVX-512 took 1.3 times as long).
  hwy::AlignedFreeUniquePtr<float[]> ct_, init_;
};

}  // namespace ivftrain
