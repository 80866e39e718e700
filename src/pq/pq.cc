#include "ivftrain/pq.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kmeans/lloyd.h"
#include "linalg/assign.h"
#include "linalg/distances.h"
#include "pq/subspaces.h"
#include "util/cancel.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

// Rows per block of encoding work: fixed, so the result does not depend on the thread count.
constexpr int64_t kEncodeBlockRows = 4096;

// Copies columns [col, col + dsub) of rows [begin, end) of x (`width` floats a row) into a
// contiguous buffer.
void copy_sub_vectors(int64_t width, const float* x, int64_t begin, int64_t end, int64_t col,
                      int64_t dsub, float* out) {
  for (int64_t i = begin; i < end; ++i) {
    std::memcpy(out + (i - begin) * dsub, x + i * width + col, sizeof(float) * dsub);
  }
}

// Scratch of one thread encoding blocks of rows.
struct EncodeScratch {
  std::vector<uint8_t> codes;
  std::vector<float> sub;
  std::vector<int32_t> labels;
};

// Runs body(scratch, begin, end) over fixed row blocks in parallel and returns the sum of what
// it returns, in block order; each block's code is computed by single-threaded assignments, so
// any thread gives the same bytes.
template <typename Body>
double for_each_encode_block(const PqCodebook& cb, int64_t n, int num_threads, Body&& body) {
  return parallel_blocks(
      n, kEncodeBlockRows, num_threads, Work{},
      [&cb] {
        return EncodeScratch{
            std::vector<uint8_t>(static_cast<size_t>(kEncodeBlockRows * cb.num_sub_vectors)),
            std::vector<float>(static_cast<size_t>(kEncodeBlockRows * cb.dsub())),
            std::vector<int32_t>(static_cast<size_t>(kEncodeBlockRows))};
      },
      [&body](EncodeScratch& s, int64_t, int64_t begin, int64_t end) {
        return body(s, begin, end);
      });
}

// Codes of rows [begin, end) of x into codes (row-major, M bytes per row).
void encode_block(const PqCodebook& cb, const float* x, int64_t begin, int64_t end, uint8_t* codes,
                  float* sub, int32_t* labels) {
  const int64_t M = cb.num_sub_vectors, ksub = cb.ksub(), dsub = cb.dsub(), rows = end - begin;
  for (int64_t m = 0; m < M; ++m) {
    copy_sub_vectors(cb.dim, x, begin, end, m * dsub, dsub, sub);
    assign_nearest(rows, dsub, sub, nullptr, ksub, cb.centroids.data() + m * ksub * dsub,
                   Metric::kL2, AssignOutput{labels, nullptr}, 1);
    for (int64_t i = 0; i < rows; ++i) codes[i * M + m] = static_cast<uint8_t>(labels[i]);
  }
}

}  // namespace

Status validate(const PqParams& p, int64_t dim) {
  if (p.num_sub_vectors < 1) {
    return Status::InvalidArgument(
        fmt::format("num_sub_vectors must be at least 1 (got {})", p.num_sub_vectors));
  }
  if (dim > 0 && dim % p.num_sub_vectors != 0) {
    return Status::InvalidArgument(
        fmt::format("num_sub_vectors {} does not divide the dimension {}", p.num_sub_vectors, dim));
  }
  if (p.num_bits != 4 && p.num_bits != 8) {
    return Status::InvalidArgument(
        fmt::format("num_bits {} is not supported for PQ (use 4 or 8)", p.num_bits));
  }
  if (p.sample_rate < 1) {
    return Status::InvalidArgument(
        fmt::format("sample_rate must be at least 1 (got {})", p.sample_rate));
  }
  if (p.kmeans.algorithm != KMeansAlgorithm::kFlat || p.kmeans.balance != 0 ||
      p.kmeans.metric != Metric::kL2) {
    return Status::InvalidArgument(
        "PQ sub-spaces train flat l2 k-means: kmeans.algorithm must be flat, kmeans.balance 0 "
        "and kmeans.metric l2");
  }
  return validate(p.kmeans);
}

Status check_pq_training(int64_t n, int64_t d, const PqParams& params) {
  if (d < 1) {
    return Status::InvalidArgument(fmt::format("dimension must be at least 1 (got {})", d));
  }
  IVF_RETURN_IF_ERROR(validate(params, d));
  const int64_t min_rows = int64_t{1} << params.num_bits;
  if (n < min_rows) {
    return Status::InvalidArgument(
        fmt::format("PQ with num_bits {} needs at least {} training rows, got {}", params.num_bits,
                    min_rows, n));
  }
  return Status::OK();
}

void warn_if_few_pq_rows(int64_t n, int num_bits) {
  const int64_t ksub = int64_t{1} << num_bits;
  if (n >= kMinRowsPerCentroid * ksub) return;
  logger().warn(
      "pq: training {} rows into {} centroids per sub-space; at least {} rows ({} per centroid) "
      "are recommended",
      n, ksub, kMinRowsPerCentroid * ksub, kMinRowsPerCentroid);
}

PqCodebook pq_codebook_shell(int64_t d, const PqParams& params) {
  PqCodebook cb;
  cb.dim = d;
  cb.num_sub_vectors = params.num_sub_vectors;
  cb.num_bits = params.num_bits;
  cb.centroids.resize(static_cast<size_t>(cb.num_sub_vectors * cb.ksub() * cb.dsub()));
  cb.iterations.resize(static_cast<size_t>(cb.num_sub_vectors));
  return cb;
}

Status pq_train_subspaces(int64_t n, const float* x, int64_t first, int64_t count,
                          const PqParams& params, PqCodebook* cb) {
  IVF_RETURN_IF_ERROR(check_pq_training(n, cb->dim, params));
  IVF_DCHECK(first >= 0 && count >= 0 && first + count <= cb->num_sub_vectors,
             "the sub-spaces are those of the codebook");
  const int64_t ksub = cb->ksub(), dsub = cb->dsub(), width = count * dsub;
  std::vector<Status> errors(static_cast<size_t>(count));
  // One single-threaded k-means per sub-space, sub-spaces in parallel: independent jobs keep
  // the cores busier than threads inside small k-means would, and each job is the same
  // whatever thread (or process) runs it.
  parallel_blocks(
      count, 1, params.kmeans.num_threads, Work{},
      [&] { return std::vector<float>(static_cast<size_t>(n * dsub)); },
      [&](std::vector<float>& sub, int64_t j, int64_t, int64_t) {
        if (cancel_requested()) {
          errors[j] = cancelled_status();
          return;
        }
        const int64_t m = first + j;
        copy_sub_vectors(width, x, 0, n, j * dsub, dsub, sub.data());
        KMeansParams kp = params.kmeans;
        kp.seed = derive_seed(params.kmeans.seed, kSeedPqKMeans, static_cast<uint64_t>(m));
        kp.num_threads = 1;
        KMeansLog log_as;
        log_as.label = fmt::format("pq[{}]", m);
        log_as.warn_few_rows = false;  // pq_train warns once for all sub-spaces
        Result<KMeansResult> r = kmeans_train_logged(n, dsub, sub.data(), ksub, kp, log_as);
        if (!r.ok()) {
          errors[j] = r.status();
          return;
        }
        std::copy(r->centroids.begin(), r->centroids.end(),
                  cb->centroids.begin() + m * ksub * dsub);
        cb->iterations[m] = std::move(r->iterations);
      });
  for (const Status& s : errors) IVF_RETURN_IF_ERROR(s);
  return Status::OK();
}

Result<PqCodebook> pq_train(int64_t n, int64_t d, const float* x, const PqParams& params) {
  IVF_RETURN_IF_ERROR(check_pq_training(n, d, params));
  PqCodebook cb = pq_codebook_shell(d, params);
  warn_if_few_pq_rows(n, params.num_bits);
  // x's rows are the columns of every sub-space.
  IVF_RETURN_IF_ERROR(pq_train_subspaces(n, x, 0, cb.num_sub_vectors, params, &cb));
  return cb;
}

void pq_encode(const PqCodebook& cb, int64_t n, const float* x, uint8_t* codes, int num_threads) {
  if (n <= 0 || cb.num_sub_vectors <= 0) return;
  const int64_t M = cb.num_sub_vectors;
  for_each_encode_block(cb, n, num_threads, [&](EncodeScratch& s, int64_t begin, int64_t end) {
    encode_block(cb, x, begin, end, codes + begin * M, s.sub.data(), s.labels.data());
  });
}

void pq_decode(const PqCodebook& cb, int64_t n, const uint8_t* codes, float* x) {
  const int64_t M = cb.num_sub_vectors, ksub = cb.ksub(), dsub = cb.dsub();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t m = 0; m < M; ++m) {
      const float* c = cb.centroids.data() + (m * ksub + codes[i * M + m]) * dsub;
      std::memcpy(x + i * cb.dim + m * dsub, c, sizeof(float) * dsub);
    }
  }
}

void pq_row_errors(const PqCodebook& cb, int64_t n, const float* x, float* errors,
                   int num_threads) {
  if (n <= 0 || cb.num_sub_vectors <= 0) return;
  const int64_t M = cb.num_sub_vectors, d = cb.dim;
  for_each_encode_block(cb, n, num_threads, [&](EncodeScratch& s, int64_t begin, int64_t end) {
    encode_block(cb, x, begin, end, s.codes.data(), s.sub.data(), s.labels.data());
    std::vector<float> decoded(static_cast<size_t>(d));
    for (int64_t i = begin; i < end; ++i) {
      pq_decode(cb, 1, s.codes.data() + (i - begin) * M, decoded.data());
      errors[i] = l2_sqr(x + i * d, decoded.data(), d);
    }
  });
}

double pq_mean_row_error(const float* errors, int64_t n) {
  if (n <= 0) return 0;
  // Summed per encode block, then over blocks in block order: the order
  // pq_reconstruction_error has always used, so that its value does not change.
  double total = 0;
  for (int64_t begin = 0; begin < n; begin += kEncodeBlockRows) {
    double sum = 0;
    for (int64_t i = begin; i < std::min(n, begin + kEncodeBlockRows); ++i) sum += errors[i];
    total += sum;
  }
  return total / static_cast<double>(n);
}

double pq_reconstruction_error(const PqCodebook& cb, int64_t n, const float* x, int num_threads) {
  if (n <= 0 || cb.num_sub_vectors <= 0) return 0;
  std::vector<float> errors(static_cast<size_t>(n));
  pq_row_errors(cb, n, x, errors.data(), num_threads);
  return pq_mean_row_error(errors.data(), n);
}

}  // namespace ivftrain
