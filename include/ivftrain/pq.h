// Product quantization: one k-means per sub-space.
#pragma once

#include <cstdint>
#include <vector>

#include "ivftrain/kmeans.h"
#include "ivftrain/status.h"

namespace ivftrain {

struct PqParams {
  // Sub-vectors per vector; must divide the dimension. Lance: 16.
  int64_t num_sub_vectors = 16;
  // Bits per code: 4 or 8 (16 or 256 centroids per sub-space). Lance: 8.
  int num_bits = 8;
  // Training rows wanted: sample_rate * 2^num_bits. Lance: 256. (Read by the training pipeline
  // when it draws the PQ sample; pq_train trains on whatever rows it is given.)
  int64_t sample_rate = 256;
  // The k-means of each sub-space (as FAISS's ProductQuantizer nests ClusteringParameters):
  // max_iters, tolerance, init, seed (each sub-space derives its own from it) and num_threads
  // (sub-spaces train in parallel). Sub-spaces use flat l2 k-means without balancing; other
  // values of algorithm, balance or metric are refused.
  KMeansParams kmeans;
};

struct PqCodebook {
  int64_t dim = 0;
  int64_t num_sub_vectors = 0;  // M
  int num_bits = 8;             // ksub = 2^num_bits
  // Layout (M, ksub, dsub) row-major, dsub = dim / M: centroid j of sub-space m starts at
  // centroids[(m * ksub + j) * dsub]. This is FAISS's ProductQuantizer.centroids layout and the
  // shape of pq_codebook.npy.
  std::vector<float> centroids;
  // Per sub-space k-means statistics.
  std::vector<std::vector<KMeansIteration>> iterations;

  int64_t ksub() const { return int64_t{1} << num_bits; }
  int64_t dsub() const { return num_sub_vectors ? dim / num_sub_vectors : 0; }
};

// Checks the parameters alone, and against the dimension when dim > 0. Errors name the field.
Status validate(const PqParams& params, int64_t dim);

// Trains a codebook on x (n x d). Sub-spaces train in parallel; the result does not depend on
// the thread count. Errors: those of validate(), and n < 2^num_bits.
Result<PqCodebook> pq_train(int64_t n, int64_t d, const float* x, const PqParams& params);

// codes: n x M bytes (one byte per sub-vector whatever num_bits).
void pq_encode(const PqCodebook& cb, int64_t n, const float* x, uint8_t* codes,
               int num_threads = 0);
void pq_decode(const PqCodebook& cb, int64_t n, const uint8_t* codes, float* x);
// Mean over rows of the squared l2 distance between x and its reconstruction.
double pq_reconstruction_error(const PqCodebook& cb, int64_t n, const float* x,
                               int num_threads = 0);

}  // namespace ivftrain
