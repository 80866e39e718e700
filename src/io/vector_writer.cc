#include "io/vector_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string_view>
#include <vector>

#include "io/formats.h"
#include "io/npy.h"
#include "util/files.h"
#include "util/status_macros.h"

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

// A new file written under a temporary sibling name and renamed into place by commit(), through
// the file system the other writers use (util/files.h), so that a full disk or an injected
// fault fails it the same way. Destroyed without commit(), it removes the temporary file.
class StreamedFile {
 public:
  explicit StreamedFile(std::string path) : path_(std::move(path)) {}
  ~StreamedFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!temp_.empty()) ::unlink(temp_.c_str());
  }
  StreamedFile(const StreamedFile&) = delete;
  StreamedFile& operator=(const StreamedFile&) = delete;

  Status create() {
    static std::atomic<uint64_t> counter{0};
    const std::filesystem::path target(path_);
    const std::string temp =
        (target.parent_path() /
         fmt::format(".{}.tmp-{}-{}", target.filename().string(), ::getpid(), counter.fetch_add(1)))
            .string();
    fd_ = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      return Status::IOError(fmt::format("cannot create {}: {}", path_, std::strerror(errno)));
    }
    temp_ = temp;
    return Status::OK();
  }

  Status append(std::string_view bytes) {
    FileSystem* const fs = file_system();
    while (!bytes.empty()) {
      const ssize_t w = fs->write(fd_, bytes.data(), bytes.size());
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::IOError(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
      }
      bytes.remove_prefix(static_cast<size_t>(w));
    }
    return Status::OK();
  }

  Status commit() {
    if (file_system()->fsync(fd_) != 0) {
      return Status::IOError(fmt::format("cannot sync {}: {}", path_, std::strerror(errno)));
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      return Status::IOError(fmt::format("cannot close {}: {}", path_, std::strerror(errno)));
    }
    if (file_system()->rename(temp_.c_str(), path_.c_str()) != 0) {
      return Status::IOError(
          fmt::format("cannot move {} into place: {}", path_, std::strerror(errno)));
    }
    temp_.clear();
    return Status::OK();
  }

 private:
  std::string path_, temp_;
  int fd_ = -1;
};

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

namespace {

Status check_shape(const std::string& path, FileFormat format, int64_t n, int64_t dim) {
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
  return Status::OK();
}

}  // namespace

Status write_vector_file(const std::string& path, FileFormat format, int64_t n, int64_t dim,
                         const float* data, const std::string& hdf5_dataset) {
  return write_vector_file(
      path, format, n, dim,
      [data, dim](int64_t first, int64_t count, float* out) {
        std::copy_n(data + first * dim, count * dim, out);
        return Status::OK();
      },
      hdf5_dataset);
}

int64_t write_block_rows(int64_t dim) {
  constexpr int64_t kBlockBytes = int64_t{4} << 20;
  return std::max<int64_t>(1, kBlockBytes / (std::max<int64_t>(dim, 1) * int64_t{sizeof(float)}));
}

Status write_vector_file(const std::string& path, FileFormat format, int64_t n, int64_t dim,
                         const RowSource& rows, const std::string& hdf5_dataset) {
  IVF_RETURN_IF_ERROR(check_shape(path, format, n, dim));
  if (format == FileFormat::kHdf5) return write_hdf5_file(path, n, dim, rows, hdf5_dataset);
  StreamedFile file(path);
  IVF_RETURN_IF_ERROR(file.create());
  switch (format) {
    case FileFormat::kNpy: {
      // The header alone: npy_bytes of an array with no elements, then given the real shape.
      const float none = 0;
      std::string header = npy_bytes({n, dim}, "<f4", &none, 0);
      IVF_RETURN_IF_ERROR(file.append(header));
      break;
    }
    case FileFormat::kFbin:
    case FileFormat::kU8bin:
    case FileFormat::kI8bin: {
      std::string header;
      append(&header, static_cast<uint32_t>(n));
      append(&header, static_cast<int32_t>(dim));
      IVF_RETURN_IF_ERROR(file.append(header));
      break;
    }
    default: break;  // vecs: every row carries its own dimension
  }
  const int64_t block = write_block_rows(dim);
  std::vector<float> values;
  std::string bytes;
  for (int64_t first = 0; first < n; first += block) {
    const int64_t count = std::min(block, n - first);
    values.resize(static_cast<size_t>(count * dim));
    IVF_RETURN_IF_ERROR(rows(first, count, values.data()));
    bytes.clear();
    const float* v = values.data();
    switch (format) {
      case FileFormat::kNpy:
      case FileFormat::kFbin: append_row<float>(&bytes, v, count * dim); break;
      case FileFormat::kU8bin: append_row<uint8_t>(&bytes, v, count * dim); break;
      case FileFormat::kI8bin: append_row<int8_t>(&bytes, v, count * dim); break;
      case FileFormat::kFvecs:
      case FileFormat::kBvecs:
        for (int64_t i = 0; i < count; ++i) {
          append(&bytes, static_cast<int32_t>(dim));
          if (format == FileFormat::kFvecs) {
            append_row<float>(&bytes, v + i * dim, dim);
          } else {
            append_row<uint8_t>(&bytes, v + i * dim, dim);
          }
        }
        break;
      case FileFormat::kHdf5: break;
    }
    IVF_RETURN_IF_ERROR(file.append(bytes));
  }
  return file.commit();
}

}  // namespace ivftrain
