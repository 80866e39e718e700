#include <gtest/gtest.h>

#include <filesystem>

#include "ivftrain/plan_files.h"
#include "test_util.h"

namespace ivftrain {
namespace {

SampleTask make_task(int worker) {
  SampleTask t;
  t.plan_id = "00000000deadbeef";
  t.worker = worker;
  t.num_workers = 2;
  t.params.index_type = IndexType::kIvfPq;
  t.params.distance_type = DistanceType::kCosine;
  t.params.ivf.num_partitions = 16;
  t.params.pq.num_sub_vectors = 4;
  t.params.seed = 1234567890123ull;
  t.dim = 8;
  t.rows_available = 100;
  t.sample_rows_planned = 50;
  t.fragments_in_plan = 3;
  t.fragments = {{0, 40, 20}, {2, 10, 5}};
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
  ASSERT_EQ(back->task.fragments.size(), 2u);
  EXPECT_EQ(back->task.fragments[1].id, 2);
  EXPECT_EQ(back->task.fragments[1].quota, 5);
}

TEST(TaskFile, MalformedTasksAreRefusedWithTheFileName) {
  const std::string good = task_to_json(make_task(0), "/d", {});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "not valid JSON"},
      {"[]", "not an ivftrain-task"},
      {std::string(good).replace(good.find("\"worker\": 0"), 11, "\"worker\": 9"), "outside"},
      {std::string(good).replace(good.find("\"quota\": 20"), 11, "\"quota\": 99"), "quota"},
      {std::string(good).replace(good.find("\"l2\"") == std::string::npos
                                     ? good.find("\"cosine\"")
                                     : good.find("\"l2\""),
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

}  // namespace
}  // namespace ivftrain
