#include "io/vector_writer.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "io/formats.h"
#include "io/npy.h"
#include "util/files.h"

namespace ivftrain {
namespace {

struct FormatName {
  const char* name;
  FileFormat format;
  const char* extension;
};
constexpr FormatName kFormats[] = {
    {"npy", FileFormat::kNpy, ".npy"},       {"fvecs", FileFormat::kFvecs, ".fvecs"},
    {"bvecs", FileFormat::kBvecs, ".bvecs"}, {"fbin", FileFormat::kFbin, ".fbin"},
    {"u8bin", FileFormat::kU8bin, ".u8bin"}, {"i8bin", FileFormat::kI8bin, ".i8bin"},
    {"hdf5", FileFormat::kHdf5, ".hdf5"},
};

template <typename T>
T to_byte(float v) {
  // NaN becomes the lowest value: a byte format has no way to say "missing".
  const float lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  if (!(v >= lo)) return static_cast<T>(lo);
  if (v > hi) return static_cast<T>(hi);
  return static_cast<T>(std::nearbyint(v));
}

template <typename T>
void append(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof value);
}

// Appends `count` values of `data` as element type T (float32 copied, bytes rounded).
template <typename T>
void append_row(std::string* out, const float* data, int64_t count) {
  if constexpr (std::is_same_v<T, float>) {
    out->append(reinterpret_cast<const char*>(data), static_cast<size_t>(count) * sizeof(float));
  } else {
    for (int64_t j = 0; j < count; ++j) out->push_back(static_cast<char>(to_byte<T>(data[j])));
  }
}

template <typename T>
std::string vecs_bytes(int64_t n, int64_t dim, const float* data) {
  std::string out;
  out.reserve(static_cast<size_t>(n * (4 + dim * static_cast<int64_t>(sizeof(T)))));
  for (int64_t i = 0; i < n; ++i) {
    append(&out, static_cast<int32_t>(dim));
    append_row<T>(&out, data + i * dim, dim);
  }
  return out;
}

template <typename T>
std::string bin_bytes(int64_t n, int64_t dim, const float* data) {
  std::string out;
  out.reserve(static_cast<size_t>(8 + n * dim * static_cast<int64_t>(sizeof(T))));
  append(&out, static_cast<uint32_t>(n));
  append(&out, static_cast<int32_t>(dim));
  append_row<T>(&out, data, n * dim);
  return out;
}

}  // namespace

Result<FileFormat> parse_file_format(const std::string& name) {
  for (const FormatName& f : kFormats) {
    if (name == f.name || name == f.extension) return f.format;
  }
  if (name == "h5" || name == ".h5") return FileFormat::kHdf5;
  return Status::InvalidArgument(fmt::format(
      "unknown file format '{}' (expected npy, fvecs, bvecs, fbin, u8bin, i8bin or hdf5)", name));
}

const char* file_extension(FileFormat f) {
  for (const FormatName& entry : kFormats) {
    if (entry.format == f) return entry.extension;
  }
  return "";
}

Status write_vector_file(const std::string& path, FileFormat format, int64_t n, int64_t dim,
                         const float* data, const std::string& hdf5_dataset) {
  // The readers refuse empty arrays, so writing one would only defer the error.
  if (n < 1 || dim < 1) {
    return Status::InvalidArgument(
        fmt::format("cannot write {}: {} rows of dimension {} (both must be >= 1)", path, n, dim));
  }
  // Headers and row prefixes store 32-bit counts.
  if (dim > std::numeric_limits<int32_t>::max() ||
      ((format == FileFormat::kFbin || format == FileFormat::kU8bin ||
        format == FileFormat::kI8bin) &&
       n > std::numeric_limits<uint32_t>::max())) {
    return Status::InvalidArgument(fmt::format(
        "cannot write {}: {} rows of dimension {} do not fit the format's 32-bit header", path, n,
        dim));
  }
  std::string bytes;
  switch (format) {
    case FileFormat::kNpy: bytes = npy_bytes_f32({n, dim}, data); break;
    case FileFormat::kFvecs: bytes = vecs_bytes<float>(n, dim, data); break;
    case FileFormat::kBvecs: bytes = vecs_bytes<uint8_t>(n, dim, data); break;
    case FileFormat::kFbin: bytes = bin_bytes<float>(n, dim, data); break;
    case FileFormat::kU8bin: bytes = bin_bytes<uint8_t>(n, dim, data); break;
    case FileFormat::kI8bin: bytes = bin_bytes<int8_t>(n, dim, data); break;
    case FileFormat::kHdf5: return write_hdf5_file(path, n, dim, data, hdf5_dataset);
  }
  return write_file_atomic(path, bytes);
}

}  // namespace ivftrain
