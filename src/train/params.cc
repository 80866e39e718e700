#include "ivftrain/params.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "util/checked_math.h"
#include "util/enum_names.h"
#include "util/status_macros.h"

namespace ivftrain {

Status validate(const TrainParams& p, int64_t dim) {
  if (p.ivf.num_partitions < 1) {
    return Status::InvalidArgument(
        fmt::format("num_partitions must be at least 1 (got {})", p.ivf.num_partitions));
  }
  if (p.ivf.sample_rate < 1) {
    return Status::InvalidArgument(
        fmt::format("sample_rate must be at least 1 (got {})", p.ivf.sample_rate));
  }
  if (!checked_mul({p.ivf.sample_rate, p.ivf.num_partitions})) {
    return Status::InvalidArgument(
        fmt::format("num_partitions {} times sample_rate {} rows is too large a sample to count",
                    p.ivf.num_partitions, p.ivf.sample_rate));
  }
  if (!checked_mul({std::max<int64_t>(p.pq.sample_rate, 0), 256}) ||
      !checked_mul({std::max<int64_t>(p.sq.sample_rate, 0), 256})) {
    return Status::InvalidArgument(
        fmt::format("sample_rate {} times 2^num_bits rows is too large a sample to count",
                    std::max(p.pq.sample_rate, p.sq.sample_rate)));
  }
  // Not finite: inf passes "greater than 1" and "positive", and means nothing.
  if (!std::isfinite(p.ivf.kmeans.balance)) {
    return Status::InvalidArgument(
        fmt::format("balance must be 0 (off) or a finite number greater than 1 (got {})",
                    p.ivf.kmeans.balance));
  }
  if (!std::isfinite(p.ivf.kmeans.tolerance) || !std::isfinite(p.pq.kmeans.tolerance)) {
    return Status::InvalidArgument(
        fmt::format("tolerance must be a finite number (got {})", p.ivf.kmeans.tolerance));
  }
  if (p.ivf.kmeans.balance > 0 && p.distance_type == DistanceType::kDot) {
    return Status::InvalidArgument(
        "balance needs distance_type l2 or cosine: under dot, the largest inner product goes "
        "to the longest centroids, whatever their place, so partitions cannot be evened out");
  }
  IVF_RETURN_IF_ERROR(validate(p.ivf.kmeans));
  if (p.num_threads < 0 || p.num_threads > kMaxThreads) {
    return Status::InvalidArgument(
        fmt::format("num_threads must be 0 (all cores) or between 1 and {} (got {})", kMaxThreads,
                    p.num_threads));
  }
  if (p.index_type == IndexType::kIvfPq) IVF_RETURN_IF_ERROR(validate(p.pq, dim));
  if (p.index_type == IndexType::kIvfSq) IVF_RETURN_IF_ERROR(validate(p.sq));
  return Status::OK();
}

int64_t ivf_sample_rows(const TrainParams& p) { return p.ivf.sample_rate * p.ivf.num_partitions; }

int64_t quantizer_sample_rows(const TrainParams& p) {
  switch (p.index_type) {
    case IndexType::kIvfPq: return p.pq.sample_rate * (int64_t{1} << p.pq.num_bits);
    case IndexType::kIvfSq: return p.sq.sample_rate * (int64_t{1} << p.sq.num_bits);
    case IndexType::kIvfFlat: return 0;
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

Result<IndexType> parse_index_type(std::string_view s) {
  static constexpr IndexType v[] = {IndexType::kIvfFlat, IndexType::kIvfPq, IndexType::kIvfSq};
  return parse_enum(s, v, "index type");
}

Result<DistanceType> parse_distance_type(std::string_view s) {
  static constexpr DistanceType v[] = {DistanceType::kL2, DistanceType::kCosine,
                                       DistanceType::kDot};
  return parse_enum(s, v, "distance type");
}

}  // namespace ivftrain
