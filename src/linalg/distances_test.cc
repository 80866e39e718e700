#include "linalg/distances.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "util/rng.h"

namespace ivftrain {
namespace {

std::vector<float> random_vector(Rng& rng, int64_t d) {
  std::vector<float> v(static_cast<size_t>(d));
  for (auto& x : v) x = static_cast<float>(rng.normal());
  return v;
}

// Exact (double) values to check both the reference and the fast kernels against.
double l2_exact(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t j = 0; j < a.size(); ++j) s += (double(a[j]) - b[j]) * (double(a[j]) - b[j]);
  return s;
}
double ip_exact(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t j = 0; j < a.size(); ++j) s += double(a[j]) * b[j];
  return s;
}

TEST(Distances, KernelsMatchExactValuesForManyLengths) {
  Rng rng(7);
  for (int64_t d : {1, 2, 3, 15, 16, 17, 31, 32, 33, 64, 100, 128, 257}) {
    const auto a = random_vector(rng, d), b = random_vector(rng, d);
    const double l2 = l2_exact(a, b), ip = ip_exact(a, b), na = ip_exact(a, a);
    // Float sums of d terms of magnitude ~1: relative error well under d * 2^-24.
    const double tol = 1e-5 * (1.0 + static_cast<double>(d));
    EXPECT_NEAR(l2_sqr_ref(a.data(), b.data(), d), l2, tol) << d;
    EXPECT_NEAR(l2_sqr(a.data(), b.data(), d), l2, tol) << d;
    EXPECT_NEAR(inner_product_ref(a.data(), b.data(), d), ip, tol) << d;
    EXPECT_NEAR(inner_product(a.data(), b.data(), d), ip, tol) << d;
    EXPECT_NEAR(norm_sqr_ref(a.data(), d), na, tol) << d;
    EXPECT_NEAR(norm_sqr(a.data(), d), na, tol) << d;
  }
}

TEST(Distances, SmallIntegersAreExact) {
  const std::vector<float> a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18};
  std::vector<float> b(a.size(), 1.0f);
  // sum_{i=1..18} (i-1)^2 = 17*18*35/6 = 1785; sum i = 171; sum i^2 = 2109.
  EXPECT_EQ(l2_sqr(a.data(), b.data(), 18), 1785.0f);
  EXPECT_EQ(inner_product(a.data(), b.data(), 18), 171.0f);
  EXPECT_EQ(norm_sqr(a.data(), 18), 2109.0f);
}

TEST(Distances, RowNorms) {
  Rng rng(3);
  const int64_t n = 5, d = 37;
  const auto x = random_vector(rng, n * d);
  std::vector<float> norms(n);
  row_norms_sqr(n, d, x.data(), norms.data());
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(norms[i], norm_sqr(x.data() + i * d, d));
}

}  // namespace
}  // namespace ivftrain
