// Internal to src/io: the per-format openers behind open_vector_file, and helpers they share.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "io/vector_file.h"
#include "io/vector_writer.h"

namespace ivftrain {

using VectorFilePtr = std::unique_ptr<VectorFile>;

Result<VectorFilePtr> open_npy_file(const std::string& path);
Result<VectorFilePtr> open_vecs_file(const std::string& path, ElementType type);  // fvecs, bvecs
Result<VectorFilePtr> open_bin_file(const std::string& path, ElementType type);   // *bin
Result<VectorFilePtr> open_hdf5_file(const std::string& path, const std::string& dataset);
// Writes n x dim float32 rows, asked of `rows` a block at a time, as `dataset` of a new HDF5
// file, atomically (temporary sibling, fsync, rename).
Status write_hdf5_file(const std::string& path, int64_t n, int64_t dim, const RowSource& rows,
                       const std::string& dataset);

// "file.hdf5:NAME" split into its file and dataset name; nullopt when `spec` has no ":NAME".
struct Hdf5Spec {
  std::string file, dataset;
};
std::optional<Hdf5Spec> split_hdf5_spec(const std::string& spec);

// Checks that `rows` are strictly increasing and within [0, num_rows); errors name `path`.
Status check_rows(const std::string& path, int64_t num_rows, std::span<const int64_t> rows);

// Bytes per element of a type.
size_t element_size(ElementType type);

// Converts n elements of `type` at `src` (any alignment) to float32.
void convert_to_float(ElementType type, const char* src, int64_t n, float* out);

// `a * b * c` when it fits in int64 and every factor is non-negative, else nullopt.
std::optional<int64_t> checked_product(int64_t a, int64_t b, int64_t c = 1);

// A shape as Python prints it: "(10,)", "(10, 4)".
std::string npy_shape_text(const std::vector<int64_t>& shape);

}  // namespace ivftrain
