#include "ivftrain/pq.h"

#include <spdlog/spdlog.h>

#include "util/log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "linalg/assign.h"
#include "linalg/distances.h"
#include "util/rng.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

// Rows per block of encoding work: fixed, so the result does not depend on the thread count.
constexpr int64_t kEncodeBlockRows = 4096;

Status validate(int64_t n, int64_t d, const PqParams& p) {
  if (p.num_sub_vectors < 1) {
    return Status::InvalidArgument(
        fmt::format("num_sub_vectors must be at least 1 (got {})", p.num_sub_vectors));
  }
  if (d < 1 || d % p.num_sub_vectors != 0) {
    return Status::InvalidArgument(
        fmt::format("num_sub_vectors {} does not divide dimension {}", p.num_sub_vectors, d));
  }
  if (p.num_bits != 4 && p.num_bits != 8) {
    return Status::InvalidArgument(
        fmt::format("num_bits {} is not supported for PQ (use 4 or 8)", p.num_bits));
  }
  const int64_t ksub = int64_t{1} << p.num_bits;
  if (n < ksub) {
    return Status::InvalidArgument(fmt::format(
        "PQ with num_bits {} needs at least {} training rows, got {}", p.num_bits, ksub, n));
  }
  if (p.max_iters < 1) {
    return Status::InvalidArgument(
        fmt::format("PQ max_iters must be at least 1 (got {})", p.max_iters));
  }
  return Status::OK();
}

// Copies columns [m * dsub, (m + 1) * dsub) of rows [begin, end) into a contiguous buffer.
void copy_sub_vectors(int64_t d, const float* x, int64_t begin, int64_t end, int64_t m,
                      int64_t dsub, float* out) {
  for (int64_t i = begin; i < end; ++i) {
    std::memcpy(out + (i - begin) * dsub, x + i * d + m * dsub, sizeof(float) * dsub);
  }
}

// Runs body(begin, end, labels, sub) over fixed row blocks in parallel; each block's code is
// computed by single-threaded assignments, so any thread gives the same bytes.
template <typename Body>
void for_each_encode_block(const PqCodebook& cb, int64_t n, int num_threads, Body&& body) {
  const int64_t blocks = (n + kEncodeBlockRows - 1) / kEncodeBlockRows;
  const int threads =
      static_cast<int>(std::clamp<int64_t>(blocks, 1, std::max(1, resolve_threads(num_threads))));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<uint8_t> codes(static_cast<size_t>(kEncodeBlockRows * cb.num_sub_vectors));
    std::vector<float> sub(static_cast<size_t>(kEncodeBlockRows * cb.dsub()));
    std::vector<int32_t> labels(static_cast<size_t>(kEncodeBlockRows));
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t begin = b * kEncodeBlockRows, end = std::min(n, begin + kEncodeBlockRows);
      body(b, begin, end, codes.data(), sub.data(), labels.data());
    }
  }
}

// Codes of rows [begin, end) of x into codes (row-major, M bytes per row).
void encode_block(const PqCodebook& cb, const float* x, int64_t begin, int64_t end,
                  uint8_t* codes, float* sub, int32_t* labels) {
  const int64_t M = cb.num_sub_vectors, ksub = cb.ksub(), dsub = cb.dsub(), rows = end - begin;
  for (int64_t m = 0; m < M; ++m) {
    copy_sub_vectors(cb.dim, x, begin, end, m, dsub, sub);
    assign_nearest(rows, dsub, sub, nullptr, ksub, cb.centroids.data() + m * ksub * dsub,
                   /*inner_product=*/false, AssignOutput{labels, nullptr}, 1);
    for (int64_t i = 0; i < rows; ++i) codes[i * M + m] = static_cast<uint8_t>(labels[i]);
  }
}

}  // namespace

Result<PqCodebook> pq_train(int64_t n, int64_t d, const float* x, const PqParams& params,
                            uint64_t seed, int num_threads) {
  IVF_RETURN_IF_ERROR(validate(n, d, params));
  PqCodebook cb;
  cb.dim = d;
  cb.num_sub_vectors = params.num_sub_vectors;
  cb.num_bits = params.num_bits;
  const int64_t M = cb.num_sub_vectors, ksub = cb.ksub(), dsub = cb.dsub();
  cb.centroids.resize(static_cast<size_t>(M * ksub * dsub));
  cb.iterations.resize(static_cast<size_t>(M));
  std::vector<Status> errors(static_cast<size_t>(M));

  if (n < 39 * ksub) {
    logger().warn("pq: training {} rows into {} centroids per sub-space; at least {} rows (39 "
                  "per centroid) are recommended",
                  n, ksub, 39 * ksub);
  }
  // One single-threaded k-means per sub-space, sub-spaces in parallel: M independent jobs keep
  // the cores busier than threads inside small k-means would, and each job is the same
  // whatever thread runs it.
  const int threads =
      static_cast<int>(std::clamp<int64_t>(M, 1, std::max(1, resolve_threads(num_threads))));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<float> sub(static_cast<size_t>(n * dsub));
#pragma omp for schedule(dynamic)
    for (int64_t m = 0; m < M; ++m) {
      copy_sub_vectors(d, x, 0, n, m, dsub, sub.data());
      KMeansParams kp;
      kp.k = ksub;
      kp.max_iters = params.max_iters;
      kp.tolerance = params.tolerance;
      kp.init = KMeansInit::kRandom;
      kp.inner_product = false;
      kp.seed = derive_seed(seed, kSeedPqKMeans, static_cast<uint64_t>(m));
      kp.num_threads = 1;
      kp.label = fmt::format("pq[{}]", m);
      kp.warn_few_rows = false;  // warned once below
      Result<KMeansResult> r = kmeans_train(n, dsub, sub.data(), kp);
      if (!r.ok()) {
        errors[m] = r.status();
        continue;
      }
      std::copy(r->centroids.begin(), r->centroids.end(),
                cb.centroids.begin() + m * ksub * dsub);
      cb.iterations[m] = std::move(r->iterations);
    }
  }
  for (const Status& s : errors) IVF_RETURN_IF_ERROR(s);
  return cb;
}

void pq_encode(const PqCodebook& cb, int64_t n, const float* x, uint8_t* codes,
               int num_threads) {
  if (n <= 0 || cb.num_sub_vectors <= 0) return;
  const int64_t M = cb.num_sub_vectors;
  for_each_encode_block(cb, n, num_threads,
                        [&](int64_t, int64_t begin, int64_t end, uint8_t*, float* sub,
                            int32_t* labels) {
                          encode_block(cb, x, begin, end, codes + begin * M, sub, labels);
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

double pq_reconstruction_error(const PqCodebook& cb, int64_t n, const float* x,
                               int num_threads) {
  if (n <= 0 || cb.num_sub_vectors <= 0) return 0;
  const int64_t M = cb.num_sub_vectors, d = cb.dim;
  const int64_t blocks = (n + kEncodeBlockRows - 1) / kEncodeBlockRows;
  std::vector<double> sums(static_cast<size_t>(blocks), 0.0);
  for_each_encode_block(cb, n, num_threads,
                        [&](int64_t b, int64_t begin, int64_t end, uint8_t* codes, float* sub,
                            int32_t* labels) {
                          encode_block(cb, x, begin, end, codes, sub, labels);
                          std::vector<float> decoded(static_cast<size_t>(d));
                          double sum = 0;
                          for (int64_t i = begin; i < end; ++i) {
                            pq_decode(cb, 1, codes + (i - begin) * M, decoded.data());
                            sum += l2_sqr(x + i * d, decoded.data(), d);
                          }
                          sums[b] = sum;
                        });
  double total = 0;
  for (double s : sums) total += s;  // block order: independent of the thread count
  return total / static_cast<double>(n);
}

}  // namespace ivftrain
