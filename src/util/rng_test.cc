#include "util/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

namespace ivftrain {
namespace {

// The numbers are pinned: every sample, subset and k-means start in a model comes from them, so a
// change here changes the models ivftrain writes (the determinism contract) and must be noticed.
TEST(DeriveSeed, PinnedValues) {
  EXPECT_EQ(derive_seed(42, kSeedFragmentRows, 0), 0x3b3335584873a7b9ull);
  EXPECT_EQ(derive_seed(42, kSeedFragmentRows, 7), 0x984ddc77985bad7dull);
  EXPECT_EQ(derive_seed(0, kSeedPqKMeans, 3), 0x6ce9add7610f1305ull);
}

TEST(DeriveSeed, SameInputsSameSeed) {
  for (uint64_t stream : {0ull, 1ull, 1000ull, ~0ull}) {
    EXPECT_EQ(derive_seed(7, kSeedIvfKMeans, stream), derive_seed(7, kSeedIvfKMeans, stream));
  }
}

// Seeds, purposes and streams each change the result: no two of these collide.
TEST(DeriveSeed, EveryInputMatters) {
  std::set<uint64_t> seen;
  int made = 0;
  for (uint64_t seed : {0ull, 1ull, 42ull}) {
    for (uint64_t purpose : {kSeedFragmentRows, kSeedQuotaRounding, kSeedIvfSubset, kSeedPqSubset,
                             kSeedIvfKMeans, kSeedPqKMeans, kSeedCoarse, kSeedBalanceCut}) {
      for (uint64_t stream = 0; stream < 50; ++stream) {
        seen.insert(derive_seed(seed, purpose, stream));
        ++made;
      }
    }
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(made));
}

TEST(Rng, PinnedSequence) {
  Rng rng(1);
  EXPECT_EQ(rng.next(), 0xb3f2af6d0fc710c5ull);
  EXPECT_EQ(rng.next(), 0x853b559647364ceaull);
  EXPECT_EQ(rng.next(), 0x92f89756082a4514ull);
}

TEST(Rng, SameSeedSameNumbers) {
  Rng a(123), b(123), c(124);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, UniformStaysBelowItsBoundAndCoversIt) {
  Rng rng(9);
  for (uint64_t bound : {1ull, 2ull, 3ull, 7ull, 1000ull, (1ull << 63) + 1}) {
    for (int i = 0; i < 1000; ++i) EXPECT_LT(rng.uniform(bound), bound);
  }
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 60000; ++i) ++counts[rng.uniform(6)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);  // about 5 standard deviations
}

TEST(Rng, Uniform01IsInTheUnitInterval) {
  Rng rng(3);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = rng.uniform01();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(Rng, NormalHasMeanZeroAndVarianceOne) {
  Rng rng(11);
  double sum = 0, sum_sq = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal();
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
    sum_sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.05);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.05);
}

}  // namespace
}  // namespace ivftrain
