#include "io/vector_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <numeric>
#include <vector>

#include "io/formats.h"
#include "util/half.h"

namespace ivftrain {
namespace {

// The lower-cased extension of the last path component (".npy"), or "".
std::string extension_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

bool is_hdf5_extension(const std::string& ext) { return ext == ".hdf5" || ext == ".h5"; }

bool is_known_extension(const std::string& ext) {
  return ext == ".npy" || ext == ".fvecs" || ext == ".bvecs" || ext == ".fbin" || ext == ".u8bin" ||
         ext == ".i8bin" || is_hdf5_extension(ext);
}

constexpr const char* kSupported = ".npy, .fvecs, .bvecs, .fbin, .u8bin, .i8bin, .hdf5, .h5";

}  // namespace

std::optional<Hdf5Spec> split_hdf5_spec(const std::string& spec) {
  // A plain file name wins: "a.h5:x/b.npy" is a .npy inside a directory with a colon.
  if (is_known_extension(extension_of(spec))) return std::nullopt;
  std::string lower = spec;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t best = std::string::npos, ext_len = 0;
  for (const char* ext : {".hdf5:", ".h5:"}) {
    const size_t pos = lower.rfind(ext);
    if (pos != std::string::npos && (best == std::string::npos || pos > best)) {
      best = pos;
      ext_len = std::strlen(ext) - 1;
    }
  }
  if (best == std::string::npos) return std::nullopt;
  return Hdf5Spec{spec.substr(0, best + ext_len), spec.substr(best + ext_len + 1)};
}

bool is_vector_file_name(const std::string& path) {
  return is_known_extension(extension_of(path)) || split_hdf5_spec(path).has_value();
}

Result<std::unique_ptr<VectorFile>> open_vector_file(const std::string& spec,
                                                     const std::string& hdf5_default_dataset) {
  Result<VectorFilePtr> file = Status::InvalidArgument(
      fmt::format("{}: unsupported file type (supported: {})", spec, kSupported));
  const std::string ext = extension_of(spec);
  if (ext == ".npy") {
    file = open_npy_file(spec);
  } else if (ext == ".fvecs") {
    file = open_vecs_file(spec, ElementType::kFloat32);
  } else if (ext == ".bvecs") {
    file = open_vecs_file(spec, ElementType::kUInt8);
  } else if (ext == ".fbin") {
    file = open_bin_file(spec, ElementType::kFloat32);
  } else if (ext == ".u8bin") {
    file = open_bin_file(spec, ElementType::kUInt8);
  } else if (ext == ".i8bin") {
    file = open_bin_file(spec, ElementType::kInt8);
  } else if (is_hdf5_extension(ext)) {
    file = open_hdf5_file(spec, hdf5_default_dataset);
  } else if (auto h5 = split_hdf5_spec(spec)) {
    if (h5->dataset.empty()) {
      return Status::InvalidArgument(fmt::format("{}: empty HDF5 dataset name after ':'", spec));
    }
    file = open_hdf5_file(h5->file, h5->dataset);
  }
  if (!file.ok()) return file.status();
  // Every format can declare an empty array; nothing downstream can use one.
  if ((*file)->num_rows() < 1) {
    return Status::InvalidArgument(fmt::format("{} has no rows", (*file)->path()));
  }
  if ((*file)->dim() < 1) {
    return Status::InvalidArgument(fmt::format("{} has dimension 0", (*file)->path()));
  }
  return std::move(file).value();
}

Status VectorFile::read_range(int64_t first, int64_t count, float* out) const {
  if (first < 0 || count < 0 || first > num_rows_ - count) {
    return Status::InvalidArgument(
        fmt::format("{}: rows {}..{} are out of range (the file has {} rows)", path_, first,
                    first + count, num_rows_));
  }
  std::vector<int64_t> rows(static_cast<size_t>(count));
  std::iota(rows.begin(), rows.end(), first);
  return read_rows(rows, out);
}

Status check_rows(const std::string& path, int64_t num_rows, std::span<const int64_t> rows) {
  int64_t previous = -1;
  for (const int64_t r : rows) {
    if (r < 0 || r >= num_rows) {
      return Status::InvalidArgument(
          fmt::format("{}: row {} is out of range (the file has {} rows)", path, r, num_rows));
    }
    if (r <= previous) {
      return Status::InvalidArgument(fmt::format(
          "{}: rows must be strictly increasing (row {} follows row {})", path, r, previous));
    }
    previous = r;
  }
  return Status::OK();
}

size_t element_size(ElementType type) {
  switch (type) {
    case ElementType::kFloat32: return 4;
    case ElementType::kFloat16: return 2;
    case ElementType::kFloat64: return 8;
    case ElementType::kUInt8:
    case ElementType::kInt8: return 1;
  }
  return 0;
}

void convert_to_float(ElementType type, const char* src, int64_t n, float* out) {
  switch (type) {
    case ElementType::kFloat32:
      std::memcpy(out, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case ElementType::kFloat16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = half_to_float(h);
      }
      return;
    case ElementType::kFloat64:
      for (int64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, src + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      return;
    case ElementType::kUInt8:
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<uint8_t>(src[i]));
      return;
    case ElementType::kInt8:
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<int8_t>(src[i]));
      return;
  }
}

std::optional<int64_t> checked_product(int64_t a, int64_t b, int64_t c) {
  if (a < 0 || b < 0 || c < 0) return std::nullopt;
  int64_t ab = 0, abc = 0;
  if (__builtin_mul_overflow(a, b, &ab) || __builtin_mul_overflow(ab, c, &abc)) {
    return std::nullopt;
  }
  return abc;
}

}  // namespace ivftrain
