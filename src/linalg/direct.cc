#include "linalg/direct.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "linalg/gemm_tiles.h"
#include "linalg/kernels.h"

namespace ivftrain {

DirectCentroids::DirectCentroids(Metric metric, int64_t k, int64_t d, const float* centroids)
    : d_(d), kp_((k + kernels::kColumnPad - 1) / kernels::kColumnPad * kernels::kColumnPad),
      alpha_(gemm_alpha(metric)), centroids_(centroids),
      ct_(hwy::AllocateAligned<float>(static_cast<size_t>(d * kp_))),
      init_(hwy::AllocateAligned<float>(static_cast<size_t>(kp_))) {
  std::fill_n(ct_.get(), d * kp_, 0.0f);
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < d; ++j) ct_[j * kp_ + c] = centroids[c * d + j];
  }
  // Padding columns never win.
  std::fill_n(init_.get(), kp_, std::numeric_limits<float>::infinity());
  const std::vector<float> bias = tiles::centroid_bias(metric, k, d, centroids);
  std::copy(bias.begin(), bias.end(), init_.get());
}

void DirectCentroids::argmin(int64_t rows, const float* x, float* best, int32_t* labels) const {
  kernels::direct_argmin(rows, d_, x, kp_, ct_.get(), init_.get(), alpha_, best, labels);
}

void DirectCentroids::two_min(int64_t rows, const float* x, const int64_t* ids, float* best,
                              int32_t* labels, float* second) const {
  kernels::direct_two_min(rows, d_, x, ids, kp_, ct_.get(), init_.get(), alpha_, best, labels,
                          second);
}

void DirectCentroids::scores(int64_t rows, const float* x, const int32_t* labels,
                             float* out) const {
  kernels::direct_scores(rows, d_, x, labels, centroids_, init_.get(), alpha_, out);
}

}  // namespace ivftrain
