#include "util/open_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ivftrain/status.h"
#include "test_util.h"
#include "util/files.h"

namespace ivftrain {
namespace {

using Code = Status::Code;

TEST(OpenFile, RegularFileOpensWithItsSize) {
  testing::TempDir dir;
  testing::write_bytes(dir.file("a.bin"), "hello");
  auto file = ReadOnlyFile::open(dir.file("a.bin"));
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->size(), 5);
  EXPECT_EQ(::fcntl(file->fd(), F_GETFL) & O_NONBLOCK, 0);
}

// Before: read_file (manifests, plans, tasks, results, model.json) and the mapped readers
// blocked forever in open() on a FIFO.
TEST(OpenFile, FifoIsRefusedWithoutBlocking) {
  testing::TempDir dir;
  const std::string fifo = dir.file("m.json");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  const Result<std::string> text = read_file(fifo);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(
      text.status().message(),
      fifo + " is a FIFO (named pipe), not a regular file: ivftrain reads only regular files");
  EXPECT_FALSE(check_readable_regular_file(fifo).ok());
}

TEST(OpenFile, DeviceDirectoryAndMissingPathAreNamed) {
  testing::TempDir dir;
  auto dev = ReadOnlyFile::open("/dev/null");
  ASSERT_FALSE(dev.ok());
  EXPECT_NE(dev.status().message().find("/dev/null is a character device"), std::string::npos);
  auto d = ReadOnlyFile::open(dir.path());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("is a directory"), std::string::npos);
  auto missing = ReadOnlyFile::open(dir.file("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
}

// Past the open-file limit the message says so (and gives the limit), instead of blaming the
// file's contents.
// Under the sanitizers every descriptor gone is not a state the runtime survives: UBSan's vptr
// check tests whether memory is readable through a pipe of its own, fails, and reports a false
// error. The release build runs this test.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

TEST(OpenFile, TooManyOpenFilesSaysSo) {
  if (kSanitized) GTEST_SKIP() << "needs free descriptors for the sanitizer runtime";
  testing::TempDir dir;
  testing::write_bytes(dir.file("a.bin"), "x");
  struct rlimit saved {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit low = saved;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<int> fds;
  for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) fds.push_back(fd);
  const Status st = check_readable_regular_file(dir.file("a.bin"));
  for (const int fd : fds) ::close(fd);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_NE(st.message().find("Too many open files (this process may open 64 files"),
            std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace ivftrain
