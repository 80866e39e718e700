#include "linalg/gemm_tiles.h"

#include <cblas.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "linalg/assign.h"
#include "linalg/distances.h"
#include "test_util.h"

namespace ivftrain {
namespace {

// A selector that records every score the tile loop hands out, and how often.
struct RecordingSelector {
  int64_t k;
  const int64_t* rows;         // null: contiguous
  std::vector<float>* scores;  // count x k
  std::vector<int>* visits;    // count x k

  struct State {
    int64_t begin = 0;
  };
  State make_state() const { return State{}; }
  void start(State& s, int64_t begin, int64_t) const { s.begin = begin; }
  void select(State& s, int64_t rows_in_block, const tiles::Tile& tile) const {
    EXPECT_EQ(tile.base % tiles::kCentroidTile, 0);
    for (int64_t r = 0; r < rows_in_block; ++r) {
      for (int64_t j = 0; j < tile.size; ++j) {
        const int64_t at = (s.begin + r) * k + tile.base + j;
        (*scores)[at] = tile.score(r, j);
        ++(*visits)[at];
      }
    }
  }
  double finish(State&, int64_t begin, int64_t end, const float*) const {
    return static_cast<double>(end - begin);
  }
};

void check_scores(Metric metric, bool gathered) {
  const int64_t n = 700, k = 1100, d = 20;  // several row blocks and centroid tiles
  SCOPED_TRACE(::testing::Message()
               << "ip=" << (metric == Metric::kInnerProduct) << " gathered=" << gathered);
  const auto x = testing::random_matrix(3, n, d, 1.0), c = testing::random_matrix(4, k, d, 1.0);
  std::vector<int64_t> rows;
  for (int64_t i = n - 1; i >= 0; i -= 3) rows.push_back(i);  // any order
  const int64_t count = gathered ? static_cast<int64_t>(rows.size()) : n;
  std::vector<float> scores(static_cast<size_t>(count * k));
  std::vector<int> visits(static_cast<size_t>(count * k), 0);
  const RecordingSelector sel{k, gathered ? rows.data() : nullptr, &scores, &visits};
  const double blocks_rows =
      tiles::run_tiles(metric, tiles::RowSource{d, x.data(), gathered ? rows.data() : nullptr},
                       count, 256, k, c.data(), sel, 2);
  EXPECT_EQ(blocks_rows, static_cast<double>(count));
  for (int64_t r = 0; r < count; ++r) {
    const float* xi = x.data() + (gathered ? rows[r] : r) * d;
    for (int64_t j = 0; j < k; ++j) {
      ASSERT_EQ(visits[r * k + j], 1);
      const float* cj = c.data() + j * d;
      // bias + alpha x.c: ||c||^2 - 2 x.c, or -x.c.
      const double expected = metric == Metric::kL2
                                  ? norm_sqr_ref(cj, d) - 2.0 * inner_product_ref(xi, cj, d)
                                  : -inner_product_ref(xi, cj, d);
      EXPECT_NEAR(scores[r * k + j], expected, 1e-4) << r << " " << j;
    }
  }
}

TEST(GemmTiles, EveryScoreIsBiasPlusAlphaDotOnce) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct}) {
    check_scores(metric, false);
    check_scores(metric, true);
  }
}

// More OpenBLAS threads change SGEMM's bits (0.3.21), so the kernels run it single-threaded
// whatever the host set, and give the host its setting back.
TEST(GemmTiles, HostBlasThreadsChangeNothing) {
  const int before = openblas_get_num_threads();
  const int64_t n = 3000, k = 1100, d = 48;
  const auto x = testing::gaussian_mixture(n, d, 40, 5);
  const auto c = testing::random_matrix(6, k, d, 2.0);
  std::vector<int32_t> l1(n), l2(n);
  std::vector<float> d1(n), d2(n);
  openblas_set_num_threads(1);
  const double o1 = assign_nearest_gemm(n, d, x.data(), nullptr, k, c.data(), Metric::kL2,
                                        AssignOutput{l1.data(), d1.data()}, 2);
  EXPECT_EQ(openblas_get_num_threads(), 1);
  openblas_set_num_threads(2);
  const double o2 = assign_nearest_gemm(n, d, x.data(), nullptr, k, c.data(), Metric::kL2,
                                        AssignOutput{l2.data(), d2.data()}, 1);
  EXPECT_EQ(openblas_get_num_threads(), 2);  // the host's setting, given back
  openblas_set_num_threads(before);
  EXPECT_EQ(l1, l2);
  EXPECT_EQ(0, std::memcmp(d1.data(), d2.data(), n * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(&o1, &o2, sizeof o1));
}

TEST(GemmTiles, SingleThreadedBlasNests) {
  const int before = openblas_get_num_threads();
  openblas_set_num_threads(2);
  {
    SingleThreadedBlas outer;
    EXPECT_EQ(openblas_get_num_threads(), 1);
    { SingleThreadedBlas inner; }
    EXPECT_EQ(openblas_get_num_threads(), 1);  // the inner one does not give it back early
  }
  EXPECT_EQ(openblas_get_num_threads(), 2);
  openblas_set_num_threads(before);
}

}  // namespace
}  // namespace ivftrain
