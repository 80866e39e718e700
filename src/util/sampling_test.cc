#include "util/sampling.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace ivftrain {
namespace {

std::vector<int64_t> choose(uint64_t seed, int64_t n, int64_t count) {
  Rng rng(seed);
  return choose_sorted(rng, n, count);
}

// Sorted, distinct, inside [0, n) and exactly `count` of them.
void expect_valid_choice(const std::vector<int64_t>& v, int64_t n, int64_t count) {
  ASSERT_EQ(static_cast<int64_t>(v.size()), count);
  for (size_t i = 0; i < v.size(); ++i) {
    ASSERT_GE(v[i], 0);
    ASSERT_LT(v[i], n);
    if (i > 0) {
      ASSERT_LT(v[i - 1], v[i]) << "not sorted or not distinct at " << i;
    }
  }
}

// Both algorithms: Floyd's when count * 8 < n, selection sampling otherwise.
TEST(ChooseSorted, SortedDistinctExactCount) {
  for (int64_t n : {1, 2, 10, 100, 1000, 100000}) {
    for (int64_t count : {int64_t{0}, int64_t{1}, n / 9, n / 8, n / 2, n - 1, n}) {
      if (count < 0) continue;
      SCOPED_TRACE(::testing::Message() << "n " << n << ", count " << count);
      expect_valid_choice(choose(n * 31 + count, n, count), n, count);
    }
  }
}

TEST(ChooseSorted, AllOfThemWhenCountIsN) {
  const std::vector<int64_t> v = choose(1, 50, 50);
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(v[static_cast<size_t>(i)], i);
}

TEST(ChooseSorted, TheSeedDecides) {
  for (int64_t count : {5, 600}) {  // Floyd's, then selection sampling
    EXPECT_EQ(choose(7, 1000, count), choose(7, 1000, count));
    EXPECT_NE(choose(7, 1000, count), choose(8, 1000, count));
  }
  // Pinned: the rows a sample holds come from these choices (the determinism contract).
  EXPECT_EQ(choose(5, 100, 5), (std::vector<int64_t>{27, 51, 58, 63, 81}));
  EXPECT_EQ(choose(5, 10, 6), (std::vector<int64_t>{0, 4, 5, 6, 8, 9}));
}

// The same generator state gives the same choice, and a choice advances the state.
TEST(ChooseSorted, FollowsTheGeneratorState) {
  Rng a(3), b(3);
  const auto first = choose_sorted(a, 500, 20);
  EXPECT_EQ(first, choose_sorted(b, 500, 20));
  EXPECT_NE(first, choose_sorted(a, 500, 20));
}

// Uniform: over many seeds every value is chosen about count / n of the time, in both
// algorithms (a bias toward either end would show here).
TEST(ChooseSorted, EveryValueEquallyLikely) {
  for (int64_t count : {2, 10}) {  // n = 20: Floyd's for 2, selection sampling for 10
    const int64_t n = 20, runs = 20000;
    std::vector<int> hits(static_cast<size_t>(n), 0);
    for (int64_t s = 0; s < runs; ++s) {
      for (int64_t x : choose(static_cast<uint64_t>(s), n, count)) ++hits[static_cast<size_t>(x)];
    }
    const double expected = static_cast<double>(runs * count) / n;
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(hits[static_cast<size_t>(i)], expected, 0.06 * expected)
          << "value " << i << " with count " << count;
    }
  }
}

}  // namespace
}  // namespace ivftrain
