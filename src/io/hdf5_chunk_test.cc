// Chunked, compressed HDF5 datasets (h5py's compression="gzip"): rows read from them are the
// rows written, whatever the chunk shape, and sampled rows come out in order.
// Only in builds with HDF5 (the aarch64 cross build has none: IVFTRAIN_WITH_HDF5=OFF).
#if IVFTRAIN_HAVE_HDF5
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/hdf5_util.h"
#include "io/vector_file.h"
#include "test_util.h"

namespace ivftrain {
namespace {

// Writes rows x dim float32 values v[i] = i as dataset "train", chunked and gzip-compressed.
void write_chunked(const std::string& path, hsize_t rows, hsize_t dim, hsize_t chunk_rows,
                   hsize_t chunk_cols) {
  std::vector<float> v(rows * dim);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  Hdf5Lock lock;
  H5Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  const hsize_t dims[2] = {rows, dim}, chunk[2] = {chunk_rows, chunk_cols};
  H5Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
  H5Handle create(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  ASSERT_GE(H5Pset_chunk(create.get(), 2, chunk), 0);
  ASSERT_GE(H5Pset_deflate(create.get(), 4), 0);
  H5Handle set(H5Dcreate2(file.get(), "train", H5T_IEEE_F32LE, space.get(), H5P_DEFAULT,
                          create.get(), H5P_DEFAULT),
               H5Dclose);
  ASSERT_TRUE(set.valid());
  ASSERT_GE(H5Dwrite(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
}

TEST(Hdf5Chunked, SampledRowsAreTheRowsWritten) {
  testing::TempDir dir;
  const int64_t rows = 5000, dim = 24;
  struct Shape {
    hsize_t rows, cols;
  };
  for (const Shape chunk : {Shape{5000, 24}, Shape{300, 24}, Shape{700, 5}, Shape{1, 24}}) {
    const std::string path =
        dir.file("c" + std::to_string(chunk.rows) + "x" + std::to_string(chunk.cols) + ".h5");
    write_chunked(path, rows, dim, chunk.rows, chunk.cols);
    auto file = open_vector_file(path, "train");
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    std::vector<int64_t> sample;
    for (int64_t r = 3; r < rows; r += 37) sample.push_back(r);
    sample.push_back(rows - 1);
    std::vector<float> out(sample.size() * dim);
    // Twice: each read opens the dataset anew with its chunk cache.
    for (int pass = 0; pass < 2; ++pass) {
      ASSERT_TRUE((*file)->read_rows(sample, out.data()).ok());
      for (size_t i = 0; i < sample.size(); ++i) {
        for (int64_t j = 0; j < dim; ++j) {
          ASSERT_EQ(out[i * dim + j], static_cast<float>(sample[i] * dim + j))
              << path << " row " << sample[i];
        }
      }
    }
    std::vector<float> range(100 * dim);
    ASSERT_TRUE((*file)->read_range(4900, 100, range.data()).ok());
    EXPECT_EQ(range.back(), static_cast<float>(rows * dim - 1));
  }
}

}  // namespace
}  // namespace ivftrain

#endif  // IVFTRAIN_HAVE_HDF5
