// A file truncated while it is mapped: reads fail naming it instead of killing the process.
#include "io/mapped_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <numeric>
#include <string>
#include <vector>

#include "io/vector_file.h"
#include "io/vector_writer.h"
#include "test_util.h"

namespace ivftrain {
namespace {

class TruncatedTest : public ::testing::TestWithParam<FileFormat> {};

// Before: SIGBUS, the whole process gone without a message.
TEST_P(TruncatedTest, ReadAfterTruncationIsAnErrorNamingTheFile) {
  testing::TempDir dir;
  const int64_t n = 4096, dim = 64;
  std::vector<float> data(static_cast<size_t>(n * dim));
  std::iota(data.begin(), data.end(), 0.0f);
  const std::string path = dir.file(std::string("d") + file_extension(GetParam()));
  ASSERT_TRUE(write_vector_file(path, GetParam(), n, dim, data.data()).ok());
  auto file = open_vector_file(path, "train");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  std::vector<float> row(static_cast<size_t>(dim));
  const int64_t last = n - 1;
  ASSERT_TRUE((*file)->read_rows({&last, 1}, row.data()).ok());
  EXPECT_EQ(row[0], static_cast<float>(last * dim));

  ASSERT_EQ(::truncate(path.c_str(), 4096), 0);  // someone else shrinks it
  const Status st = (*file)->read_rows({&last, 1}, row.data());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kIOError);
  EXPECT_NE(st.message().find(path + ": cannot read row 4095: the file was truncated"),
            std::string::npos)
      << st.message();
  std::vector<float> all(static_cast<size_t>(n * dim));
  EXPECT_FALSE((*file)->read_range(0, n, all.data()).ok());
  // Rows still inside the file read as before, and the process's other SIGBUS are untouched.
  const int64_t first = 0;
  EXPECT_TRUE((*file)->read_rows({&first, 1}, row.data()).ok());
  EXPECT_EQ(row[1], 1.0f);
}

INSTANTIATE_TEST_SUITE_P(Formats, TruncatedTest,
                         ::testing::Values(FileFormat::kNpy, FileFormat::kFvecs,
                                           FileFormat::kFbin));

TEST(GuardedRead, ReturnsNothingWhenTheReadCompletes) {
  testing::TempDir dir;
  testing::write_bytes(dir.file("a"), "abc");
  auto map = MappedFile::open(dir.file("a"));
  ASSERT_TRUE(map.ok());
  char c = 0;
  EXPECT_FALSE(map->guarded_read([&] { c = map->data()[2]; }).has_value());
  EXPECT_EQ(c, 'c');
}

}  // namespace
}  // namespace ivftrain
