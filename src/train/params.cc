#include "ivftrain/params.h"

#include <fmt/format.h>

#include <algorithm>

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
  if (p.ivf.kmeans.balance > 0 && p.distance_type == DistanceType::kDot) {
    return Status::InvalidArgument(
        "balance needs distance_type l2 or cosine: under dot, the largest inner product goes "
        "to the longest centroids, whatever their place, so partitions cannot be evened out");
  }
  IVF_RETURN_IF_ERROR(validate(p.ivf.kmeans));
  if (p.num_threads < 0) {
    return Status::InvalidArgument(
        fmt::format("num_threads must be 0 (all cores) or positive (got {})", p.num_threads));
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
