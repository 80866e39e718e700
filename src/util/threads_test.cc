#include "util/threads.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace ivftrain {
namespace {

TEST(Threads, ClampThreads) {
  EXPECT_EQ(clamp_threads(4, 10), 4);
  EXPECT_EQ(clamp_threads(4, 3), 3);                      // no more threads than jobs
  EXPECT_EQ(clamp_threads(4, 0), 1);                      // at least one
  EXPECT_EQ(clamp_threads(8, 100, Work{3000, 1000}), 3);  // no more than the work justifies
  EXPECT_EQ(clamp_threads(8, 100, Work{10, 1000}), 1);
  EXPECT_GE(clamp_threads(0, 1000), 1);  // 0: all cores
}

TEST(Threads, BlocksCoverEveryItemOnce) {
  for (int64_t n : {0, 1, 99, 100, 101, 1000}) {
    std::vector<int> seen(static_cast<size_t>(n), 0);
    std::vector<int64_t> sizes(static_cast<size_t>(num_blocks(n, 100)), -1);
    parallel_blocks(n, 100, 3, Work{}, [&](int64_t b, int64_t begin, int64_t end) {
      EXPECT_EQ(begin, b * 100);
      sizes[static_cast<size_t>(b)] = end - begin;
      for (int64_t i = begin; i < end; ++i) ++seen[static_cast<size_t>(i)];
    });
    for (int v : seen) EXPECT_EQ(v, 1) << n;
    for (int64_t b = 0; b < static_cast<int64_t>(sizes.size()); ++b) {
      EXPECT_EQ(sizes[b], std::min<int64_t>(100, n - b * 100)) << n;
    }
  }
}

TEST(Threads, SumIsTheSameBitsWhateverTheThreadCount) {
  // Values of very different magnitudes: any other order of the additions changes the bits.
  const int64_t n = 100000;
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = std::ldexp(1.0 + i % 7, static_cast<int>(i % 61) - 30);
  auto sum_with = [&](int threads) {
    return parallel_blocks(n, 333, threads, Work{}, [&](int64_t, int64_t begin, int64_t end) {
      double s = 0;
      for (int64_t i = begin; i < end; ++i) s += v[i];
      return s;
    });
  };
  double expected = 0;  // block sums added in block order, by hand
  for (int64_t begin = 0; begin < n; begin += 333) {
    double s = 0;
    for (int64_t i = begin; i < std::min(n, begin + 333); ++i) s += v[i];
    expected += s;
  }
  for (int threads : {1, 2, 3, 8}) {
    const double got = sum_with(threads);
    EXPECT_EQ(0, std::memcmp(&got, &expected, sizeof got)) << threads;
  }
}

TEST(Threads, StateIsPerThreadAndReused) {
  // Each thread makes its state once and keeps it across its blocks.
  std::vector<int> made(1, 0);
  const double blocks_seen = parallel_blocks(
      1000, 10, 2, Work{},
      [&] {
#pragma omp critical
        ++made[0];
        return std::vector<int>(1, 0);
      },
      [](std::vector<int>& state, int64_t, int64_t, int64_t) {
        ++state[0];
        return 1.0;
      });
  EXPECT_EQ(blocks_seen, 100);
  EXPECT_GE(made[0], 1);
  EXPECT_LE(made[0], 2);
}

}  // namespace
}  // namespace ivftrain
