// Shared helpers for the unit tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ivftrain::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes raw bytes to a file (not atomically: tests make malformed files with it).
void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);

// rows x d float32 values drawn from N(0, scale^2) (deterministic for a seed).
std::vector<float> random_matrix(uint64_t seed, int64_t rows, int64_t d, double scale);

// n x dim float32 rows: a Gaussian mixture of `clusters` centres with spread 4, drawn from one
// sequential stream (testing::gaussian_mixture with MixtureStreams::kSequential).
std::vector<float> gaussian_mixture(int64_t n, int64_t dim, int64_t clusters, uint64_t seed);

// A row's nearest and second-nearest centroid by brute force, one squared l2 distance at a time
// in double: the oracle of the kernel tests. Ties go to the smallest index; with k == 1 the
// second distance is +inf.
struct TwoNearest {
  int32_t label = -1;
  double best = 0, second = 0;
};
TwoNearest brute_two_nearest(const float* row, const float* centroids, int64_t k, int64_t d);

// Runs `body` once for every SIMD level this binary has and this CPU supports, each time with
// the dispatch forced to it (and the level named in any failure), then restores the dispatch.
void for_each_simd_level(const std::function<void()>& body);

}  // namespace ivftrain::testing
