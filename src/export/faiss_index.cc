// FAISS index files (see include/ivftrain/faiss_export.h). The layout is FAISS's
// impl/index_write.cpp: every field little-endian in its C++ width (int d, int64 counts, size_t
// vector lengths, one byte per bool), each class introduced by a four-character code.
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string_view>
#include <type_traits>
#include <vector>

#include "ivftrain/faiss_export.h"
#include "util/files.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

// FAISS's MetricType values.
constexpr int32_t kMetricInnerProduct = 0;
constexpr int32_t kMetricL2 = 1;
// FAISS's ScalarQuantizer::QuantizerType values.
constexpr int32_t kQt8bit = 0, kQt4bit = 1, kQt8bitUniform = 2, kQt4bitUniform = 3;

// The fourccs that open an IVF index this module writes: what --overwrite may replace.
constexpr std::string_view kIvfFourccs[] = {"IwFl", "IwPQ", "IwSq"};

class Writer {
 public:
  template <typename T>
  void put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void fourcc(std::string_view code) { out_.append(code.data(), 4); }
  void floats(const std::vector<float>& v) {  // WRITEVECTOR: size_t length, then the items
    put<uint64_t>(v.size());
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Index::d, ntotal, two unused int64 fields FAISS fills with 2^20, is_trained, metric_type.
void index_header(Writer& w, int64_t d, int64_t ntotal, int32_t metric) {
  w.put<int32_t>(static_cast<int32_t>(d));
  w.put<int64_t>(ntotal);
  w.put<int64_t>(int64_t{1} << 20);
  w.put<int64_t>(int64_t{1} << 20);
  w.put<uint8_t>(1);
  w.put<int32_t>(metric);
}

// IndexIVF's header: the index header, nlist, nprobe, the flat quantizer holding the centroids,
// and an empty direct map.
void ivf_header(Writer& w, const TrainedModels& m, int32_t metric) {
  const int64_t k = m.params.ivf.num_partitions;
  index_header(w, m.dim, 0, metric);
  w.put<uint64_t>(static_cast<uint64_t>(k));
  w.put<uint64_t>(1);  // nprobe: FAISS's default
  w.fourcc(metric == kMetricL2 ? "IxF2" : "IxFI");
  index_header(w, m.dim, k, metric);
  w.floats(m.ivf_centroids);
  w.put<uint8_t>(0);   // DirectMap::NoMap
  w.put<uint64_t>(0);  // its (empty) array
}

// Empty ArrayInvertedLists: nlist lists of code_size-byte codes, stored "sparse" (no list holds
// an entry), so no list sizes follow.
void empty_invlists(Writer& w, int64_t nlist, int64_t code_size) {
  w.fourcc("ilar");
  w.put<uint64_t>(static_cast<uint64_t>(nlist));
  w.put<uint64_t>(static_cast<uint64_t>(code_size));
  w.fourcc("sprs");
  w.put<uint64_t>(0);
}

// FAISS's ScalarQuantizer `trained` array: (vmin, vdiff) for global bounds, all vmin then all
// vdiff per dimension, chosen so that FAISS's codes and values are ivftrain's (see the header).
Result<std::vector<float>> sq_trained(const SqBounds& b, int num_bits) {
  const float levels = static_cast<float>((1 << num_bits) - 1);
  const size_t n = b.lower.size();
  if (n == 0 || b.upper.size() != n) {
    return Status::InvalidArgument("the model's SQ bounds are missing, so FAISS cannot hold them");
  }
  std::vector<float> trained(2 * n);
  for (size_t i = 0; i < n; ++i) {
    const float lo = b.lower[i], hi = b.upper[i];
    if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) {
      return Status::InvalidArgument(fmt::format(
          "the model's SQ bounds [{}, {}] are not a range of finite values, so FAISS cannot "
          "hold them",
          lo, hi));
    }
    const float range = hi - lo;
    trained[i] = lo - range / (2 * levels);
    trained[n + i] = range;
  }
  return trained;
}

}  // namespace

Result<std::string> faiss_index_bytes(const TrainedModels& m) {
  const TrainParams& p = m.params;
  const int64_t k = p.ivf.num_partitions;
  if (m.dim < 1 || m.dim > std::numeric_limits<int32_t>::max()) {
    return Status::InvalidArgument(fmt::format(
        "dim {} does not fit FAISS's 32-bit dimension, so it cannot be exported", m.dim));
  }
  if (k < 1 || static_cast<int64_t>(m.ivf_centroids.size()) != k * m.dim) {
    return Status::InvalidArgument(
        "the model's centroids do not match num_partitions x dim, so it cannot be exported");
  }
  const int32_t metric = p.distance_type == DistanceType::kDot ? kMetricInnerProduct : kMetricL2;
  Writer w;
  switch (p.index_type) {
    case IndexType::kIvfFlat:
      w.fourcc("IwFl");
      ivf_header(w, m, metric);
      empty_invlists(w, k, m.dim * static_cast<int64_t>(sizeof(float)));
      break;
    case IndexType::kIvfPq: {
      if (!m.pq) return Status::InvalidArgument("the ivf_pq model holds no PQ codebook");
      const PqCodebook& cb = *m.pq;
      const int64_t code_size = (cb.num_sub_vectors * cb.num_bits + 7) / 8;
      w.fourcc("IwPQ");
      ivf_header(w, m, metric);
      // Residuals against the nearest centroid under l2 and cosine; the vectors under dot.
      w.put<uint8_t>(p.distance_type == DistanceType::kDot ? 0 : 1);
      w.put<uint64_t>(static_cast<uint64_t>(code_size));
      w.put<uint64_t>(static_cast<uint64_t>(m.dim));  // ProductQuantizer: d, M, nbits, centroids
      w.put<uint64_t>(static_cast<uint64_t>(cb.num_sub_vectors));
      w.put<uint64_t>(static_cast<uint64_t>(cb.num_bits));
      w.floats(cb.centroids);
      empty_invlists(w, k, code_size);
      break;
    }
    case IndexType::kIvfSq: {
      if (!m.sq) return Status::InvalidArgument("the ivf_sq model holds no SQ bounds");
      const int bits = p.sq.num_bits;
      const bool global = m.sq->mode == SqBoundsMode::kGlobal;
      IVF_ASSIGN_OR_RETURN(std::vector<float> trained, sq_trained(*m.sq, bits));
      const int64_t code_size = bits == 8 ? m.dim : (m.dim + 1) / 2;
      w.fourcc("IwSq");
      ivf_header(w, m, metric);
      w.put<int32_t>(bits == 8 ? (global ? kQt8bitUniform : kQt8bit)
                               : (global ? kQt4bitUniform : kQt4bit));
      w.put<int32_t>(0);   // rangestat: RS_minmax (how FAISS would train; unused here)
      w.put<float>(0.0f);  // rangestat_arg
      w.put<uint64_t>(static_cast<uint64_t>(m.dim));
      w.put<uint64_t>(static_cast<uint64_t>(code_size));
      w.floats(trained);
      w.put<uint64_t>(static_cast<uint64_t>(code_size));
      w.put<uint8_t>(0);  // by_residual: SQ codes the vectors themselves, as Lance's IVF_SQ
      empty_invlists(w, k, code_size);
      break;
    }
  }
  return w.take();
}

Status write_faiss_index(const TrainedModels& models, const std::string& path, bool overwrite) {
  // --overwrite replaces only a FAISS IVF index file, never a file of another kind.
  const auto replaceable = [](const std::string& existing) -> Status {
    char head[4] = {};
    std::ifstream file(existing, std::ios::binary);
    if (file.read(head, sizeof(head))) {
      for (std::string_view code : kIvfFourccs) {
        if (std::string_view(head, sizeof(head)) == code) return Status::OK();
      }
    }
    return Status::AlreadyExists(fmt::format(
        "{} is not a FAISS IVF index file; --overwrite replaces only such a file", existing));
  };
  IVF_RETURN_IF_ERROR(check_output(path, overwrite, replaceable));
  IVF_ASSIGN_OR_RETURN(std::string bytes, faiss_index_bytes(models));
  IVF_ASSIGN_OR_RETURN(std::string out, output_path(path));
  return write_file_atomic(out, bytes);
}

}  // namespace ivftrain
