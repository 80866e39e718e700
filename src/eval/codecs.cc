#include "eval/codecs.h"

#include <algorithm>
#include <cmath>

#include "linalg/distances.h"

namespace ivftrain::eval {

SqCodec::SqCodec(const SqBounds& bounds, int num_bits, int64_t dim)
    : lo_(static_cast<size_t>(dim), 0.0f), hi_(static_cast<size_t>(dim), 0.0f),
      step_(static_cast<size_t>(dim), 0.0f), levels_(static_cast<float>((1 << num_bits) - 1)) {
  const bool global = bounds.mode == SqBoundsMode::kGlobal;
  for (int64_t j = 0; j < dim; ++j) {
    const size_t b = global ? 0 : static_cast<size_t>(j);
    if (b < bounds.lower.size() && bounds.lower[b] <= bounds.upper[b]) {
      lo_[j] = bounds.lower[b];
      hi_[j] = bounds.upper[b];
    }
    step_[j] = hi_[j] > lo_[j] ? (hi_[j] - lo_[j]) / levels_ : 0.0f;
  }
}

int64_t SqCodec::encode(const float* x, uint8_t* code) const {
  int64_t clipped = 0;
  for (size_t j = 0; j < lo_.size(); ++j) {
    const float v = x[j], lo = lo_[j], hi = hi_[j];
    clipped += (v < lo || v > hi) ? 1 : 0;
    float c = 0;  // hi == lo: a single level
    // The same arithmetic as sq_reconstruction_error, so that eval and training agree.
    if (hi > lo) c = std::clamp(std::round((v - lo) / (hi - lo) * levels_), 0.0f, levels_);
    code[j] = static_cast<uint8_t>(c);
  }
  return clipped;
}

void SqCodec::decode(const uint8_t* code, float* x) const {
  for (size_t j = 0; j < lo_.size(); ++j) {
    x[j] = hi_[j] > lo_[j] ? lo_[j] + code[j] * (hi_[j] - lo_[j]) / levels_ : lo_[j];
  }
}

float SqCodec::distance(Metric metric, const float* q, const uint8_t* code) const {
  const size_t d = lo_.size();
  float sum = 0;
  if (metric == Metric::kL2) {
    for (size_t j = 0; j < d; ++j) {
      const float diff = q[j] - (lo_[j] + code[j] * step_[j]);
      sum += diff * diff;
    }
    return sum;
  }
  for (size_t j = 0; j < d; ++j) sum += q[j] * (lo_[j] + code[j] * step_[j]);
  return -sum;
}

void pq_distance_table(const PqCodebook& cb, Metric metric, const float* v, float* table) {
  const int64_t ksub = cb.ksub(), dsub = cb.dsub();
  for (int64_t m = 0; m < cb.num_sub_vectors; ++m) {
    const float* sub = v + m * dsub;
    const float* words = cb.centroids.data() + m * ksub * dsub;
    float* t = table + m * ksub;
    if (metric == Metric::kL2) {
      for (int64_t j = 0; j < ksub; ++j) t[j] = l2_sqr(sub, words + j * dsub, dsub);
    } else {
      for (int64_t j = 0; j < ksub; ++j) t[j] = -inner_product(sub, words + j * dsub, dsub);
    }
  }
}

void pack_nibbles(const uint8_t* codes, int64_t n, uint8_t* packed) {
  for (int64_t i = 0; i < n / 2; ++i) {
    packed[i] = static_cast<uint8_t>(codes[2 * i] | (codes[2 * i + 1] << 4));
  }
  if (n % 2) packed[n / 2] = codes[n - 1];
}

void unpack_nibbles(const uint8_t* packed, int64_t n, uint8_t* codes) {
  for (int64_t i = 0; i < n / 2; ++i) {
    codes[2 * i] = packed[i] & 0xF;
    codes[2 * i + 1] = packed[i] >> 4;
  }
  if (n % 2) codes[n - 1] = packed[n / 2] & 0xF;
}

}  // namespace ivftrain::eval
