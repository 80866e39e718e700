#include "train/train_on_sample.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <xxhash.h>

#include <chrono>
#include <unordered_set>

#include "util/log.h"
#include "util/rng.h"
#include "util/sampling.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The rows (sorted) a trainer that wants `wanted` rows uses out of `rows`; empty means all.
std::vector<int64_t> subset_rows(int64_t rows, int64_t wanted, uint64_t seed, uint64_t purpose) {
  if (wanted >= rows) return {};
  Rng rng(derive_seed(seed, purpose, 0));
  return choose_sorted(rng, rows, wanted);
}

std::vector<float> gather(const std::vector<float>& x, int64_t dim,
                          const std::vector<int64_t>& rows) {
  std::vector<float> out(rows.size() * static_cast<size_t>(dim));
  for (size_t i = 0; i < rows.size(); ++i) {
    std::copy_n(x.begin() + rows[i] * dim, dim, out.begin() + static_cast<int64_t>(i) * dim);
  }
  return out;
}

// Keeps only `rows` (sorted) of x, in place.
void compact(std::vector<float>& x, int64_t dim, const std::vector<int64_t>& rows) {
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] != static_cast<int64_t>(i)) {
      std::copy_n(x.begin() + rows[i] * dim, dim, x.begin() + static_cast<int64_t>(i) * dim);
    }
  }
  x.resize(rows.size() * static_cast<size_t>(dim));
  x.shrink_to_fit();
}

// Distinct rows among the first rows of x, counting no further than `enough`: cheap in the usual
// case, where the first rows already differ.
int64_t count_distinct_rows(const float* x, int64_t rows, int64_t dim, int64_t enough) {
  std::unordered_set<uint64_t> seen;
  for (int64_t i = 0; i < rows && static_cast<int64_t>(seen.size()) < enough; ++i) {
    seen.insert(XXH3_64bits(x + i * dim, static_cast<size_t>(dim) * sizeof(float)));
  }
  return static_cast<int64_t>(seen.size());
}

}  // namespace

Status train_on_sample(std::vector<float> sample, int64_t rows, SqBounds sq_bounds,
                       TrainedModels& models) {
  const TrainParams& p = models.params;
  const int64_t dim = models.dim;
  const int64_t k = p.ivf.num_partitions;
  if (rows == 0) {
    return Status::FailedPrecondition(fmt::format(
        "no usable sample rows: all {} rows read were dropped ({} holding NaN or Inf, {} zero "
        "vectors under cosine)",
        models.stats.rows_read, models.stats.rows_dropped_nonfinite,
        models.stats.rows_dropped_zero_norm));
  }
  if (k > rows) {
    return Status::InvalidArgument(fmt::format(
        "--num-partitions {} is larger than the {} usable sample rows; lower it or add data", k,
        rows));
  }
  const double sample_gib = static_cast<double>(sample.size()) * sizeof(float) / (1u << 30);
  if (sample_gib > 4.0) {
    logger().warn("the training sample holds {:.1f} GiB ({} rows x {} dims); lower "
                  "--sample-rate to use less memory",
                  sample_gib, rows, dim);
  }

  // Choose both subsets up front, so the PQ rows can be set aside before the IVF subset is
  // compacted in place.
  const bool pq = p.index_type == IndexType::kIvfPq;
  const std::vector<int64_t> ivf_subset =
      subset_rows(rows, ivf_sample_rows(p), p.seed, kSeedIvfSubset);
  std::vector<int64_t> pq_subset;
  if (pq) pq_subset = subset_rows(rows, quantizer_sample_rows(p), p.seed, kSeedPqSubset);
  const bool pq_uses_whole_sample = pq && pq_subset.empty();
  std::vector<float> pq_x;
  if (pq && !pq_uses_whole_sample) pq_x = gather(sample, dim, pq_subset);

  // IVF.
  auto t_ivf = Clock::now();
  std::vector<float> ivf_copy;
  const std::vector<float>* ivf_x = &sample;
  if (!ivf_subset.empty()) {
    if (pq_uses_whole_sample) {
      ivf_copy = gather(sample, dim, ivf_subset);
      ivf_x = &ivf_copy;
    } else {
      compact(sample, dim, ivf_subset);
    }
  }
  const int64_t ivf_rows = static_cast<int64_t>(ivf_x->size()) / dim;
  if (const int64_t distinct = count_distinct_rows(ivf_x->data(), ivf_rows, dim, k);
      distinct < k) {
    return Status::FailedPrecondition(fmt::format(
        "the sample holds only {} distinct vectors, fewer than --num-partitions {}; lower it",
        distinct, k));
  }
  KMeansParams kp;
  kp.k = k;
  kp.max_iters = p.ivf.max_iters;
  kp.tolerance = p.ivf.tolerance;
  kp.init = p.ivf.init;
  kp.algorithm = p.ivf.algorithm;
  kp.balance = p.ivf.balance;
  kp.inner_product = p.distance_type == DistanceType::kDot;
  kp.seed = derive_seed(p.seed, kSeedIvfKMeans, 0);
  kp.num_threads = p.num_threads;
  kp.label = "ivf";
  kp.verbose = true;
  logger().info("training IVF: {} partitions on {} rows x {} dims", k, ivf_rows, dim);
  IVF_ASSIGN_OR_RETURN(KMeansResult ivf, kmeans_train(ivf_rows, dim, ivf_x->data(), kp));
  models.ivf_centroids = std::move(ivf.centroids);
  models.stats.ivf_train_rows = ivf_rows;
  models.stats.ivf_iterations = std::move(ivf.iterations);
  models.stats.ivf_objective = ivf.objective;
  models.timings.ivf_seconds = seconds_since(t_ivf);
  ivf_copy = {};

  auto t_quantizer = Clock::now();
  if (pq) {
    // The IVF sample is released before PQ starts; PQ keeps only its own rows.
    if (pq_uses_whole_sample) {
      pq_x = std::move(sample);
    } else {
      sample = {};
    }
    const int64_t pq_rows = static_cast<int64_t>(pq_x.size()) / dim;
    if (p.distance_type != DistanceType::kDot) {
      // Residuals against the nearest IVF centroid, as Lance and FAISS train IVF_PQ.
      std::vector<int32_t> labels(static_cast<size_t>(pq_rows));
      kmeans_assign(pq_rows, dim, pq_x.data(), k, models.ivf_centroids.data(), false,
                    labels.data(), nullptr, p.num_threads);
      for (int64_t i = 0; i < pq_rows; ++i) {
        const float* c = models.ivf_centroids.data() + static_cast<int64_t>(labels[i]) * dim;
        float* r = pq_x.data() + i * dim;
        for (int64_t j = 0; j < dim; ++j) r[j] -= c[j];
      }
    }
    logger().info("training PQ: {} sub-vectors x {} centroids on {} rows", p.pq.num_sub_vectors,
                  int64_t{1} << p.pq.num_bits, pq_rows);
    IVF_ASSIGN_OR_RETURN(PqCodebook cb, pq_train(pq_rows, dim, pq_x.data(), p.pq,
                                                 derive_seed(p.seed, kSeedPqKMeans, 0),
                                                 p.num_threads));
    models.stats.quantizer_train_rows = pq_rows;
    models.stats.pq_reconstruction_mse =
        pq_reconstruction_error(cb, pq_rows, pq_x.data(), p.num_threads);
    models.pq = std::move(cb);
  } else if (p.index_type == IndexType::kIvfSq) {
    models.stats.quantizer_train_rows = rows;
    models.sq = std::move(sq_bounds);
  }
  models.timings.quantizer_seconds = seconds_since(t_quantizer);
  return Status::OK();
}

}  // namespace ivftrain
