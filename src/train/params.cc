#include "ivftrain/params.h"

#include <fmt/format.h>

#include <algorithm>

namespace ivftrain {

Status validate(const TrainParams& p, int64_t dim) {
  if (p.ivf.num_partitions < 1) {
    return Status::InvalidArgument(
        fmt::format("--num-partitions must be at least 1 (got {})", p.ivf.num_partitions));
  }
  if (p.ivf.max_iters < 1) {
    return Status::InvalidArgument(
        fmt::format("--max-iters must be at least 1 (got {})", p.ivf.max_iters));
  }
  if (p.ivf.sample_rate < 1) {
    return Status::InvalidArgument(
        fmt::format("--sample-rate must be at least 1 (got {})", p.ivf.sample_rate));
  }
  if (!(p.ivf.tolerance >= 0.0)) {
    return Status::InvalidArgument(
        fmt::format("--tolerance must be 0 or positive (got {})", p.ivf.tolerance));
  }
  if (!(p.ivf.balance == 0.0 || p.ivf.balance > 1.0)) {
    return Status::InvalidArgument(
        fmt::format("--balance must be 0 (off) or greater than 1 (got {})", p.ivf.balance));
  }
  if (p.ivf.balance > 0 && p.distance_type == DistanceType::kDot) {
    return Status::InvalidArgument(
        "--balance needs --distance-type l2 or cosine: under dot, the largest inner product "
        "goes to the longest centroids, whatever their place, so partitions cannot be evened "
        "out");
  }
  if (p.num_threads < 0) {
    return Status::InvalidArgument(
        fmt::format("--threads must be 0 (all cores) or positive (got {})", p.num_threads));
  }
  if (p.index_type == IndexType::kIvfPq) {
    if (p.pq.num_sub_vectors < 1) {
      return Status::InvalidArgument(
          fmt::format("--num-sub-vectors must be at least 1 (got {})", p.pq.num_sub_vectors));
    }
    if (p.pq.num_bits != 4 && p.pq.num_bits != 8) {
      return Status::InvalidArgument(
          fmt::format("--num-bits {} is not supported for ivf_pq (use 4 or 8)", p.pq.num_bits));
    }
    if (p.pq.max_iters < 1 || p.pq.sample_rate < 1 || !(p.pq.tolerance >= 0.0)) {
      return Status::InvalidArgument("PQ max_iters and sample_rate must be at least 1");
    }
    if (dim > 0 && dim % p.pq.num_sub_vectors != 0) {
      return Status::InvalidArgument(fmt::format(
          "--num-sub-vectors {} does not divide the dimension {}", p.pq.num_sub_vectors, dim));
    }
  }
  if (p.index_type == IndexType::kIvfSq) {
    if (p.sq.num_bits != 4 && p.sq.num_bits != 8) {
      return Status::InvalidArgument(
          fmt::format("--num-bits {} is not supported for ivf_sq (use 4 or 8)", p.sq.num_bits));
    }
    if (p.sq.sample_rate < 1) {
      return Status::InvalidArgument("SQ sample_rate must be at least 1");
    }
  }
  return Status::OK();
}

int64_t ivf_sample_rows(const TrainParams& p) { return p.ivf.sample_rate * p.ivf.num_partitions; }

int64_t quantizer_sample_rows(const TrainParams& p) {
  switch (p.index_type) {
    case IndexType::kIvfPq:
      return p.pq.sample_rate * (int64_t{1} << p.pq.num_bits);
    case IndexType::kIvfSq:
      return p.sq.sample_rate * (int64_t{1} << p.sq.num_bits);
    case IndexType::kIvfFlat:
      return 0;
  }
  return 0;
}

int64_t sample_rows_wanted(const TrainParams& p) {
  return std::max(ivf_sample_rows(p), quantizer_sample_rows(p));
}

std::string_view to_string(IndexType t) {
  switch (t) {
    case IndexType::kIvfFlat: return "ivf_flat";
    case IndexType::kIvfPq: return "ivf_pq";
    case IndexType::kIvfSq: return "ivf_sq";
  }
  return "?";
}
std::string_view to_string(DistanceType t) {
  switch (t) {
    case DistanceType::kL2: return "l2";
    case DistanceType::kCosine: return "cosine";
    case DistanceType::kDot: return "dot";
  }
  return "?";
}
std::string_view to_string(KMeansInit t) {
  return t == KMeansInit::kRandom ? "random" : "kmeans++";
}
std::string_view to_string(SqBoundsMode t) {
  return t == SqBoundsMode::kGlobal ? "global" : "per-dim";
}

std::string_view to_string(KMeansAlgorithm t) {
  return t == KMeansAlgorithm::kFlat ? "flat" : "hierarchical";
}

namespace {
template <typename E, size_t N>
Result<E> parse_enum(std::string_view s, const E (&values)[N], std::string_view what) {
  std::string options;
  for (E v : values) {
    if (to_string(v) == s) return v;
    options += (options.empty() ? "" : ", ") + std::string(to_string(v));
  }
  return Status::InvalidArgument(fmt::format("unknown {} '{}' (expected one of: {})", what, s,
                                             options));
}
}  // namespace

Result<IndexType> parse_index_type(std::string_view s) {
  static constexpr IndexType v[] = {IndexType::kIvfFlat, IndexType::kIvfPq, IndexType::kIvfSq};
  return parse_enum(s, v, "index type");
}
Result<DistanceType> parse_distance_type(std::string_view s) {
  static constexpr DistanceType v[] = {DistanceType::kL2, DistanceType::kCosine,
                                       DistanceType::kDot};
  return parse_enum(s, v, "distance type");
}
Result<KMeansInit> parse_kmeans_init(std::string_view s) {
  static constexpr KMeansInit v[] = {KMeansInit::kRandom, KMeansInit::kKMeansPlusPlus};
  return parse_enum(s, v, "k-means init");
}
Result<KMeansAlgorithm> parse_kmeans_algorithm(std::string_view s) {
  static constexpr KMeansAlgorithm v[] = {KMeansAlgorithm::kFlat, KMeansAlgorithm::kHierarchical};
  return parse_enum(s, v, "k-means algorithm");
}
Result<SqBoundsMode> parse_sq_bounds_mode(std::string_view s) {
  static constexpr SqBoundsMode v[] = {SqBoundsMode::kGlobal, SqBoundsMode::kPerDimension};
  return parse_enum(s, v, "SQ bounds mode");
}

}  // namespace ivftrain
