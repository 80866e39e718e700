// Datasets of fragments.
//
// A dataset is an ordered set of fragments that share one dimension. Each fragment has a stable
// integer id and a row count; fragment ids are what the sampling plan and an orchestrator use
// to split work. A dataset opens from:
//   - one vector file, split into fragments of `rows_per_fragment` rows (ids 0, 1, ...);
//   - a directory: each supported file is one fragment, ids 0, 1, ... in file-name order;
//   - a manifest (`*.json`) listing fragments explicitly:
//       {"fragments": [{"id": 7, "path": "a.fbin", "first_row": 0, "num_rows": 1000}, ...]}
//     with paths relative to the manifest's directory (an HDF5 path may name its dataset as
//     "file.hdf5:NAME").
// Supported files: .npy (float32, float16, float64, uint8, int8; C order), .fvecs, .bvecs,
// .fbin, .u8bin, .i8bin (big-ann-benchmarks), .hdf5/.h5 (dataset "train" unless
// "file.hdf5:NAME"). Integer and half inputs are converted to float32 on read.
//
// Thread-safety: a Dataset is immutable after open; read_rows may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ivftrain/status.h"

namespace ivftrain {

struct DatasetOptions {
  // Rows per fragment when a single file is split into fragments. Must be >= 1.
  int64_t rows_per_fragment = int64_t{1} << 20;
  // HDF5 dataset read when a path does not name one (ann-benchmarks' layout).
  std::string hdf5_dataset = "train";
};

// The element types of an in-memory array (Dataset::from_array), converted to float32 as the
// file readers convert the same types.
enum class ArrayType { kFloat32, kFloat16, kFloat64, kUInt8, kInt8 };

struct FragmentInfo {
  int64_t id = 0;
  int64_t num_rows = 0;
  std::string path;       // the file holding the fragment (as opened, with ":NAME" for HDF5)
  int64_t first_row = 0;  // the fragment's first row within that file
};

class Dataset {
 public:
  // Opens a file, directory or manifest. Errors name the path at fault.
  static Result<Dataset> open(const std::string& path, const DatasetOptions& options = {});

  // An array in memory, `rows` x `dim` elements of `type` in C order at `data`, opened as a .npy
  // file holding it would be: split into fragments of options.rows_per_fragment rows, read and
  // converted the same, so that it samples and trains the same model. Rows are read straight
  // from `data` (no copy of the array); `owner` keeps it alive as long as the Dataset and its
  // copies. `name` stands for the path in messages. For train_local: the distributed phases
  // fingerprint files, which an array does not have.
  static Result<Dataset> from_array(std::string name, const void* data, int64_t rows, int64_t dim,
                                    ArrayType type, std::shared_ptr<const void> owner,
                                    const DatasetOptions& options = {});

  const std::string& path() const;
  int64_t dim() const;
  int64_t num_rows() const;                            // over all fragments
  const std::vector<FragmentInfo>& fragments() const;  // ordered by id, ids unique
  // The fragment with this id, or nullptr.
  const FragmentInfo* find_fragment(int64_t id) const;

  // Reads rows of one fragment into `out` (rows.size() x dim float32, row-major). `rows` are
  // fragment-relative, strictly increasing and < num_rows. Only those rows are read.
  Status read_rows(int64_t fragment_id, std::span<const int64_t> rows, float* out) const;

  // Reads `count` consecutive rows starting at `first` (fragment-relative).
  Status read_range(int64_t fragment_id, int64_t first, int64_t count, float* out) const;

 private:
  struct Impl;  // the opened files, shared by copies of a Dataset
  explicit Dataset(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Parses a fragment-id list such as "0,3,7-9" (ranges inclusive). Errors name the bad token.
Result<std::vector<int64_t>> parse_fragment_list(const std::string& text);

}  // namespace ivftrain
