#include "util/memory.h"

#include <gtest/gtest.h>

#include <string>

namespace ivftrain {
namespace {

TEST(Memory, TheSystemReportsALimit) {
  const auto limit = memory_limit_bytes();
  ASSERT_TRUE(limit.has_value());  // at least the physical memory
  EXPECT_GT(*limit, 0);
  EXPECT_TRUE(check_memory_for(1 << 20, "a small buffer").ok());
}

TEST(Memory, TooLargeIsRefusedWithBothSizes) {
  set_memory_limit_for_testing(int64_t{1} << 30);
  const Status st = check_memory_for(int64_t{3} << 30, "the sample of task 0 (1 rows x 2 dims)");
  const Status overflow = check_memory_for(-1, "the sample");
  set_memory_limit_for_testing(0);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(st.message().find("the sample of task 0 (1 rows x 2 dims) needs 3.00 GiB of memory, "
                              "more than the 1.00 GiB"),
            std::string::npos)
      << st.message();
  EXPECT_FALSE(overflow.ok());
}

}  // namespace
}  // namespace ivftrain
