#include "train/params_json.h"

#include <gtest/gtest.h>

namespace ivftrain {
namespace {

TrainParams pq_params() {
  TrainParams p;
  p.index_type = IndexType::kIvfPq;
  p.ivf.num_partitions = 64;
  p.ivf.kmeans.max_iters = 7;
  p.ivf.kmeans.init = KMeansInit::kKMeansPlusPlus;
  p.pq.num_sub_vectors = 8;
  p.pq.kmeans.tolerance = 0;
  return p;
}

TEST(ParamsJson, RoundTripsTheNestedKMeansParameters) {
  const TrainParams p = pq_params();
  auto back = params_from_json(params_to_json(p), "test.json");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->ivf.kmeans.max_iters, 7);
  EXPECT_EQ(back->ivf.kmeans.init, KMeansInit::kKMeansPlusPlus);
  EXPECT_EQ(back->pq.num_sub_vectors, 8);
  EXPECT_EQ(back->pq.kmeans.tolerance, 0);
  EXPECT_EQ(params_to_json(*back).dump(), params_to_json(p).dump());
}

TEST(ParamsJson, RoundTripsKMeansParallelInit) {
  TrainParams p = pq_params();
  p.ivf.kmeans.init = KMeansInit::kKMeansParallel;
  const auto j = params_to_json(p);
  EXPECT_EQ(j["ivf"]["init"], "kmeans-parallel");
  auto back = params_from_json(j, "test.json");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->ivf.kmeans.init, KMeansInit::kKMeansParallel);
  EXPECT_NE(params_fingerprint(p), params_fingerprint(pq_params()));
}

TEST(ParamsJson, PqInitIsWrittenOnlyWhenNotTheDefault) {
  TrainParams p = pq_params();
  EXPECT_FALSE(params_to_json(p)["pq"].contains("init"));
  p.pq.kmeans.init = KMeansInit::kKMeansPlusPlus;
  const auto j = params_to_json(p);
  ASSERT_TRUE(j["pq"].contains("init"));
  auto back = params_from_json(j, "test.json");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->pq.kmeans.init, KMeansInit::kKMeansPlusPlus);
  // It shapes the model, so the plan's fingerprint sees it.
  EXPECT_NE(params_fingerprint(p), params_fingerprint(pq_params()));
}

TEST(ParamsJson, RelocateIsWrittenOnlyWhenOffForIvfAndForPq) {
  TrainParams p = pq_params();
  EXPECT_FALSE(params_to_json(p)["ivf"].contains("relocate"));
  p.ivf.kmeans.relocate = p.pq.kmeans.relocate = false;
  auto j = params_to_json(p);
  ASSERT_EQ(j["ivf"]["relocate"], false);
  auto back = params_from_json(j, "test.json");
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->ivf.kmeans.relocate);
  EXPECT_FALSE(back->pq.kmeans.relocate);
  // Each is its own: a C++ caller may relocate in IVF and not in PQ.
  p.ivf.kmeans.relocate = true;
  back = params_from_json(params_to_json(p), "test.json");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->ivf.kmeans.relocate);
  EXPECT_FALSE(back->pq.kmeans.relocate);
  p.ivf.kmeans.relocate = false;
  EXPECT_NE(params_fingerprint(p), params_fingerprint(pq_params()));
  j["ivf"]["relocate"] = "no";
  back = params_from_json(j, "plan.json");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().message(), "plan.json: 'ivf.relocate' must be true or false");
}

TEST(ParamsJson, InvalidParametersAreRefusedNamingTheFile) {
  TrainParams p = pq_params();
  auto j = params_to_json(p);
  j["ivf"]["max_iters"] = 0;
  auto back = params_from_json(j, "plan.json");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().message(), "plan.json: max_iters must be at least 1 (got 0)");
}

}  // namespace
}  // namespace ivftrain
