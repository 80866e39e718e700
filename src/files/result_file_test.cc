#include <gtest/gtest.h>

#include "ivftrain/plan_files.h"
#include "test_util.h"

namespace ivftrain {
namespace {

SampleResult make_result() {
  SampleResult r;
  r.plan_id = "0123456789abcdef";
  r.worker = 1;
  r.num_workers = 3;
  r.params_hash = 0xfeedbeefcafe1234ull;
  r.dim = 4;
  r.rows_available = 1000;
  r.sample_rows_planned = 3;
  r.fragments_in_plan = 2;
  r.fragment_ids = {2, 2, 5};
  r.rows = {1, 9, 0};
  r.vectors = {1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4};
  r.rows_read = 4;
  r.rows_dropped_nonfinite = 1;
  r.sq_bounds = SqBounds::empty(SqBoundsMode::kGlobal, 4);
  r.sq_bounds.update(3, 4, r.vectors.data());
  return r;
}

TEST(ResultFile, RoundTripsEveryField) {
  const SampleResult r = make_result();
  auto back = parse_sample_result(serialize_sample_result(r), "x.result");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->plan_id, r.plan_id);
  EXPECT_EQ(back->worker, 1);
  EXPECT_EQ(back->num_workers, 3);
  EXPECT_EQ(back->params_hash, r.params_hash);
  EXPECT_EQ(back->vectors, r.vectors);
  EXPECT_EQ(back->rows, r.rows);
  EXPECT_EQ(back->fragment_ids, r.fragment_ids);
  EXPECT_EQ(back->rows_read, 4);
  EXPECT_EQ(back->rows_dropped_nonfinite, 1);
  EXPECT_EQ(back->rows_available, 1000);
  EXPECT_EQ(back->sq_bounds.lower, r.sq_bounds.lower);
  EXPECT_EQ(back->sq_bounds.upper, r.sq_bounds.upper);
}

TEST(ResultFile, SerialisationIsDeterministic) {
  EXPECT_EQ(serialize_sample_result(make_result()), serialize_sample_result(make_result()));
}

TEST(ResultFile, EveryFlippedByteIsRefused) {
  const std::string good = serialize_sample_result(make_result());
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    auto r = parse_sample_result(bad, "task-0001.result");
    ASSERT_FALSE(r.ok()) << "flipped byte " << i << " was accepted";
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
    EXPECT_NE(r.status().message().find("task-0001.result"), std::string::npos);
  }
}

TEST(ResultFile, TruncatedAndPaddedFilesAreRefused) {
  const std::string good = serialize_sample_result(make_result());
  for (size_t len : {size_t{0}, size_t{7}, size_t{40}, good.size() / 2, good.size() - 1}) {
    auto r = parse_sample_result(good.substr(0, len), "t.result");
    ASSERT_FALSE(r.ok()) << len;
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  }
  auto padded = parse_sample_result(good + "x", "t.result");
  EXPECT_FALSE(padded.ok());
}

TEST(ResultFile, WriteIsAtomicAndReadBack) {
  testing::TempDir dir;
  const std::string path = dir.file("task-0001.result");
  ASSERT_TRUE(write_sample_result(path, make_result()).ok());
  auto r = read_sample_result(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->vectors, make_result().vectors);
  auto missing = read_sample_result(dir.file("nope.result"));
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound);
}

// A result replaces a result, never another file (a dataset, a task, a file of the user's).
TEST(ResultFile, ReplacesOnlyAResult) {
  testing::TempDir dir;
  const std::string path = dir.file("task-0001.result");
  ASSERT_TRUE(write_sample_result(path, make_result()).ok());
  ASSERT_TRUE(write_sample_result(path, make_result()).ok());
  const std::string data = dir.file("data.npy");
  testing::write_bytes(data, "\x93NUMPY data");
  const Status st = write_sample_result(data, make_result());
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists);
  EXPECT_NE(st.message().find(data), std::string::npos) << st.message();
  EXPECT_EQ(testing::read_bytes(data), "\x93NUMPY data");
  EXPECT_EQ(check_sample_result_output(dir.path()).code(), Status::Code::kAlreadyExists);
  EXPECT_TRUE(check_sample_result_output(dir.file("new.result")).ok());
  EXPECT_TRUE(check_sample_result_output(path).ok());
}

}  // namespace
}  // namespace ivftrain
