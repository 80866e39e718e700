#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "ivftrain/plan_files.h"
#include "test_util.h"

namespace ivftrain {
namespace {

// Task `worker` of a consistent plan of `num_workers` workers: fragment w (40 rows, all sampled:
// PQ wants more) goes to worker w, so that read_plan_dir's recomputation of the quotas agrees.
SampleTask make_task(int worker, int num_workers = 2) {
  SampleTask t;
  t.plan_id = "00000000deadbeef";
  t.worker = worker;
  t.num_workers = num_workers;
  t.params.index_type = IndexType::kIvfPq;
  t.params.distance_type = DistanceType::kCosine;
  t.params.ivf.num_partitions = 16;
  t.params.pq.num_sub_vectors = 4;
  t.params.seed = 1234567890123ull;
  t.dim = 8;
  t.rows_available = 40 * num_workers;
  t.sample_rows_planned = 40 * num_workers;
  t.fragments_in_plan = num_workers;
  t.dataset_fragments = num_workers;
  t.dataset_layout = 0x0123456789abcdefull;
  FileFingerprint file{fmt::format("/d/f{}.npy", worker), 4000, 1700000000123456789,
                       0xfedcba9876543210ull};
  t.fragments = {{worker, 40, 40, 0, file}};
  return t;
}

TEST(TaskFile, JsonRoundTrip) {
  DatasetOptions o;
  o.rows_per_fragment = 77;
  const std::string text = task_to_json(make_task(1), "/data/x.npy", o);
  auto back = parse_task_json(text, "task-0001.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->dataset_path, "/data/x.npy");
  EXPECT_EQ(back->dataset_options.rows_per_fragment, 77);
  EXPECT_EQ(back->task.worker, 1);
  EXPECT_EQ(back->task.plan_id, "00000000deadbeef");
  EXPECT_EQ(back->task.params.seed, 1234567890123ull);
  EXPECT_EQ(back->task.params.distance_type, DistanceType::kCosine);
  EXPECT_EQ(params_fingerprint(back->task.params), params_fingerprint(make_task(1).params));
  ASSERT_EQ(back->task.fragments.size(), 1u);
  EXPECT_EQ(back->task.fragments[0].id, 1);
  EXPECT_EQ(back->task.fragments[0].quota, 40);
  EXPECT_EQ(back->task.fragments[0].file, make_task(1).fragments[0].file);
  EXPECT_EQ(back->task.dataset_layout, 0x0123456789abcdefull);
  EXPECT_EQ(back->task.dataset_fragments, 2);
}

TEST(TaskFile, MalformedTasksAreRefusedWithTheFileName) {
  const std::string good = task_to_json(make_task(0), "/d", {});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "not valid JSON"},
      {"[]", "not an ivftrain-task"},
      {std::string(good).replace(good.find("\"worker\": 0"), 11, "\"worker\": 9"), "outside"},
      {std::string(good).replace(good.find("\"quota\": 40"), 11, "\"quota\": 99"), "quota"},
      {std::string(good).replace(good.find("\"content_hash\""), 14, "\"content_hush\""),
       "content_hash"},
      {std::string(good).replace(good.find("\"/d/f0.npy\""), 11, "\"\""), "empty file path"},
      {std::string(good).replace(good.find("\"format_version\": 2"), 19, "\"format_version\": 1"),
       "older ivftrain"},
      {std::string(good).replace(
           good.find("\"l2\"") == std::string::npos ? good.find("\"cosine\"") : good.find("\"l2\""),
           8, "\"manhattan\""),
       "distance type"},
  };
  for (const auto& [text, expected] : cases) {
    auto r = parse_task_json(text, "task-0000.json");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find("task-0000.json"), std::string::npos)
        << r.status().message();
    EXPECT_NE(r.status().message().find(expected), std::string::npos) << r.status().message();
  }
}

TEST(PlanDir, WriteReadAndRefuseExisting) {
  testing::TempDir dir;
  const std::string plan = dir.file("plan");
  std::vector<SampleTask> tasks = {make_task(0), make_task(1)};
  ASSERT_TRUE(write_plan_dir(plan, tasks, "rel/data.npy", {}, false).ok());
  EXPECT_TRUE(std::filesystem::exists(plan + "/task-0000.json"));
  EXPECT_TRUE(std::filesystem::exists(plan + "/task-0001.json"));
  auto back = read_plan_dir(plan);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->tasks.size(), 2u);
  EXPECT_EQ(back->plan_id, "00000000deadbeef");
  // Dataset paths are made absolute so that workers may run from anywhere.
  EXPECT_EQ(back->tasks[0].dataset_path.front(), '/');

  auto again = write_plan_dir(plan, tasks, "rel/data.npy", {}, false);
  EXPECT_EQ(again.code(), Status::Code::kAlreadyExists);
  EXPECT_TRUE(write_plan_dir(plan, tasks, "rel/data.npy", {}, true).ok());

  std::filesystem::remove(plan + "/task-0001.json");
  auto broken = read_plan_dir(plan);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("task-0001.json"), std::string::npos);
}

TEST(PlanDir, TasksAreCheckedAgainstTheirPlan) {
  // Each hand edit of a task is refused by read_plan_dir, naming the task file.
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"\"quota\": 40", "\"quota\": 39"},                              // a quota lowered
      {"\"sample_rows_planned\": 80", "\"sample_rows_planned\": 79"},  // a total
      {"\"num_partitions\": 16", "\"num_partitions\": 4"},             // a parameter
  };
  for (const auto& [from, to] : edits) {
    SCOPED_TRACE(to);
    testing::TempDir dir;
    const std::string plan = dir.file("plan");
    ASSERT_TRUE(write_plan_dir(plan, {make_task(0), make_task(1)}, "d", {}, false).ok());
    ASSERT_TRUE(read_plan_dir(plan).ok());
    const std::string task1 = plan + "/task-0001.json";
    std::string text = testing::read_bytes(task1);
    ASSERT_NE(text.find(from), std::string::npos);
    testing::write_bytes(task1, text.replace(text.find(from), from.size(), to));
    auto r = read_plan_dir(plan);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("task-0001.json"), std::string::npos)
        << r.status().message();
  }
}

TEST(PlanDir, AnInflatedQuotaIsRefusedWithThePlansQuota) {
  // A consistent plan of two fragments of 5000 rows wanting 1024 of them; worker 1's quota is
  // edited up to 5000 (as in the issue) and its total too, so only the recomputation sees it.
  std::vector<SampleTask> tasks;
  for (int w = 0; w < 2; ++w) {
    SampleTask t = make_task(w);
    t.params.index_type = IndexType::kIvfFlat;
    t.params.ivf.num_partitions = 4;  // 4 x 256 = 1024 sample rows
    t.rows_available = 10000;
    t.sample_rows_planned = 1024;
    t.fragments[0].num_rows = 5000;
    t.fragments[0].quota = 512;
    tasks.push_back(t);
  }
  testing::TempDir dir;
  const std::string plan = dir.file("plan");
  ASSERT_TRUE(write_plan_dir(plan, tasks, "d", {}, false).ok());
  ASSERT_TRUE(read_plan_dir(plan).ok()) << read_plan_dir(plan).status().ToString();
  const std::string task1 = plan + "/task-0001.json";
  std::string text = testing::read_bytes(task1);
  text.replace(text.find("\"quota\": 512"), 12, "\"quota\": 5000");
  testing::write_bytes(task1, text);
  auto r = read_plan_dir(plan);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("task-0001.json: fragment 1 has quota 5000, but the plan "
                                      "gives it 512"),
            std::string::npos)
      << r.status().message();
}

// A result of `task` with one sampled row (what execute_sample_task would give, in small).
SampleResult result_of(const SampleTask& task) {
  SampleResult r;
  r.plan_id = task.plan_id;
  r.worker = task.worker;
  r.num_workers = task.num_workers;
  r.params_hash = params_fingerprint(task.params);
  r.dim = task.dim;
  r.rows_available = task.rows_available;
  r.sample_rows_planned = task.sample_rows_planned;
  r.fragments_in_plan = task.fragments_in_plan;
  r.vectors.assign(static_cast<size_t>(task.dim), 1.0f);
  r.fragment_ids = {task.fragments.front().id};
  r.rows = {0};
  r.rows_read = 1;
  r.sq_bounds = SqBounds::empty(SqBoundsMode::kGlobal, task.dim);
  r.sq_bounds.update(1, task.dim, r.vectors.data());
  return r;
}

class PlanResultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int w = 0; w < 3; ++w) {
      tasks_.push_back(make_task(w, 3));
    }
    ASSERT_TRUE(write_plan_dir(plan_, tasks_, "data.npy", {}, false).ok());
  }
  void write_result(int worker, SampleResult r) {
    ASSERT_TRUE(write_sample_result(plan_ + "/" + result_file_name(worker), r).ok());
  }

  testing::TempDir dir_;
  const std::string plan_ = dir_.file("plan");
  std::vector<SampleTask> tasks_;
};

TEST_F(PlanResultsTest, EveryResultUsable) {
  for (int w = 0; w < 3; ++w) write_result(w, result_of(tasks_[w]));
  auto collected = read_plan_results(plan_);
  ASSERT_TRUE(collected.ok()) << collected.status().ToString();
  EXPECT_TRUE(collected->unusable.empty());
  ASSERT_EQ(collected->results.size(), 3u);
  for (int w = 0; w < 3; ++w) EXPECT_EQ(collected->results[w].worker, w);
  EXPECT_EQ(collected->plan.plan_id, "00000000deadbeef");
  EXPECT_EQ(collected->plan.tasks.size(), 3u);
}

TEST_F(PlanResultsTest, ListsEveryUnusableResultWithItsTask) {
  // Worker 0 has no result, worker 1 a corrupted one, worker 2 the result of worker 1.
  write_result(1, result_of(tasks_[1]));
  const std::string result1 = plan_ + "/task-0001.result";
  std::string bytes = testing::read_bytes(result1);
  bytes[bytes.size() / 2] ^= 0x01;
  testing::write_bytes(result1, bytes);
  write_result(2, result_of(tasks_[1]));

  auto collected = read_plan_results(plan_);
  ASSERT_TRUE(collected.ok()) << collected.status().ToString();
  EXPECT_TRUE(collected->results.empty());
  ASSERT_EQ(collected->unusable.size(), 3u);
  const auto& u = collected->unusable;
  using Reason = UnusableResult::Reason;
  EXPECT_EQ(u[0].reason, Reason::kMissing);
  EXPECT_EQ(u[1].reason, Reason::kCorrupt);
  EXPECT_EQ(u[2].reason, Reason::kForeign);
  for (int w = 0; w < 3; ++w) {
    SCOPED_TRACE(u[w].problem);
    EXPECT_EQ(u[w].worker, w);
    EXPECT_EQ(u[w].task_path, plan_ + "/" + task_file_name(w));
    EXPECT_EQ(u[w].result_path, plan_ + "/" + result_file_name(w));
    // The problem names the result file, so a reader knows which one.
    EXPECT_NE(u[w].problem.find(u[w].result_path), std::string::npos);
  }
  EXPECT_EQ(u[0].problem, plan_ + "/task-0000.result is missing");
  EXPECT_NE(u[1].problem.find("checksum"), std::string::npos);
  EXPECT_EQ(u[2].problem, plan_ +
                              "/task-0002.result belongs to plan 00000000deadbeef worker 1, "
                              "not to this plan's task 2");
}

TEST_F(PlanResultsTest, AnUnreadablePlanIsAnError) {
  auto collected = read_plan_results(dir_.file("no-such-plan"));
  ASSERT_FALSE(collected.ok());
  EXPECT_EQ(collected.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace ivftrain
