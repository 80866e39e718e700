#include "kmeans/exact_sum.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "util/rng.h"

namespace ivftrain {
namespace {

TEST(ExactSum, CancellationLosesNothing) {
  // In double, 1e30 + 1 - 1e30 is 0; the exact sum keeps the 1.
  ExactSum s;
  s.add(1e30f);
  s.add(1.0f);
  s.add(-1e30f);
  EXPECT_EQ(s.value(), 1.0);
  // Subnormals count too.
  ExactSum t;
  t.add(std::numeric_limits<float>::denorm_min());
  t.add(3.0f);
  t.add(-3.0f);
  EXPECT_EQ(t.value(), static_cast<double>(std::numeric_limits<float>::denorm_min()));
}

TEST(ExactSum, AnyOrderAndAnySplitGiveTheSameBits) {
  Rng rng(3);
  std::vector<float> v(5000);
  for (auto& x : v) {
    const double mag = std::pow(2.0, -60.0 + 120.0 * rng.uniform01());
    x = static_cast<float>((rng.uniform(2) ? -1 : 1) * mag);
  }
  ExactSum all;
  all.add(v.data(), static_cast<int64_t>(v.size()));
  const uint64_t want = std::bit_cast<uint64_t>(all.value());
  for (int trial = 0; trial < 5; ++trial) {
    for (size_t i = v.size() - 1; i > 0; --i) std::swap(v[i], v[rng.uniform(i + 1)]);
    const int parts = 2 + trial;
    std::vector<ExactSum> shard(static_cast<size_t>(parts));
    for (const float x : v) shard[rng.uniform(parts)].add(x);
    ExactSum merged;
    for (int p = parts - 1; p >= 0; --p) merged.merge(shard[p]);
    EXPECT_EQ(merged.bins, all.bins);
    EXPECT_EQ(std::bit_cast<uint64_t>(merged.value()), want);
  }
  // Close to the double sum (the exact sum rounded a few times).
  double plain = 0;
  for (const float x : v) plain += x;
  EXPECT_NEAR(all.value(), plain, 1e-9 * std::abs(plain) + 1e-12);
}

TEST(ExactSum, InfinitiesAndNanAsIeeeAdditionGivesThem) {
  const float inf = std::numeric_limits<float>::infinity();
  ExactSum a;
  a.add(1.0f);
  a.add(inf);
  EXPECT_EQ(a.value(), std::numeric_limits<double>::infinity());
  a.add(-inf);
  EXPECT_TRUE(std::isnan(a.value()));
  ExactSum b;
  b.add(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(b.value()));
}

}  // namespace
}  // namespace ivftrain
