#include "train/train_on_sample.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "kmeans/lloyd.h"
#include "linalg/distances.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/sampling.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

// The rows (sorted) a trainer that wants `wanted` rows uses out of `rows`; empty means all.
std::vector<int64_t> subset_rows(int64_t rows, int64_t wanted, uint64_t seed, uint64_t purpose) {
  if (wanted >= rows) return {};
  Rng rng(derive_seed(seed, purpose, 0));
  return choose_sorted(rng, rows, wanted);
}

std::vector<float> gather(const std::vector<float>& x, int64_t dim,
                          const std::vector<int64_t>& rows) {
  std::vector<float> out(rows.size() * static_cast<size_t>(dim));
  gather_rows(dim, x.data(), rows.data(), static_cast<int64_t>(rows.size()), out.data());
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

// The rows IVF and PQ train on. Both subsets are chosen up front, so that the PQ rows are set
// aside before the IVF subset is compacted in place: the sample is never held twice unless PQ
// trains on all of it while IVF trains on a subset.
struct TrainingRows {
  std::vector<float> sample;        // the sample, or (compacted) the IVF subset
  std::vector<float> ivf_copy;      // the IVF subset, when the sample must stay whole for PQ
  std::vector<float> pq_x;          // the PQ subset (empty when PQ takes the whole sample)
  std::vector<int64_t> ivf_subset;  // the sample rows the IVF trains on (empty: all)
  std::vector<int64_t> pq_subset;   // the sample rows PQ trains on (empty: all)
  bool pq_takes_sample = false;     // PQ trains on the whole sample once IVF is done

  const std::vector<float>& ivf_x() const { return ivf_copy.empty() ? sample : ivf_copy; }
};

TrainingRows choose_training_rows(std::vector<float> sample, int64_t rows, int64_t dim,
                                  const TrainParams& p) {
  TrainingRows t;
  t.sample = std::move(sample);
  const bool pq = p.index_type == IndexType::kIvfPq;
  t.ivf_subset = subset_rows(rows, ivf_sample_rows(p), p.seed, kSeedIvfSubset);
  if (pq) t.pq_subset = subset_rows(rows, quantizer_sample_rows(p), p.seed, kSeedPqSubset);
  const std::vector<int64_t>& ivf_subset = t.ivf_subset;
  const std::vector<int64_t>& pq_subset = t.pq_subset;
  t.pq_takes_sample = pq && pq_subset.empty();
  if (pq && !t.pq_takes_sample) t.pq_x = gather(t.sample, dim, pq_subset);
  if (!ivf_subset.empty()) {
    if (t.pq_takes_sample) {
      t.ivf_copy = gather(t.sample, dim, ivf_subset);
    } else {
      compact(t.sample, dim, ivf_subset);
    }
  }
  return t;
}

// IVF k-means on x (rows x dim); fills the centroids and the IVF statistics, and `nearest`
// as kmeans_train_logged does.
Status train_ivf(const std::vector<float>& x, TrainedModels& models,
                 std::vector<int32_t>* nearest) {
  const TrainParams& p = models.params;
  const int64_t dim = models.dim, k = p.ivf.num_partitions;
  const int64_t rows = static_cast<int64_t>(x.size()) / dim;
  if (const int64_t distinct = count_distinct_rows(x.data(), rows, dim, k); distinct < k) {
    return Status::FailedPrecondition(fmt::format(
        "the sample holds only {} distinct vectors, fewer than num_partitions {}; lower it",
        distinct, k));
  }
  const KMeansParams kp = ivf_kmeans_params(p);
  KMeansLog log_as;
  log_as.label = "ivf";
  log_as.verbose = true;
  logger().info("training IVF: {} partitions on {} rows x {} dims", k, rows, dim);
  IVF_ASSIGN_OR_RETURN(KMeansResult ivf,
                       kmeans_train_logged(rows, dim, x.data(), k, kp, log_as, nearest));
  models.ivf_centroids = std::move(ivf.centroids);
  models.stats.ivf_train_rows = rows;
  models.stats.ivf_iterations = std::move(ivf.iterations);
  models.stats.ivf_objective = ivf.objective;
  return Status::OK();
}

// The PQ codebook, on x's residuals against the IVF centroids (l2, cosine) or on x itself (dot),
// as Lance and FAISS train IVF_PQ. x is consumed; `nearest` as pq_residuals_in_place.
Status train_pq(std::vector<float> x, TrainedModels& models, std::vector<int32_t> nearest = {}) {
  const TrainParams& p = models.params;
  const int64_t dim = models.dim;
  const int64_t rows = static_cast<int64_t>(x.size()) / dim;
  pq_residuals_in_place(x, models, std::move(nearest));
  logger().info("training PQ: {} sub-vectors x {} centroids on {} rows", p.pq.num_sub_vectors,
                int64_t{1} << p.pq.num_bits, rows);
  IVF_ASSIGN_OR_RETURN(PqCodebook cb, pq_train(rows, dim, x.data(), pq_train_params(p)));
  models.stats.quantizer_train_rows = rows;
  models.stats.pq_reconstruction_mse = pq_reconstruction_error(cb, rows, x.data(), p.num_threads);
  models.pq = std::move(cb);
  return Status::OK();
}

// Distances are computed in float32 (||x||^2 + ||c||^2 - 2 x.c, each term at most the largest
// squared norm, a centroid being a mean of rows): a sample whose rows have squared norms beyond
// FLT_MAX / 8 can overflow them to inf, and k-means would then write an infinite objective (and
// a model `inspect` refuses). FAISS checks only for NaN and Inf and overflows silently on such
// data; it is refused here, with a sentence, before any training. Real embeddings are many
// orders of magnitude below the limit (norms up to about 6.5e18).
Status check_magnitudes(const std::vector<float>& x, int64_t rows, int64_t dim) {
  double largest = 0;
  float largest_value = 0;
  int64_t at = -1;
  for (int64_t i = 0; i < rows; ++i) {
    const float* r = x.data() + i * dim;
    double n2 = 0;
    for (int64_t j = 0; j < dim; ++j) n2 += static_cast<double>(r[j]) * r[j];
    if (n2 > largest) {
      largest = n2, at = i;
      largest_value =
          *std::max_element(r, r + dim, [](float a, float b) { return std::abs(a) < std::abs(b); });
    }
  }
  return check_largest_norm(largest, at, largest_value);
}

// A model is written only when every number in it is finite: model.json cannot hold inf or NaN
// (it would say null, and `inspect` refuses such a model). Reaching this is a bug or data the
// magnitude check above did not foresee, never a model to keep.
Status check_finite(const TrainedModels& m) {
  const auto all_finite = [](const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float f) { return std::isfinite(f); });
  };
  const char* bad = nullptr;
  if (!std::isfinite(m.stats.ivf_objective)) bad = "the IVF objective";
  for (const KMeansIteration& it : m.stats.ivf_iterations) {
    if (!std::isfinite(it.objective)) bad = "an IVF iteration's objective";
  }
  if (!all_finite(m.ivf_centroids)) bad = "the IVF centroids";
  if (m.pq) {
    if (!all_finite(m.pq->centroids)) bad = "the PQ codebook";
    for (const auto& sub : m.pq->iterations) {
      for (const KMeansIteration& it : sub) {
        if (!std::isfinite(it.objective)) bad = "a PQ sub-space's objective";
      }
    }
    if (!std::isfinite(m.stats.pq_reconstruction_mse)) bad = "the PQ reconstruction error";
  }
  if (m.sq && (!all_finite(m.sq->lower) || !all_finite(m.sq->upper))) bad = "the SQ bounds";
  if (bad == nullptr) return Status::OK();
  return Status::FailedPrecondition(fmt::format(
      "training produced a non-finite value in {} (an overflow in float32); no model is written: "
      "scale the data down",
      bad));
}

}  // namespace

std::vector<int64_t> training_subset(int64_t rows, int64_t wanted, uint64_t seed,
                                     uint64_t purpose) {
  return subset_rows(rows, wanted, seed, purpose);
}

PqParams pq_train_params(const TrainParams& p) {
  PqParams params = p.pq;
  params.kmeans.seed = derive_seed(p.seed, kSeedPqKMeans, 0);
  params.kmeans.num_threads = p.num_threads;
  return params;
}

void pq_residuals_in_place(std::vector<float>& x, const TrainedModels& models,
                           std::vector<int32_t> labels) {
  const TrainParams& p = models.params;
  if (p.distance_type == DistanceType::kDot) return;
  const int64_t dim = models.dim, k = p.ivf.num_partitions;
  const int64_t rows = static_cast<int64_t>(x.size()) / dim;
  if (labels.empty()) {
    labels.resize(static_cast<size_t>(rows));
    kmeans_assign(rows, dim, x.data(), k, models.ivf_centroids.data(), Metric::kL2, labels.data(),
                  nullptr, p.num_threads);
  }
  IVF_DCHECK(static_cast<int64_t>(labels.size()) == rows, "one label per row");
  for (int64_t i = 0; i < rows; ++i) {
    const float* c = models.ivf_centroids.data() + static_cast<int64_t>(labels[i]) * dim;
    float* r = x.data() + i * dim;
    for (int64_t j = 0; j < dim; ++j) r[j] -= c[j];
  }
}

KMeansParams ivf_kmeans_params(const TrainParams& p) {
  KMeansParams kp = p.ivf.kmeans;
  kp.metric = p.distance_type == DistanceType::kDot ? Metric::kInnerProduct : Metric::kL2;
  kp.seed = derive_seed(p.seed, kSeedIvfKMeans, 0);
  kp.num_threads = p.num_threads;
  return kp;
}

// Cheap in the usual case, where the first rows already differ.
std::vector<uint64_t> distinct_row_hashes(const float* x, int64_t rows, int64_t dim,
                                          int64_t enough) {
  std::unordered_set<uint64_t> seen;
  for (int64_t i = 0; i < rows && static_cast<int64_t>(seen.size()) < enough; ++i) {
    seen.insert(XXH3_64bits(x + i * dim, static_cast<size_t>(dim) * sizeof(float)));
  }
  std::vector<uint64_t> hashes(seen.begin(), seen.end());
  std::sort(hashes.begin(), hashes.end());
  return hashes;
}

int64_t count_distinct_rows(const float* x, int64_t rows, int64_t dim, int64_t enough) {
  return static_cast<int64_t>(distinct_row_hashes(x, rows, dim, enough).size());
}

Status check_largest_norm(double squared_norm, int64_t row, float largest_value) {
  constexpr double kMaxSquaredNorm = std::numeric_limits<float>::max() / 8.0;
  if (squared_norm <= kMaxSquaredNorm) return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "the sample holds values too large to train on in float32: row {} of the sample has norm "
      "{:.3g} (a value of {:.3g}), and squared distances overflow beyond norms of {:.3g}; scale "
      "the data down",
      row, std::sqrt(squared_norm), largest_value, std::sqrt(kMaxSquaredNorm)));
}

Status train_pq_on_rows(std::vector<float> x, TrainedModels& models) {
  return train_pq(std::move(x), models);
}

Status check_models_finite(const TrainedModels& models) { return check_finite(models); }

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
        "num_partitions {} is larger than the {} usable sample rows; lower it or add data", k,
        rows));
  }
  const double sample_gib = static_cast<double>(sample.size()) * sizeof(float) / (1u << 30);
  if (sample_gib > 4.0) {
    logger().warn(
        "the training sample holds {:.1f} GiB ({} rows x {} dims); lower "
        "sample_rate to use less memory",
        sample_gib, rows, dim);
  }

  IVF_RETURN_IF_ERROR(check_magnitudes(sample, rows, dim));

  TrainingRows t = choose_training_rows(std::move(sample), rows, dim, p);
  const auto t_ivf = Clock::now();
  // When the IVF trains on the whole sample, its last assignment gives the PQ rows' nearest
  // centroids (exactly those kmeans_assign would give): their residuals need no assignment.
  std::vector<int32_t> nearest;
  const bool reuse = p.index_type == IndexType::kIvfPq && t.ivf_subset.empty();
  IVF_RETURN_IF_ERROR(train_ivf(t.ivf_x(), models, reuse ? &nearest : nullptr));
  models.timings.ivf_seconds = seconds_since(t_ivf);
  t.ivf_copy = {};

  const auto t_quantizer = Clock::now();
  if (p.index_type == IndexType::kIvfPq) {
    // The IVF sample is released before PQ starts; PQ keeps only its own rows.
    std::vector<float> pq_x = t.pq_takes_sample ? std::move(t.sample) : std::move(t.pq_x);
    std::vector<int32_t> pq_nearest;
    if (!nearest.empty()) {
      if (t.pq_takes_sample) {
        pq_nearest = std::move(nearest);
      } else {
        pq_nearest.reserve(t.pq_subset.size());
        for (const int64_t i : t.pq_subset) pq_nearest.push_back(nearest[i]);
      }
    }
    nearest = {};
    t = {};
    IVF_RETURN_IF_ERROR(train_pq(std::move(pq_x), models, std::move(pq_nearest)));
  } else if (p.index_type == IndexType::kIvfSq) {
    models.stats.quantizer_train_rows = rows;
    models.sq = std::move(sq_bounds);
  }
  models.timings.quantizer_seconds = seconds_since(t_quantizer);
  return check_finite(models);
}

}  // namespace ivftrain
