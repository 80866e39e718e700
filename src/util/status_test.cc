#include "ivftrain/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ivftrain {
namespace {

using Code = Status::Code;

TEST(Status, OkAndErrors) {
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToString(), "OK");
  const Status st = Status::NotFound("x.npy does not exist");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_EQ(st.ToString(), "x.npy does not exist");
  EXPECT_EQ(st.WithContext("task 3").message(), "task 3: x.npy does not exist");
  EXPECT_TRUE(Status::OK().WithContext("task 3").ok());
  EXPECT_EQ(Status::FromCode(Code::kInternal, "bug").code(), Code::kInternal);
  EXPECT_TRUE(Status::FromCode(Code::kOk, "ignored").ok());
}

TEST(Result, HoldsAValue) {
  Result<std::string> r = std::string("abc");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), "abc");
  EXPECT_EQ(*r, "abc");
  EXPECT_EQ(r->size(), 3u);
  const std::string moved = std::move(r).value();
  EXPECT_EQ(moved, "abc");
}

TEST(Result, HoldsAnError) {
  Result<int> r = Status::Corruption("a.npy: bad magic");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_EQ(r.status().message(), "a.npy: bad magic");
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(4);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 4);
}

#ifdef NDEBUG
// Without assertions a Result from an OK Status is still a failure, never a Result that is
// neither a value nor an error.
TEST(Result, FromOkStatusIsAnInternalError) {
  Result<int> r = Status::OK();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_NE(r.status().message().find("OK Status"), std::string::npos);
}
#else
// With assertions, misuse stops the program at the faulty line.
TEST(ResultDeathTest, FromOkStatusAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH({ Result<int> r = Status::OK(); }, "non-OK Status");
}

TEST(ResultDeathTest, ValueOfAFailedResultAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<int> r = Status::IOError("disk");
  EXPECT_DEATH((void)r.value(), "test ok\\(\\) first");
  EXPECT_DEATH((void)*r, "test ok\\(\\) first");
  Result<std::string> s = Status::IOError("disk");
  EXPECT_DEATH((void)s->size(), "test ok\\(\\) first");
}
#endif

}  // namespace
}  // namespace ivftrain
