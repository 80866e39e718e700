// The encodings and distances of the in-memory index that `ivftrain eval` builds.
#pragma once

#include <cstdint>
#include <vector>

#include "ivftrain/metric.h"
#include "ivftrain/pq.h"
#include "ivftrain/sq.h"

namespace ivftrain::eval {

// Scalar quantisation with fixed bounds, as Lance quantises and sq_reconstruction_error
// measures: code = round((x - lo) / (hi - lo) L) clipped to [0, L], L = 2^bits - 1, value
// lo + code (hi - lo) / L; bounds with hi <= lo (or never widened) hold one level, lo (0 when
// never widened).
class SqCodec {
 public:
  SqCodec(const SqBounds& bounds, int num_bits, int64_t dim);
  int64_t dim() const { return static_cast<int64_t>(lo_.size()); }
  // Encodes one row (dim bytes); returns how many of its values lay outside the bounds.
  int64_t encode(const float* x, uint8_t* code) const;
  void decode(const uint8_t* code, float* x) const;
  // Squared l2 distance, or -inner product, between q and the decoded code.
  float distance(Metric metric, const float* q, const uint8_t* code) const;

 private:
  std::vector<float> lo_, hi_, step_;
  float levels_;
};

// Asymmetric distance tables of PQ (FAISS's IndexIVFPQ): table[m ksub + j] is the squared l2
// distance between sub-vector m of `v` and codeword j of sub-space m (kL2), or minus their inner
// product (kInnerProduct); a code's distance is the sum over m of table[m ksub + code[m]].
void pq_distance_table(const PqCodebook& cb, Metric metric, const float* v, float* table);
inline float pq_table_distance(const float* table, int64_t m_count, int64_t ksub,
                               const uint8_t* code) {
  float sum = 0;
  for (int64_t m = 0; m < m_count; ++m) sum += table[m * ksub + code[m]];
  return sum;
}

// 4-bit codes as an index stores them, two per byte: code 2i in the low half of byte i, code
// 2i + 1 in the high half (FAISS's order). `n` codes of values < 16 take (n + 1) / 2 bytes.
void pack_nibbles(const uint8_t* codes, int64_t n, uint8_t* packed);
void unpack_nibbles(const uint8_t* packed, int64_t n, uint8_t* codes);

}  // namespace ivftrain::eval
