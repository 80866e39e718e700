// PQ in pieces, for training spread over processes (mpi/): each process trains a share of the
// sub-spaces from the columns of those sub-spaces alone, and measures the reconstruction error
// of the rows it holds; put together, the pieces are the bits of pq_train and
// pq_reconstruction_error.
#pragma once

#include <cstdint>

#include "ivftrain/pq.h"

namespace ivftrain {

// The checks pq_train makes before training: the dimension, the parameters against it, and at
// least 2^num_bits rows.
Status check_pq_training(int64_t n, int64_t d, const PqParams& params);

// Warns when n rows are few for 2^num_bits centroids a sub-space (once for all sub-spaces).
void warn_if_few_pq_rows(int64_t n, int num_bits);

// A codebook of dimension d for `params` with every centroid zero and no iterations, for
// pq_train_subspaces to fill.
PqCodebook pq_codebook_shell(int64_t d, const PqParams& params);

// Trains sub-spaces [first, first + count) of `cb` exactly as pq_train trains them (the same
// derived seeds, hence the same bits): x holds n rows of those sub-spaces' columns only,
// count x dsub floats a row. Sub-spaces train in parallel over params.kmeans.num_threads.
// Fills the centroids and iterations of those sub-spaces.
Status pq_train_subspaces(int64_t n, const float* x, int64_t first, int64_t count,
                          const PqParams& params, PqCodebook* cb);

// Each row's squared l2 distance to its reconstruction; a row's value depends on the row and
// the codebook alone, whichever rows are measured with it.
void pq_row_errors(const PqCodebook& cb, int64_t n, const float* x, float* errors, int num_threads);
// The mean of n row errors given in the canonical row order, added in pq_reconstruction_error's
// order.
double pq_mean_row_error(const float* errors, int64_t n);

}  // namespace ivftrain
