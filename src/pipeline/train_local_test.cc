// Data-dependent outcomes of local training: rows that cannot be used, degenerate samples,
// thread-count determinism.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "io/vector_writer.h"
#include "ivftrain/train.h"
#include "test_util.h"

namespace ivftrain {
namespace {

class TrainLocalTest : public ::testing::Test {
 protected:
  Dataset open(std::vector<float> data, int64_t dim, int64_t rows_per_fragment = 1 << 20) {
    const int64_t n = static_cast<int64_t>(data.size()) / dim;
    const std::string path = dir_.file("d" + std::to_string(files_++) + ".npy");
    EXPECT_TRUE(write_vector_file(path, FileFormat::kNpy, n, dim, data.data()).ok());
    DatasetOptions o;
    o.rows_per_fragment = rows_per_fragment;
    auto ds = Dataset::open(path, o);
    EXPECT_TRUE(ds.ok()) << ds.status().ToString();
    return std::move(*ds);
  }
  testing::TempDir dir_;
  int files_ = 0;
};

TrainParams flat(int64_t k) {
  TrainParams p;
  p.index_type = IndexType::kIvfFlat;
  p.ivf.num_partitions = k;
  p.ivf.kmeans.max_iters = 10;
  return p;
}

TEST_F(TrainLocalTest, ZeroVectorsUnderCosineAreDroppedAndCountedNeverNaN) {
  auto data = testing::gaussian_mixture(2000, 8, 4, 1);
  for (int r : {3, 50, 999, 1500}) std::fill_n(data.begin() + r * 8, 8, 0.0f);
  const Dataset ds = open(data, 8);
  TrainParams p = flat(8);
  p.distance_type = DistanceType::kCosine;
  p.index_type = IndexType::kIvfSq;
  auto m = train_local(ds, p);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->stats.rows_dropped_zero_norm, 4);
  EXPECT_EQ(m->stats.sample_rows, 1996);
  for (float v : m->ivf_centroids) ASSERT_TRUE(std::isfinite(v));
  EXPECT_TRUE(std::isfinite(m->sq->lower[0]) && std::isfinite(m->sq->upper[0]));
  // Under l2 the same zero rows are ordinary rows.
  p.distance_type = DistanceType::kL2;
  auto l2 = train_local(ds, p);
  ASSERT_TRUE(l2.ok());
  EXPECT_EQ(l2->stats.rows_dropped_zero_norm, 0);
}

TEST_F(TrainLocalTest, EveryRowNonFiniteIsAClearError) {
  std::vector<float> data(300 * 4, std::numeric_limits<float>::quiet_NaN());
  const Dataset ds = open(data, 4, 100);
  auto m = train_local(ds, flat(2));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("all 300 rows read were dropped"), std::string::npos)
      << m.status().message();
}

TEST_F(TrainLocalTest, OneNonFiniteFragmentIsDroppedTheRestTrains) {
  auto data = testing::gaussian_mixture(300, 4, 2, 3);
  for (int i = 100 * 4; i < 200 * 4; ++i) data[i] = std::numeric_limits<float>::infinity();
  const Dataset ds = open(data, 4, 100);  // fragment 1 is all Inf
  auto m = train_local(ds, flat(2));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->stats.rows_dropped_nonfinite, 100);
  EXPECT_EQ(m->stats.sample_rows, 200);
}

TEST_F(TrainLocalTest, FewerDistinctPointsThanPartitionsIsAnError) {
  std::vector<float> data;
  for (int i = 0; i < 400; ++i) {
    const float v = static_cast<float>(i % 3);  // three distinct rows
    data.insert(data.end(), {v, -v, 2 * v});
  }
  const Dataset ds = open(data, 3);
  auto m = train_local(ds, flat(5));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("only 3 distinct vectors"), std::string::npos)
      << m.status().message();
  EXPECT_TRUE(train_local(ds, flat(3)).ok());
}

TEST_F(TrainLocalTest, ModelsAreBitIdenticalAtOneAndTwoThreads) {
  const Dataset ds = open(testing::gaussian_mixture(6000, 16, 10, 5), 16, 1000);
  TrainParams p;
  p.index_type = IndexType::kIvfPq;
  p.ivf.num_partitions = 20;
  p.pq.num_sub_vectors = 4;
  p.pq.num_bits = 4;
  p.num_threads = 1;
  auto one = train_local(ds, p);
  p.num_threads = 2;
  auto two = train_local(ds, p);
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_EQ(one->ivf_centroids.size(), two->ivf_centroids.size());
  EXPECT_EQ(0, std::memcmp(one->ivf_centroids.data(), two->ivf_centroids.data(),
                           one->ivf_centroids.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(one->pq->centroids.data(), two->pq->centroids.data(),
                           one->pq->centroids.size() * sizeof(float)));
  // And a different seed gives a different model.
  p.seed = 43;
  auto other = train_local(ds, p);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(0, std::memcmp(one->ivf_centroids.data(), other->ivf_centroids.data(),
                           one->ivf_centroids.size() * sizeof(float)));
}

TEST_F(TrainLocalTest, DotDistanceTrainsPqWithoutResiduals) {
  const Dataset ds = open(testing::gaussian_mixture(5000, 8, 6, 9), 8);
  TrainParams p;
  p.index_type = IndexType::kIvfPq;
  p.distance_type = DistanceType::kDot;
  p.ivf.num_partitions = 6;
  p.pq.num_sub_vectors = 2;
  p.pq.num_bits = 4;
  auto m = train_local(ds, p);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // Without residuals, the codebook spans the data itself: its centroids' spread is that of
  // the mixture (centres of standard deviation 4), far wider than residuals (unit variance).
  double spread = 0;
  for (float v : m->pq->centroids) spread += v * v;
  spread /= static_cast<double>(m->pq->centroids.size());
  EXPECT_GT(spread, 4.0);
  p.distance_type = DistanceType::kL2;
  auto l2 = train_local(ds, p);
  ASSERT_TRUE(l2.ok());
  double residual_spread = 0;
  for (float v : l2->pq->centroids) residual_spread += v * v;
  residual_spread /= static_cast<double>(l2->pq->centroids.size());
  EXPECT_LT(residual_spread, spread / 2);
}

}  // namespace
}  // namespace ivftrain
