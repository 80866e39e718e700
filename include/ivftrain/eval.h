// What a trained model is worth as an index: `ivftrain eval`.
//
// evaluate() builds, in memory, the index the model describes over a base dataset and searches
// queries with it:
//   ivf_flat  the vectors themselves (float32) in their nearest partition;
//   ivf_pq    PQ codes of the residual against the nearest centroid (l2, cosine) or of the vector
//             (dot), searched with asymmetric distance tables as FAISS's IndexIVFPQ computes
//             them: per probed partition, the table of squared distances between the query's
//             residual sub-vectors and every codeword (dot: the inner products with the query,
//             once per query), summed over the code;
//   ivf_sq    SQ codes with the model's bounds, as Lance quantises (code = round((x - lo) /
//             (hi - lo) (2^bits - 1)), clipped to the bounds), searched against the decoded
//             values.
// 4-bit codes (PQ and SQ) are stored two a byte, as FAISS stores them.
// Cosine models are l2 on unit vectors: base and queries are normalised first. The base is read
// once, in blocks, and kept only as the index stores it (codes), never as float32 beside it;
// exact ground truth (when the queries carry none) is computed in the same pass, by blocked GEMM
// over each block of the base.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ivftrain/dataset.h"
#include "ivftrain/models.h"
#include "ivftrain/status.h"

namespace ivftrain {

struct EvalQueries {
  int64_t count = 0;
  std::vector<float> x;  // count x dim
  // Ground truth from a file (ann-benchmarks' `neighbors`): count x neighbors_k row ids of the
  // base, nearest first; empty: computed exactly.
  std::vector<int64_t> neighbors;
  int64_t neighbors_k = 0;
};

struct EvalOptions {
  std::vector<int64_t> ks = {10};  // recall@k for each
  // Partitions probed; empty: 1, 2, 4, ... up to min(128, num_partitions).
  std::vector<int64_t> nprobes;
  // Base fragments (empty: all).
  std::vector<int64_t> fragment_ids;
  // Global row ids (over all fragments, in order) left out of the base: held-out queries.
  std::vector<int64_t> excluded_rows;
  int num_threads = 0;
  // IVF_PQ under l2 and cosine precomputes, as FAISS does, a table of num_partitions x M x 2^bits
  // floats when it fits within this many bytes; beyond, each probe computes its table from the
  // query's residual (slower, the same distances up to rounding).
  int64_t precomputed_table_max_bytes = int64_t{1} << 30;
};

struct EvalProbe {
  int64_t nprobe = 0;
  std::vector<double> recall;     // one per k of EvalReport::ks
  double vectors_scanned = 0;     // per query, on average
  double queries_per_second = 0;  // wall clock, all threads
};

struct EvalReport {
  int64_t dim = 0, num_partitions = 0;
  int64_t base_rows = 0;            // vectors in the index
  int64_t base_rows_nonfinite = 0;  // rows left out: NaN or Inf
  int64_t num_queries = 0;
  bool ground_truth_from_file = false;
  std::vector<int64_t> ks;
  std::vector<EvalProbe> probes;
  // Partition sizes.
  int64_t largest_partition = 0, empty_partitions = 0;
  double mean_partition = 0, partition_cv = 0;
  // Partitions by size relative to the mean: edges of size / mean (the last bin is open).
  std::vector<double> histogram_edges;
  std::vector<int64_t> histogram;
  // Quantisation on the base: mean over rows of the squared l2 reconstruction error (PQ: of the
  // encoded vector, residual or not; SQ: of the vector); the fraction of values SQ clipped.
  double quantization_mse = 0;
  double sq_clipped_fraction = 0;
  double encode_seconds = 0, ground_truth_seconds = 0;
};

// Every row of a vector file (any format the readers take; "file.hdf5:test" names an HDF5
// dataset) as queries; with `neighbors_path` (e.g. "file.hdf5:neighbors"), its rows as their
// ground truth (row ids below 2^24, as ann-benchmarks' int32 ids are read through float32).
Result<EvalQueries> read_queries(const std::string& path, const std::string& neighbors_path = "");

// `count` rows of the base drawn by `seed` (uniformly, without replacement, over the given
// fragments or all) as queries; their global row ids go to `rows` (EvalOptions::excluded_rows).
Result<EvalQueries> held_out_queries(const Dataset& base, int64_t count, uint64_t seed,
                                     const std::vector<int64_t>& fragment_ids,
                                     std::vector<int64_t>* rows);

// Builds the index over `base` (its dimension must be the model's) and searches `queries`.
// Errors name the parameter or input at fault: a k larger than the base, an nprobe outside
// [1, num_partitions], queries of another dimension, neighbors beyond the base.
Result<EvalReport> evaluate(const TrainedModels& model, const Dataset& base,
                            const EvalQueries& queries, const EvalOptions& options);

// The report as JSON (the schema is in README.md) and as a table for a person.
std::string eval_report_json(const EvalReport& report, const TrainedModels& model);
std::string eval_report_table(const EvalReport& report, const TrainedModels& model);

}  // namespace ivftrain
