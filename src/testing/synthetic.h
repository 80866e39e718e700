// Synthetic datasets: a Gaussian mixture written in any supported vector format, so that
// `ivftrain gen`, the unit tests and the benchmarks need no download. Built as its own library
// (ivftrain_testing), not part of ivftrain's API.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/vector_writer.h"
#include "ivftrain/status.h"

namespace ivftrain::testing {

// How the random numbers are drawn. Both give the same distribution, not the same rows.
enum class MixtureStreams {
  kPerBlock,   // a stream for the centres and one per block of 4096 rows: row i depends only on
               // (seed, i), so the rows are generated in parallel (`ivftrain gen`'s data)
  kSequential  // one stream for the centres, then every row in order (the unit tests' data)
};

struct MixtureSpec {
  int64_t rows = 0;       // >= 1
  int64_t dim = 0;        // >= 1
  int64_t clusters = 64;  // mixture components, >= 1, each chosen with equal probability
  double spread = 4.0;    // standard deviation of the centres; the rows' around them is 1
  uint64_t seed = 42;
  int64_t nonfinite_rows = 0;  // rows given one NaN or Inf value (alternately), at most `rows`
  MixtureStreams streams = MixtureStreams::kPerBlock;
};

// rows x dim float32 values, row-major; deterministic for a spec, whatever the thread count.
std::vector<float> gaussian_mixture(const MixtureSpec& spec);

// The rows of gaussian_mixture(spec) for a kPerBlock spec, any range of them at a time, so that
// a dataset larger than memory can be generated as it is written.
class MixtureRows {
 public:
  explicit MixtureRows(const MixtureSpec& spec);
  // Rows [first, first + count) into out (count x dim), as gaussian_mixture(spec) has them.
  void rows(int64_t first, int64_t count, float* out) const;

 private:
  MixtureSpec spec_;
  std::vector<float> centres_;
  struct Bad {
    int64_t row, column;
    float value;
  };
  std::vector<Bad> nonfinite_;  // sorted by row
};

// The name of a vector-file format ("npy", "fvecs", "bvecs", "fbin", "u8bin", "i8bin", "hdf5")
// given by its name or extension ("fbin", ".fbin", "h5"). An unknown one is an error naming it.
Result<std::string> vector_format_name(const std::string& name_or_extension);

// Writes n x dim rows (n the sum of `fragment_rows`) in `format` (a name vector_format_name
// knows): one file at `path` when there is one fragment, else a directory `path` holding
// part-00000.EXT, part-00001.EXT, ... of those sizes, created under a temporary name and then
// renamed, so that it appears complete or not at all.
Status write_vector_files(const std::string& path, const std::string& format, int64_t dim,
                          const float* data, const std::vector<int64_t>& fragment_rows);
// The same, the rows asked of `rows` (rows [first, first + count) of the whole dataset) a block
// at a time as they are written: memory holds a block, not the dataset.
Status write_vector_files(const std::string& path, const std::string& format, int64_t dim,
                          const RowSource& rows, const std::vector<int64_t>& fragment_rows);

}  // namespace ivftrain::testing
