// Writing vector files in every supported format (for `ivftrain gen`, tests and benchmarks).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ivftrain/status.h"

namespace ivftrain {

enum class FileFormat { kNpy, kFvecs, kBvecs, kFbin, kU8bin, kI8bin, kHdf5 };

Result<FileFormat> parse_file_format(const std::string& name);  // "npy", "fvecs", ...
const char* file_extension(FileFormat f);                       // ".npy", ".fvecs", ...

// Writes n x dim float32 rows to `path` in `format`, atomically. For byte formats (bvecs, u8bin,
// i8bin) values are rounded and clamped to the type's range. HDF5 writes dataset `hdf5_dataset`
// ("train" by default) as float32.
Status write_vector_file(const std::string& path, FileFormat format, int64_t n, int64_t dim,
                         const float* data, const std::string& hdf5_dataset = "train");

// Fills `out` (count x dim float32, row-major) with rows [first, first + count) of the data
// being written.
using RowSource = std::function<Status(int64_t first, int64_t count, float* out)>;

// The same, streamed: the rows are asked of `rows` a block of a few MiB at a time and written as
// they come, so that writing a file never holds more than a block of it in memory.
Status write_vector_file(const std::string& path, FileFormat format, int64_t n, int64_t dim,
                         const RowSource& rows, const std::string& hdf5_dataset = "train");

// Rows per block of a streamed write of rows of `dim` values (at least 1).
int64_t write_block_rows(int64_t dim);

}  // namespace ivftrain
