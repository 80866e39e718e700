#include <gtest/gtest.h>

#include <cstring>

#include "ivftrain/faiss_export.h"

namespace ivftrain {
namespace {

TrainedModels sq_model(float lo, float hi) {
  TrainedModels m;
  m.dim = 4;
  m.params.index_type = IndexType::kIvfSq;
  m.params.ivf.num_partitions = 2;
  m.ivf_centroids.assign(8, 1.0f);
  m.sq = SqBounds{SqBoundsMode::kGlobal, {lo}, {hi}};
  return m;
}

template <typename T>
T at(const std::string& bytes, size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

TEST(FaissExport, SqTrainedArrayPutsFaissCellMiddlesOnOurLevels) {
  auto bytes = faiss_index_bytes(sq_model(-1.0f, 1.0f));
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  EXPECT_EQ(bytes->substr(0, 4), "IwSq");
  EXPECT_EQ(at<int32_t>(*bytes, 4), 4);  // d
  // The trained array is the last vector before code_size, by_residual and the empty lists:
  // 2 floats, then size_t code_size, a bool, "ilar", nlist, code_size, "sprs", 0.
  const size_t tail = 8 + 1 + 4 + 8 + 8 + 4 + 8;
  const size_t trained = bytes->size() - tail - 2 * sizeof(float);
  EXPECT_EQ(at<uint64_t>(*bytes, trained - 8), 2u);
  const float vmin = at<float>(*bytes, trained), vdiff = at<float>(*bytes, trained + 4);
  EXPECT_FLOAT_EQ(vdiff, 2.0f);
  // FAISS decodes code c to vmin + (c + 0.5) vdiff / 255: c = 0 must give -1, c = 255 give 1.
  EXPECT_FLOAT_EQ(vmin + 0.5f * vdiff / 255, -1.0f);
  EXPECT_FLOAT_EQ(vmin + 255.5f * vdiff / 255, 1.0f);
  EXPECT_EQ(at<uint8_t>(*bytes, trained + 8 + 8), 0);  // by_residual false
  EXPECT_EQ(bytes->substr(bytes->size() - 32, 4), "ilar");
}

TEST(FaissExport, RefusesWhatFaissCannotHold) {
  auto empty = faiss_index_bytes(sq_model(1.0f, -1.0f));  // bounds that never saw data
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("FAISS cannot hold them"), std::string::npos);
  TrainedModels m = sq_model(0, 1);
  m.ivf_centroids.pop_back();
  ASSERT_FALSE(faiss_index_bytes(m).ok());
}

TEST(FaissExport, PqByResidualExceptUnderDot) {
  for (auto distance : {DistanceType::kL2, DistanceType::kCosine, DistanceType::kDot}) {
    TrainedModels m;
    m.dim = 4;
    m.params.index_type = IndexType::kIvfPq;
    m.params.distance_type = distance;
    m.params.ivf.num_partitions = 2;
    m.ivf_centroids.assign(8, 1.0f);
    m.pq = PqCodebook{4, 2, 4, std::vector<float>(2 * 16 * 2, 0.5f), {}};
    auto bytes = faiss_index_bytes(m);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(bytes->substr(0, 4), "IwPQ");
    // metric_type after d, ntotal and two int64 dummies and is_trained: 1 (l2) or 0 (inner
    // product).
    EXPECT_EQ(at<int32_t>(*bytes, 4 + 4 + 24 + 1), distance == DistanceType::kDot ? 0 : 1);
    // by_residual follows the IVF header: ... quantizer (IxF2 + header + 8 floats), direct map.
    const size_t header = 4 + 4 + 24 + 1 + 4 + 16;
    const size_t quantizer = 4 + 4 + 24 + 1 + 4 + 8 + 8 * 4;
    EXPECT_EQ(at<uint8_t>(*bytes, header + quantizer + 9), distance == DistanceType::kDot ? 0 : 1);
    EXPECT_EQ(at<uint64_t>(*bytes, header + quantizer + 10), 1u);  // code_size: 2 x 4 bits
  }
}

}  // namespace
}  // namespace ivftrain
