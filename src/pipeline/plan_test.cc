#include "pipeline/plan.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>

#include "io/vector_writer.h"
#include "ivftrain/dataset.h"
#include "test_util.h"

namespace ivftrain {
namespace {

TEST(AllocateQuotas, SumsExactlyAndStaysWithinOneOfProportional) {
  const std::vector<int64_t> rows = {1000, 1, 5000, 333, 12, 7777, 1, 250};
  const int64_t total = std::accumulate(rows.begin(), rows.end(), int64_t{0});
  for (int64_t sample : {int64_t{0}, int64_t{1}, int64_t{100}, int64_t{4096}, total}) {
    for (uint64_t seed : {1ull, 2ull, 99ull}) {
      const auto q = allocate_quotas(rows, sample, seed);
      ASSERT_EQ(std::accumulate(q.begin(), q.end(), int64_t{0}), sample);
      for (size_t i = 0; i < rows.size(); ++i) {
        const double exact = static_cast<double>(sample) * rows[i] / total;
        EXPECT_GE(q[i], static_cast<int64_t>(std::floor(exact)));
        EXPECT_LE(q[i], static_cast<int64_t>(std::ceil(exact)));
        EXPECT_LE(q[i], rows[i]);
      }
    }
  }
}

TEST(AllocateQuotas, RoundingIsUnbiasedOverSeeds) {
  // Each fragment's expected quota must be S * N_i / N exactly, so that every row has the same
  // inclusion probability; the randomised rounding achieves it on average over seeds.
  const std::vector<int64_t> rows = {10, 1, 7, 3, 1, 13};
  const int64_t total = 35, sample = 6;
  std::vector<double> mean(rows.size(), 0.0);
  const int trials = 20000;
  for (int s = 0; s < trials; ++s) {
    const auto q = allocate_quotas(rows, sample, static_cast<uint64_t>(s));
    for (size_t i = 0; i < rows.size(); ++i) mean[i] += static_cast<double>(q[i]) / trials;
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_NEAR(mean[i], static_cast<double>(sample) * rows[i] / total, 0.02) << "fragment " << i;
  }
}

TEST(FragmentSampleRows, SortedDistinctDeterministicAndPerFragment) {
  const auto a = fragment_sample_rows(7, 3, 100000, 500);
  const auto b = fragment_sample_rows(7, 3, 100000, 500);
  const auto c = fragment_sample_rows(7, 4, 100000, 500);
  ASSERT_EQ(a.size(), 500u);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (size_t i = 1; i < a.size(); ++i) EXPECT_LT(a[i - 1], a[i]);
  EXPECT_GE(a.front(), 0);
  EXPECT_LT(a.back(), 100000);
  EXPECT_EQ(fragment_sample_rows(7, 3, 50, 50).size(), 50u);  // whole fragment
}

TEST(FragmentSampleRows, EveryRowEquallyLikely) {
  // 40 rows, 10 chosen: each row's frequency over many seeds must be near 1/4.
  std::vector<int> hits(40, 0);
  const int trials = 8000;
  for (int s = 0; s < trials; ++s) {
    for (int64_t r : fragment_sample_rows(static_cast<uint64_t>(s), 0, 40, 10)) ++hits[r];
  }
  for (int h : hits) EXPECT_NEAR(static_cast<double>(h) / trials, 0.25, 0.03);
}

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Eight fragments of unequal sizes, one of a single row.
    sizes_ = {3000, 1, 1200, 5000, 700, 2500, 90, 4000};
    for (size_t i = 0; i < sizes_.size(); ++i) {
      const auto data = testing::gaussian_mixture(sizes_[i], 8, 4, 100 + i);
      ASSERT_TRUE(write_vector_file(dir_.file("f" + std::to_string(i) + ".fbin"), FileFormat::kFbin,
                                    sizes_[i], 8, data.data())
                      .ok());
    }
    auto ds = Dataset::open(dir_.path());
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    dataset_.emplace(std::move(*ds));
    params_.index_type = IndexType::kIvfSq;
    params_.ivf.num_partitions = 8;
    params_.ivf.sample_rate = 100;  // SQ wants 100 * 256 = 25600 > rows: whole dataset
    params_.sq.sample_rate = 4;     // 4 * 256 = 1024 rows
  }

  // fragment id -> quota, over all tasks.
  static std::map<int64_t, int64_t> quotas(const std::vector<SampleTask>& tasks) {
    std::map<int64_t, int64_t> q;
    for (const auto& t : tasks) {
      for (const auto& f : t.fragments) {
        EXPECT_TRUE(q.emplace(f.id, f.quota).second) << "fragment " << f.id << " given twice";
      }
    }
    return q;
  }

  testing::TempDir dir_;
  std::vector<int64_t> sizes_;
  std::optional<Dataset> dataset_;
  TrainParams params_;
};

TEST_F(PlanTest, QuotasDoNotDependOnWorkersOrAssignment) {
  auto one = create_sample_tasks(*dataset_, params_, 1);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  const auto reference = quotas(*one);
  ASSERT_EQ(reference.size(), sizes_.size());
  for (int w : {2, 3, 5, 11}) {
    for (Assignment a : {Assignment::kBalanced, Assignment::kRoundRobin}) {
      auto tasks = create_sample_tasks(*dataset_, params_, w, {}, a);
      ASSERT_TRUE(tasks.ok());
      ASSERT_EQ(tasks->size(), static_cast<size_t>(w));
      EXPECT_EQ(quotas(*tasks), reference) << w << " workers";
      EXPECT_NE(tasks->front().plan_id, one->front().plan_id);
    }
  }
  // More workers than fragments: some tasks are empty.
  auto many = create_sample_tasks(*dataset_, params_, 11);
  int empty = 0;
  for (const auto& t : *many) empty += t.fragments.empty() ? 1 : 0;
  EXPECT_EQ(empty, 3);
}

TEST_F(PlanTest, SampleSizeIsTheLargestNeedCappedAtRows) {
  params_.ivf.sample_rate = 10;  // IVF: 80 rows; SQ: 1024 rows
  auto tasks = create_sample_tasks(*dataset_, params_, 2);
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ(tasks->front().sample_rows_planned, 1024);
  params_.sq.sample_rate = 1000;  // 256000 > 16491 rows
  tasks = create_sample_tasks(*dataset_, params_, 2);
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ(tasks->front().sample_rows_planned, 16491);
  EXPECT_EQ(tasks->front().rows_available, 16491);
}

TEST_F(PlanTest, BalancedAssignmentBalancesRows) {
  auto tasks = create_sample_tasks(*dataset_, params_, 3, {}, Assignment::kBalanced);
  ASSERT_TRUE(tasks.ok());
  std::vector<int64_t> load;
  for (const auto& t : *tasks) {
    int64_t rows = 0;
    for (const auto& f : t.fragments) rows += f.num_rows;
    load.push_back(rows);
  }
  const auto [lo, hi] = std::minmax_element(load.begin(), load.end());
  // LPT is within 4/3 of optimal; here the rows split within 1,000 of each other.
  EXPECT_LT(*hi - *lo, 1000);
  auto rr = create_sample_tasks(*dataset_, params_, 3, {}, Assignment::kRoundRobin);
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ((*rr)[0].fragments.size(), 3u);
  EXPECT_EQ((*rr)[0].fragments[1].id, 3);
}

TEST_F(PlanTest, FragmentSubsetUsesOnlyThoseFragments) {
  auto tasks = create_sample_tasks(*dataset_, params_, 2, {5, 1, 3});
  ASSERT_TRUE(tasks.ok());
  const auto q = quotas(*tasks);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_TRUE(q.count(1) && q.count(3) && q.count(5));
  EXPECT_EQ(tasks->front().rows_available, sizes_[1] + sizes_[3] + sizes_[5]);
}

TEST_F(PlanTest, UnknownFragmentIdIsNamed) {
  auto tasks = create_sample_tasks(*dataset_, params_, 2, {2, 42});
  ASSERT_FALSE(tasks.ok());
  EXPECT_EQ(tasks.status().code(), Status::Code::kNotFound);
  EXPECT_NE(tasks.status().message().find("fragment 42"), std::string::npos);
}

TEST_F(PlanTest, BadWorkerCountAndParametersAreRefused) {
  EXPECT_FALSE(create_sample_tasks(*dataset_, params_, 0).ok());
  params_.ivf.num_partitions = 0;
  auto r = create_sample_tasks(*dataset_, params_, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("num_partitions must be at least 1"), std::string::npos);
}

// The task that samples fragment `id`.
const SampleTask& task_with(const std::vector<SampleTask>& tasks, int64_t id) {
  for (const auto& t : tasks) {
    for (const auto& f : t.fragments) {
      if (f.id == id) return t;
    }
  }
  ADD_FAILURE() << "no task samples fragment " << id;
  return tasks.front();
}

TEST_F(PlanTest, TasksCarryEachFilesFingerprint) {
  auto tasks = create_sample_tasks(*dataset_, params_, 3);
  ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
  const TaskFragment& f3 = task_with(*tasks, 3).fragments.front().id == 3
                               ? task_with(*tasks, 3).fragments.front()
                               : task_with(*tasks, 3).fragments.back();
  EXPECT_EQ(f3.file.path, std::filesystem::absolute(dir_.file("f3.fbin")).lexically_normal());
  EXPECT_EQ(f3.file.size, 8 + 5000 * 8 * 4);
  EXPECT_NE(f3.file.content_hash, 0u);
  EXPECT_EQ(tasks->front().dataset_fragments, 8);
  // Another file's content gives another hash.
  auto other = fingerprint_file(dir_.file("f0.fbin"));
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->content_hash, f3.file.content_hash);
}

TEST_F(PlanTest, AFileRewrittenSincePlanningIsRefusedNamingIt) {
  auto tasks = create_sample_tasks(*dataset_, params_, 3);
  ASSERT_TRUE(tasks.ok());
  // Same size, other rows: only the content tells.
  const auto data = testing::gaussian_mixture(sizes_[3], 8, 4, 999);
  ASSERT_TRUE(
      write_vector_file(dir_.file("f3.fbin"), FileFormat::kFbin, sizes_[3], 8, data.data()).ok());
  auto reopened = Dataset::open(dir_.path());
  ASSERT_TRUE(reopened.ok());
  auto r = execute_sample_task(*reopened, task_with(*tasks, 3));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("f3.fbin (fragment 3) changed since planning"),
            std::string::npos)
      << r.status().message();
}

TEST_F(PlanTest, AFileTouchedSincePlanningIsRefused) {
  auto tasks = create_sample_tasks(*dataset_, params_, 1);
  ASSERT_TRUE(tasks.ok());
  const auto path = dir_.file("f5.fbin");
  std::filesystem::last_write_time(
      path, std::filesystem::last_write_time(path) + std::chrono::seconds(5));
  auto r = execute_sample_task(*dataset_, tasks->front());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("f5.fbin (fragment 5) changed since planning: it was "
                                      "modified"),
            std::string::npos)
      << r.status().message();
}

TEST_F(PlanTest, AFileAddedToTheDirectoryIsRefusedNamingIt) {
  auto tasks = create_sample_tasks(*dataset_, params_, 3);
  ASSERT_TRUE(tasks.ok());
  const auto data = testing::gaussian_mixture(10, 8, 4, 5);
  // Sorted last: the planned fragments keep their ids, yet every task refuses.
  ASSERT_TRUE(write_vector_file(dir_.file("f9.fbin"), FileFormat::kFbin, 10, 8, data.data()).ok());
  auto grown = Dataset::open(dir_.path());
  ASSERT_TRUE(grown.ok());
  for (const auto& t : *tasks) {
    auto r = execute_sample_task(*grown, t);
    ASSERT_FALSE(r.ok()) << "task " << t.worker;
    EXPECT_NE(r.status().message().find("f9.fbin appeared since planning"), std::string::npos)
        << r.status().message();
  }
  // Sorted between f0 and f1: the ids shift, and the task of (old) fragment 1 names both files.
  ASSERT_TRUE(write_vector_file(dir_.file("f0b.fbin"), FileFormat::kFbin, 10, 8, data.data()).ok());
  auto shifted = Dataset::open(dir_.path());
  ASSERT_TRUE(shifted.ok());
  auto r = execute_sample_task(*shifted, task_with(*tasks, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("f0b.fbin"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("f1.fbin"), std::string::npos) << r.status().message();
}

TEST_F(PlanTest, AnEditedQuotaIsRefusedByTheWorker) {
  params_.sq.sample_rate = 4;  // 1024 of 16491 rows: quotas below the fragments' sizes
  auto tasks = create_sample_tasks(*dataset_, params_, 2);
  ASSERT_TRUE(tasks.ok());
  SampleTask edited = task_with(*tasks, 3);
  for (auto& f : edited.fragments) {
    if (f.id == 3) f.quota = 5000;
  }
  auto r = execute_sample_task(*dataset_, edited);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("fragment 3 of task"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("has quota 5000, but its plan gives it"), std::string::npos)
      << r.status().message();
  // A subset plan is recomputed from its selection.
  auto subset = create_sample_tasks(*dataset_, params_, 1, {5, 1, 3});
  ASSERT_TRUE(subset.ok());
  EXPECT_EQ(subset->front().selection, "1,3,5");
  EXPECT_TRUE(execute_sample_task(*dataset_, subset->front()).ok());
  subset->front().fragments.back().quota -= 1;
  EXPECT_FALSE(execute_sample_task(*dataset_, subset->front()).ok());
}

TEST_F(PlanTest, ProductsOfHugeParametersAreRefusedNotWrapped) {
  params_.index_type = IndexType::kIvfFlat;
  params_.ivf.num_partitions = int64_t{1} << 62;  // 4611686018427387904
  params_.ivf.sample_rate = 4;
  auto r = create_sample_tasks(*dataset_, params_, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too large a sample"), std::string::npos)
      << r.status().message();
}

TEST_F(PlanTest, NonsenseNumbersAreRefused) {
  const auto refused = [&](TrainParams p, const std::string& expected) {
    auto r = create_sample_tasks(*dataset_, p, 1);
    ASSERT_FALSE(r.ok()) << expected;
    EXPECT_NE(r.status().message().find(expected), std::string::npos) << r.status().message();
  };
  TrainParams p = params_;
  p.num_threads = 2'000'000'000;
  refused(p, "num_threads must be 0 (all cores) or between 1 and 4096");
  p = params_;
  p.ivf.kmeans.balance = std::numeric_limits<double>::infinity();
  refused(p, "balance must be 0 (off) or a finite number");
  p.ivf.kmeans.balance = std::nan("");
  refused(p, "balance must be 0 (off)");
  p = params_;
  p.ivf.kmeans.tolerance = std::numeric_limits<double>::infinity();
  refused(p, "tolerance must be a finite number");
  EXPECT_FALSE(create_sample_tasks(*dataset_, params_, kMaxWorkers + 1).ok());
}

TEST_F(PlanTest, EachFragmentsShareOfTheSampleMatchesItsShareOfRows) {
  params_.ivf.sample_rate = 1;
  params_.sq.sample_rate = 16;  // 4096 of 16491 rows
  auto tasks = create_sample_tasks(*dataset_, params_, 3);
  ASSERT_TRUE(tasks.ok());
  int64_t total_rows = 0;
  for (auto s : sizes_) total_rows += s;
  std::vector<SampleResult> results;
  int64_t sampled = 0;
  std::map<int64_t, int64_t> per_fragment;
  for (const auto& t : *tasks) {
    auto r = execute_sample_task(*dataset_, t);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (int64_t id : r->fragment_ids) ++per_fragment[id];
    sampled += r->size();
  }
  ASSERT_EQ(sampled, 4096);
  for (size_t i = 0; i < sizes_.size(); ++i) {
    const double expected = 4096.0 * sizes_[i] / total_rows;
    EXPECT_LE(std::abs(per_fragment[static_cast<int64_t>(i)] - expected), 1.0) << "fragment " << i;
  }
}

}  // namespace
}  // namespace ivftrain
