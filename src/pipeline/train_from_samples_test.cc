#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "io/vector_writer.h"
#include "ivftrain/distributed.h"
#include "ivftrain/model_dir.h"
#include "ivftrain/train.h"
#include "test_util.h"
#include "util/files.h"

namespace ivftrain {
namespace {

class TrainFromSamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sizes_ = {1500, 1, 700, 2600, 300, 1900, 45, 1100};
    for (size_t i = 0; i < sizes_.size(); ++i) {
      auto data = testing::gaussian_mixture(sizes_[i], 16, 6, 7 + i);
      if (i == 3) {  // a few non-finite rows
        data[5 * 16 + 2] = std::numeric_limits<float>::quiet_NaN();
        data[77 * 16] = std::numeric_limits<float>::infinity();
      }
      ASSERT_TRUE(write_vector_file(dir_.file("p" + std::to_string(i) + ".npy"), FileFormat::kNpy,
                                    sizes_[i], 16, data.data())
                      .ok());
    }
    auto ds = Dataset::open(dir_.path());
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    dataset_.emplace(std::move(*ds));
    params_.index_type = IndexType::kIvfPq;
    params_.ivf.num_partitions = 12;
    params_.ivf.sample_rate = 100;
    params_.pq.num_sub_vectors = 4;
    params_.pq.num_bits = 4;
    params_.pq.sample_rate = 150;
    params_.ivf.kmeans.max_iters = params_.pq.kmeans.max_iters = 8;
  }

  std::vector<SampleResult> sample_all(int workers) {
    auto tasks = create_sample_tasks(*dataset_, params_, workers);
    EXPECT_TRUE(tasks.ok()) << tasks.status().ToString();
    std::vector<SampleResult> results;
    for (const auto& t : *tasks) {
      auto r = execute_sample_task(*dataset_, t);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      results.push_back(std::move(*r));
    }
    return results;
  }

  testing::TempDir dir_;
  std::vector<int64_t> sizes_;
  std::optional<Dataset> dataset_;
  TrainParams params_;
};

bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_F(TrainFromSamplesTest, ModelsAreBitIdenticalForAnyWorkerCountAndLocal) {
  auto local = train_local(*dataset_, params_);
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(local->stats.sample_rows_planned, 2400);  // max(12 x 100, 150 x 16)
  EXPECT_GT(local->stats.rows_dropped_nonfinite + local->stats.sample_rows, 0);
  for (int workers : {2, 3, 5}) {
    auto models = train_from_samples(sample_all(workers), params_);
    ASSERT_TRUE(models.ok()) << models.status().ToString();
    EXPECT_TRUE(same_floats(models->ivf_centroids, local->ivf_centroids)) << workers;
    ASSERT_TRUE(models->pq.has_value());
    EXPECT_TRUE(same_floats(models->pq->centroids, local->pq->centroids)) << workers;
    EXPECT_EQ(models->stats.sample_rows, local->stats.sample_rows);
    EXPECT_EQ(models->stats.rows_dropped_nonfinite, local->stats.rows_dropped_nonfinite);
  }
}

TEST_F(TrainFromSamplesTest, RefusesResultsThatAreNotOneWholePlan) {
  auto expect_refused = [&](std::vector<SampleResult> results, const std::string& words) {
    auto m = train_from_samples(std::move(results), params_);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().message().find(words), std::string::npos) << m.status().message();
  };
  {  // a task missing
    auto r = sample_all(3);
    r.erase(r.begin() + 1);
    expect_refused(std::move(r), "tasks 1");
  }
  {  // a task given twice
    auto r = sample_all(3);
    r.push_back(r[2]);
    expect_refused(std::move(r), "worker 2 was given twice");
  }
  {  // a result from another plan
    auto r = sample_all(3);
    params_.seed = 999;
    auto other = sample_all(3);
    params_.seed = 42;
    r[1] = std::move(other[1]);
    expect_refused(std::move(r), "belongs to plan");
  }
  {  // other parameters
    auto r = sample_all(2);
    params_.ivf.kmeans.max_iters = 3;
    expect_refused(std::move(r), "other parameters");
    params_.ivf.kmeans.max_iters = 8;
  }
  expect_refused({}, "no sample results");
}

TEST_F(TrainFromSamplesTest, TooManyPartitionsForTheSampleIsAnError) {
  params_.index_type = IndexType::kIvfFlat;
  params_.ivf.num_partitions = 9000;
  params_.ivf.sample_rate = 1;
  auto m = train_local(*dataset_, params_);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("num_partitions 9000 is larger than"), std::string::npos);
}

TEST_F(TrainFromSamplesTest, ModelDirectoryIsWrittenAtomicallyAndReadBack) {
  params_.index_type = IndexType::kIvfSq;
  params_.distance_type = DistanceType::kCosine;
  auto m = train_local(*dataset_, params_);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE(m->sq.has_value());
  EXPECT_LE(m->sq->upper[0], 1.0f);
  EXPECT_GE(m->sq->lower[0], -1.0f);
  const std::string out = dir_.file("model");
  ASSERT_TRUE(write_model_dir(*m, out, false).ok());
  auto back = read_model_dir(out);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(same_floats(back->ivf_centroids, m->ivf_centroids));
  EXPECT_EQ(back->sq->lower, m->sq->lower);
  EXPECT_EQ(back->params.distance_type, DistanceType::kCosine);

  // An existing directory is refused and left as it was.
  const std::string before = testing::read_bytes(out + "/model.json");
  EXPECT_EQ(write_model_dir(*m, out, false).code(), Status::Code::kAlreadyExists);
  // A write failing midway leaves the old model whole and no temporary directory behind.
  set_write_failure_after_for_testing(2);
  EXPECT_EQ(write_model_dir(*m, out, true).code(), Status::Code::kIOError);
  set_write_failure_after_for_testing(0);
  EXPECT_EQ(testing::read_bytes(out + "/model.json"), before);
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    entries += e.path().filename().string().rfind(".model", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(entries, 0) << "a temporary directory was left behind";
  // A fresh model directory in a failed write does not appear at all.
  set_write_failure_after_for_testing(1);
  EXPECT_FALSE(write_model_dir(*m, dir_.file("model2"), false).ok());
  set_write_failure_after_for_testing(0);
  EXPECT_FALSE(std::filesystem::exists(dir_.file("model2")));
}

}  // namespace
}  // namespace ivftrain
