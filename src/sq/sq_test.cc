#include "ivftrain/sq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "test_util.h"
#include "util/rng.h"

namespace ivftrain {
namespace {

std::vector<float> uniform_rows(int64_t n, int64_t dim, float lo, float hi, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(n * dim);
  for (auto& v : x) v = lo + static_cast<float>(rng.uniform01()) * (hi - lo);
  return x;
}

TEST(SqBounds, EmptyIsTheIdentityOfMerge) {
  SqBounds e = SqBounds::empty(SqBoundsMode::kGlobal, 4);
  EXPECT_FALSE(e.has_data());
  ASSERT_EQ(e.lower.size(), 1u);
  EXPECT_EQ(e.lower[0], std::numeric_limits<float>::infinity());
  EXPECT_EQ(e.upper[0], -std::numeric_limits<float>::infinity());
  const std::vector<float> x = {1, -2, 3, 0.5f};
  SqBounds b = SqBounds::empty(SqBoundsMode::kGlobal, 4);
  b.update(1, 4, x.data());
  EXPECT_TRUE(b.has_data());
  SqBounds merged = b;
  merged.merge(e);
  EXPECT_EQ(merged.lower, b.lower);
  EXPECT_EQ(merged.upper, b.upper);
  SqBounds other_way = e;
  other_way.merge(b);
  EXPECT_EQ(other_way.lower, b.lower);
  EXPECT_EQ(other_way.upper, b.upper);
  EXPECT_EQ(b.lower[0], -2.0f);
  EXPECT_EQ(b.upper[0], 3.0f);
}

TEST(SqBounds, MergeOfPartsEqualsUpdateOfAllInAnyOrder) {
  const int64_t dim = 6;
  const auto a = testing::gaussian_mixture(50, dim, 3, 1);
  const auto b = testing::gaussian_mixture(70, dim, 3, 2);
  const auto c = testing::gaussian_mixture(30, dim, 3, 3);
  for (SqBoundsMode mode : {SqBoundsMode::kGlobal, SqBoundsMode::kPerDimension}) {
    SqBounds all = SqBounds::empty(mode, dim);
    all.update(50, dim, a.data());
    all.update(70, dim, b.data());
    all.update(30, dim, c.data());
    SqBounds pa = SqBounds::empty(mode, dim), pb = pa, pc = pa;
    pa.update(50, dim, a.data());
    pb.update(70, dim, b.data());
    pc.update(30, dim, c.data());
    SqBounds abc = pa, cba = pc;
    abc.merge(pb);
    abc.merge(pc);
    cba.merge(pb);
    cba.merge(pa);
    EXPECT_EQ(abc.lower, all.lower);
    EXPECT_EQ(abc.upper, all.upper);
    EXPECT_EQ(cba.lower, all.lower);
    EXPECT_EQ(cba.upper, all.upper);
  }
}

TEST(SqBounds, GlobalIsTheExtremeOfPerDimension) {
  const int64_t n = 100, dim = 5;
  auto x = testing::gaussian_mixture(n, dim, 2, 4);
  for (int64_t i = 0; i < n; ++i) x[i * dim + 2] += 100;  // dimension 2 sits far higher
  SqBounds global = SqBounds::empty(SqBoundsMode::kGlobal, dim);
  SqBounds per_dim = SqBounds::empty(SqBoundsMode::kPerDimension, dim);
  global.update(n, dim, x.data());
  per_dim.update(n, dim, x.data());
  ASSERT_EQ(per_dim.lower.size(), static_cast<size_t>(dim));
  for (int64_t j = 0; j < dim; ++j) {
    float lo = x[j], hi = x[j];
    for (int64_t i = 0; i < n; ++i) {
      lo = std::min(lo, x[i * dim + j]);
      hi = std::max(hi, x[i * dim + j]);
    }
    EXPECT_EQ(per_dim.lower[j], lo);
    EXPECT_EQ(per_dim.upper[j], hi);
  }
  EXPECT_EQ(global.lower[0], *std::min_element(per_dim.lower.begin(), per_dim.lower.end()));
  EXPECT_EQ(global.upper[0], *std::max_element(per_dim.upper.begin(), per_dim.upper.end()));
  // One dimension far off wastes the global range on the others: per-dimension bounds win.
  EXPECT_LT(sq_reconstruction_error(per_dim, 8, n, dim, x.data()),
            0.1 * sq_reconstruction_error(global, 8, n, dim, x.data()));
}

TEST(SqReconstruction, ErrorIsAboutStepSquaredOverTwelvePerDimension) {
  const int64_t n = 20000, dim = 8;
  const auto x = uniform_rows(n, dim, -3.0f, 5.0f, 9);
  SqBounds b = SqBounds::empty(SqBoundsMode::kGlobal, dim);
  b.update(n, dim, x.data());
  for (int bits : {4, 8}) {
    const double step = (b.upper[0] - b.lower[0]) / ((1 << bits) - 1);
    const double expected = dim * step * step / 12;  // uniform rounding error
    const double err = sq_reconstruction_error(b, bits, n, dim, x.data());
    EXPECT_GT(err, 0.8 * expected) << bits;
    EXPECT_LT(err, 1.2 * expected) << bits;
  }
}

TEST(SqReconstruction, ValuesOnTheGridAreExactAndOutsideAreClamped) {
  SqBounds b;
  b.mode = SqBoundsMode::kGlobal;
  b.lower = {0.0f};
  b.upper = {15.0f};
  const std::vector<float> grid = {0, 1, 7, 15};
  EXPECT_EQ(sq_reconstruction_error(b, 4, 1, 4, grid.data()), 0.0);
  const std::vector<float> outside = {-2, 17};  // clamp to 0 and 15: errors 4 + 4
  EXPECT_NEAR(sq_reconstruction_error(b, 4, 1, 2, outside.data()), 8.0, 1e-9);
}

TEST(SqReconstruction, ConstantDataHasNoError) {
  const std::vector<float> x(40, 2.5f);
  SqBounds b = SqBounds::empty(SqBoundsMode::kPerDimension, 4);
  b.update(10, 4, x.data());
  EXPECT_EQ(b.lower, b.upper);
  EXPECT_EQ(sq_reconstruction_error(b, 8, 10, 4, x.data()), 0.0);
}

}  // namespace
}  // namespace ivftrain
