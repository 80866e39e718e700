#include "test_util.h"

#include <gtest/gtest.h>
#include <hwy/targets.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include "ivftrain/simd.h"
#include "testing/synthetic.h"
#include "util/rng.h"

namespace ivftrain::testing {
namespace {

// IVFTRAIN_SIMD=LEVEL runs the whole suite with the kernels forced to LEVEL, as the CLI does
// (scripts/test.sh runs the kernel and k-means tests at every level the CPU supports).
class SimdLevelFromEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const Status status = set_simd_target_from_env();
    ASSERT_TRUE(status.ok()) << status.message();
  }
};
[[maybe_unused]] ::testing::Environment* const kSimdLevel =
    ::testing::AddGlobalTestEnvironment(new SimdLevelFromEnvironment);

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "ivftrain-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<float> random_matrix(uint64_t seed, int64_t rows, int64_t d, double scale) {
  Rng rng(seed);
  std::vector<float> m(static_cast<size_t>(rows * d));
  for (auto& v : m) v = static_cast<float>(rng.normal() * scale);
  return m;
}

std::vector<float> gaussian_mixture(int64_t n, int64_t dim, int64_t clusters, uint64_t seed) {
  MixtureSpec spec;
  spec.rows = n;
  spec.dim = dim;
  spec.clusters = clusters;
  spec.seed = seed;
  spec.streams = MixtureStreams::kSequential;  // the data the tests' thresholds were set on
  return gaussian_mixture(spec);
}

TwoNearest brute_two_nearest(const float* row, const float* centroids, int64_t k, int64_t d) {
  TwoNearest out;
  out.best = out.second = std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < k; ++j) {
    double s = 0;
    for (int64_t t = 0; t < d; ++t) {
      const double v = double(row[t]) - centroids[j * d + t];
      s += v * v;
    }
    if (s < out.best) {
      out.second = out.best;
      out.best = s;
      out.label = static_cast<int32_t>(j);
    } else if (s < out.second) {
      out.second = s;
    }
  }
  return out;
}

void for_each_simd_level(const std::function<void()>& body) {
  for (const int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(::testing::Message() << "level " << simd_target());
    body();
  }
  hwy::SetSupportedTargetsForTest(0);
}

}  // namespace ivftrain::testing
