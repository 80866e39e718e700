// The one reader interface behind every supported vector-file format.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "ivftrain/status.h"

namespace ivftrain {

enum class ElementType { kFloat32, kFloat16, kFloat64, kUInt8, kInt8 };

class VectorFile {
 public:
  virtual ~VectorFile() = default;
  const std::string& path() const { return path_; }  // as opened (HDF5: "file:NAME")
  int64_t num_rows() const { return num_rows_; }
  int64_t dim() const { return dim_; }
  ElementType element_type() const { return type_; }

  // Reads rows (absolute row numbers in the file, strictly increasing, each < num_rows) into
  // out (rows.size() x dim float32). Integer and half values are converted. Errors name the file
  // and the row. Thread-safe.
  virtual Status read_rows(std::span<const int64_t> rows, float* out) const = 0;
  // Reads count consecutive rows from `first`. The default calls read_rows.
  virtual Status read_range(int64_t first, int64_t count, float* out) const;

 protected:
  VectorFile(std::string path, int64_t num_rows, int64_t dim, ElementType type)
      : path_(std::move(path)), num_rows_(num_rows), dim_(dim), type_(type) {}
  std::string path_;
  int64_t num_rows_ = 0, dim_ = 0;
  ElementType type_ = ElementType::kFloat32;
};

// True when the file name has a supported extension (.npy .fvecs .bvecs .fbin .u8bin .i8bin
// .hdf5 .h5, an HDF5 name possibly followed by ":DATASET").
bool is_vector_file_name(const std::string& path);

// Opens one vector file, choosing the format by extension. `spec` may be "file.hdf5:NAME"; a bare
// HDF5 file reads `hdf5_default_dataset`. Validates the header against the file size, so a
// truncated or malformed file is refused here (kCorruption / kInvalidArgument / kNotFound, the
// message naming the file and what is wrong).
Result<std::unique_ptr<VectorFile>> open_vector_file(const std::string& spec,
                                                     const std::string& hdf5_default_dataset);

}  // namespace ivftrain
