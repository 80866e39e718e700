// Values that float32 training cannot take: refused before training, never a model that
// `inspect` would refuse.
#include "train/train_on_sample.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "io/vector_writer.h"
#include "ivftrain/train.h"
#include "test_util.h"

namespace ivftrain {
namespace {

TrainParams flat(int64_t k, IndexType type = IndexType::kIvfFlat) {
  TrainParams p;
  p.index_type = type;
  p.ivf.num_partitions = k;
  p.ivf.kmeans.max_iters = 5;
  p.pq.num_sub_vectors = 2;
  p.pq.num_bits = 4;
  return p;
}

Result<TrainedModels> train_scaled(float scale, IndexType type) {
  testing::TempDir dir;
  auto data = testing::gaussian_mixture(2000, 8, 4, 5);
  for (float& v : data) v *= scale;
  const std::string path = dir.file("d.npy");
  EXPECT_TRUE(write_vector_file(path, FileFormat::kNpy, 2000, 8, data.data()).ok());
  auto ds = Dataset::open(path);
  EXPECT_TRUE(ds.ok());
  return train_local(*ds, flat(4, type));
}

// Before: exit 0 with an infinite objective ("ivf_objective": null in model.json).
TEST(HugeValues, AreRefusedWithASentence) {
  for (const IndexType type : {IndexType::kIvfFlat, IndexType::kIvfPq, IndexType::kIvfSq}) {
    auto m = train_scaled(1e19f, type);
    ASSERT_FALSE(m.ok()) << "index type " << static_cast<int>(type);
    EXPECT_EQ(m.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(m.status().message().find("the sample holds values too large to train on in float32"),
              std::string::npos)
        << m.status().message();
  }
}

TEST(HugeValues, LargeButSafeValuesTrainToFiniteModels) {
  // Norms around 1e15 are far beyond any embedding yet safe in float32 distances.
  auto m = train_scaled(1e14f, IndexType::kIvfPq);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(std::isfinite(m->stats.ivf_objective));
  EXPECT_TRUE(std::isfinite(m->stats.pq_reconstruction_mse));
  for (const float v : m->ivf_centroids) ASSERT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace ivftrain
