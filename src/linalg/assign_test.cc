#include "linalg/assign.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "linalg/distances.h"
#include "test_util.h"
#include "util/rng.h"

namespace ivftrain {
namespace {

struct Shape {
  int64_t n, k, d;
};

// Brute force in double: the oracle.
struct Reference {
  std::vector<int32_t> labels;
  std::vector<double> best, second;  // best and second-best distance per row
};

Reference brute_force(int64_t n, int64_t d, const float* x, int64_t k, const float* c,
                      Metric metric) {
  Reference r;
  r.labels.assign(n, 0);
  r.best.assign(n, std::numeric_limits<double>::infinity());
  r.second.assign(n, std::numeric_limits<double>::infinity());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      double dist = 0;
      for (int64_t t = 0; t < d; ++t) {
        const double a = x[i * d + t], b = c[j * d + t];
        dist += metric == Metric::kInnerProduct ? -a * b : (a - b) * (a - b);
      }
      if (dist < r.best[i]) {
        r.second[i] = r.best[i];
        r.best[i] = dist;
        r.labels[i] = static_cast<int32_t>(j);
      } else if (dist < r.second[i]) {
        r.second[i] = dist;
      }
    }
  }
  return r;
}

// Float rounding of ||x||^2 + ||c||^2 - 2 x.c is about 2^-24 * d * (||x||^2 + ||c||^2); labels
// must agree wherever the two best centroids are further apart than that.
void expect_matches_reference(int64_t n, int64_t d, const std::vector<float>& x, int64_t k,
                              const std::vector<float>& c, Metric metric,
                              const std::vector<int32_t>& labels,
                              const std::vector<float>& distances, double objective) {
  const Reference ref = brute_force(n, d, x.data(), k, c.data(), metric);
  double max_norm = 0;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t t = 0; t < d; ++t) s += double(x[i * d + t]) * x[i * d + t];
    max_norm = std::max(max_norm, s);
  }
  for (int64_t j = 0; j < k; ++j) {
    double s = 0;
    for (int64_t t = 0; t < d; ++t) s += double(c[j * d + t]) * c[j * d + t];
    max_norm = std::max(max_norm, s);
  }
  const double tol = 1e-6 * static_cast<double>(d + 4) * 2 * max_norm;
  int64_t exact_label_checks = 0;
  double expected_objective = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_GE(labels[i], 0);
    ASSERT_LT(labels[i], k);
    if (ref.second[i] - ref.best[i] > 2 * tol) {
      ++exact_label_checks;
      ASSERT_EQ(labels[i], ref.labels[i]) << "row " << i;
    }
    EXPECT_NEAR(distances[i], ref.best[i], tol) << "row " << i;
    expected_objective += distances[i];
  }
  // The test data is chosen so that most rows have a clear winner.
  EXPECT_GT(exact_label_checks, n * 8 / 10);
  EXPECT_NEAR(objective, expected_objective, 1e-9 * std::abs(expected_objective) + 1e-9);
}

using Kernel = double (*)(int64_t, int64_t, const float*, const float*, int64_t, const float*,
                          Metric, const AssignOutput&, int);

void check_kernel(Kernel kernel, Shape s, Metric metric, uint64_t seed) {
  // Centroids spread wide, points near them: clear winners for most rows.
  const auto c = testing::random_matrix(seed, s.k, s.d, 3.0);
  auto x = testing::random_matrix(seed + 1, s.n, s.d, 0.3);
  Rng rng(seed + 2);
  for (int64_t i = 0; i < s.n; ++i) {
    const int64_t j = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(s.k)));
    for (int64_t t = 0; t < s.d; ++t) x[i * s.d + t] += c[j * s.d + t];
  }
  std::vector<int32_t> labels(s.n, -1);
  std::vector<float> distances(s.n, -1);
  const double obj = kernel(s.n, s.d, x.data(), nullptr, s.k, c.data(), metric,
                            AssignOutput{labels.data(), distances.data()}, 2);
  SCOPED_TRACE(::testing::Message() << "n=" << s.n << " k=" << s.k << " d=" << s.d
                                    << " ip=" << (metric == Metric::kInnerProduct));
  expect_matches_reference(s.n, s.d, x, s.k, c, metric, labels, distances, obj);
}

const Shape kShapes[] = {
    {1, 1, 1},     {100, 1, 7},    {300, 5, 1},     {1000, 16, 8},   {1025, 37, 5},
    {700, 256, 4}, {513, 100, 32}, {1500, 300, 40}, {700, 1100, 20}, {1100, 513, 64},
};

TEST(Assign, GemmKernelMatchesBruteForce) {
  for (const Shape& s : kShapes) {
    check_kernel(&assign_nearest_gemm, s, Metric::kL2, 11);
    check_kernel(&assign_nearest_gemm, s, Metric::kInnerProduct, 12);
  }
}

TEST(Assign, DirectKernelMatchesBruteForce) {
  for (const Shape& s : kShapes) {
    if (s.k > 256) continue;
    check_kernel(&assign_nearest_direct, s, Metric::kL2, 13);
    check_kernel(&assign_nearest_direct, s, Metric::kInnerProduct, 14);
  }
}

TEST(Assign, DispatchMatchesBruteForce) {
  for (const Shape& s : kShapes) check_kernel(&assign_nearest, s, Metric::kL2, 15);
  EXPECT_TRUE(assign_uses_direct_kernel(256, 8));
  EXPECT_FALSE(assign_uses_direct_kernel(1024, 8));
  EXPECT_FALSE(assign_uses_direct_kernel(256, 32));
  EXPECT_FALSE(assign_uses_direct_kernel(8, 512));
}

TEST(Assign, GivenNormsGiveTheSameBits) {
  const int64_t n = 1000, k = 300, d = 24;
  const auto x = testing::random_matrix(1, n, d, 1.0), c = testing::random_matrix(2, k, d, 1.0);
  // Norms from row_norms_sqr and computed on the fly must agree bit for bit.
  std::vector<float> given(n);
  row_norms_sqr(n, d, x.data(), given.data());
  std::vector<int32_t> l1(n), l2(n);
  std::vector<float> d1(n), d2(n);
  const double o1 = assign_nearest(n, d, x.data(), nullptr, k, c.data(), Metric::kL2,
                                   AssignOutput{l1.data(), d1.data()}, 1);
  const double o2 = assign_nearest(n, d, x.data(), given.data(), k, c.data(), Metric::kL2,
                                   AssignOutput{l2.data(), d2.data()}, 1);
  EXPECT_EQ(l1, l2);
  EXPECT_EQ(0, std::memcmp(d1.data(), d2.data(), n * sizeof(float)));
  EXPECT_EQ(o1, o2);
}

TEST(Assign, TiesGoToTheSmallestIndex) {
  for (int64_t d : {4, 48}) {  // direct and GEMM kernels
    const int64_t k = 40;
    auto c = testing::random_matrix(5, k, d, 1.0);
    // Centroid 31 duplicates 3, centroid 35 duplicates 9.
    std::copy(c.begin() + 3 * d, c.begin() + 4 * d, c.begin() + 31 * d);
    std::copy(c.begin() + 9 * d, c.begin() + 10 * d, c.begin() + 35 * d);
    std::vector<float> x;
    for (int64_t j : {31, 3, 35, 9}) x.insert(x.end(), c.begin() + j * d, c.begin() + (j + 1) * d);
    for (Kernel kernel : {&assign_nearest_gemm, &assign_nearest_direct}) {
      for (Metric metric : {Metric::kL2, Metric::kInnerProduct}) {
        std::vector<int32_t> labels(4);
        kernel(4, d, x.data(), nullptr, k, c.data(), metric, AssignOutput{labels.data(), nullptr},
               1);
        if (metric == Metric::kL2) {
          EXPECT_EQ(labels, (std::vector<int32_t>{3, 3, 9, 9})) << d;
        }
        // Inner product: whichever centroid wins, a duplicate never beats its original.
        for (int32_t l : labels) EXPECT_TRUE(l != 31 && l != 35) << d << " " << l;
      }
    }
  }
}

TEST(Assign, BitIdenticalWhateverTheThreadCount) {
  for (Shape s : {Shape{5000, 700, 33}, Shape{5000, 200, 8}}) {
    const auto x = testing::gaussian_mixture(s.n, s.d, 50, 9);
    const auto c = testing::random_matrix(10, s.k, s.d, 4.0);
    std::vector<int32_t> labels1(s.n), labels3(s.n);
    std::vector<float> dist1(s.n), dist3(s.n);
    const double o1 = assign_nearest(s.n, s.d, x.data(), nullptr, s.k, c.data(), Metric::kL2,
                                     AssignOutput{labels1.data(), dist1.data()}, 1);
    const double o3 = assign_nearest(s.n, s.d, x.data(), nullptr, s.k, c.data(), Metric::kL2,
                                     AssignOutput{labels3.data(), dist3.data()}, 3);
    EXPECT_EQ(0, std::memcmp(labels1.data(), labels3.data(), s.n * sizeof(int32_t)));
    EXPECT_EQ(0, std::memcmp(dist1.data(), dist3.data(), s.n * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(&o1, &o3, sizeof o1));
  }
}

}  // namespace
}  // namespace ivftrain
