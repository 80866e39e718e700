#include "util/files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "test_util.h"

namespace ivftrain {
namespace {

namespace fs = std::filesystem;
using Code = Status::Code;

// Every name in a directory, hidden temporaries included.
std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

class FilesTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  FaultyFileSystem faulty_;
  ScopedFileSystem scoped_{&faulty_};  // passes every call through until a fault is set
};

TEST_F(FilesTest, WriteFileAtomicWritesAndOverwrites) {
  const std::string path = dir_.file("a.bin");
  ASSERT_TRUE(write_file_atomic(path, "first").ok());
  EXPECT_EQ(testing::read_bytes(path), "first");
  ASSERT_TRUE(write_file_atomic(path, "second, longer").ok());
  EXPECT_EQ(testing::read_bytes(path), "second, longer");
  ASSERT_TRUE(write_file_atomic(path, "").ok());
  EXPECT_EQ(testing::read_bytes(path), "");
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"a.bin"});  // no temporary left
  EXPECT_EQ(faulty_.bytes_written(), 19);  // every write went through the installed seam
}

TEST_F(FilesTest, FailedWriteLeavesNoFileAndNoTemporary) {
  faulty_.fail_write_call(1);
  const Status st = write_file_atomic(dir_.file("a.bin"), "payload");
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_NE(st.message().find(dir_.file("a.bin")), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("No space left"), std::string::npos) << st.message();
  EXPECT_TRUE(entries(dir_.path()).empty());
  // The fault fired once; the next write succeeds.
  EXPECT_TRUE(write_file_atomic(dir_.file("a.bin"), "payload").ok());
}

// A disk that fills up midway: the first bytes are written (a short write), then ENOSPC.
TEST_F(FilesTest, DiskFullMidwayLeavesTheOldFileWhole) {
  const std::string path = dir_.file("a.bin");
  ASSERT_TRUE(write_file_atomic(path, "old contents").ok());
  faulty_.fail_after_bytes(10);
  EXPECT_EQ(write_file_atomic(path, std::string(100, 'x')).code(), Code::kIOError);
  EXPECT_EQ(faulty_.bytes_written(), 12 + 10);
  EXPECT_EQ(testing::read_bytes(path), "old contents");
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"a.bin"});
  faulty_.fail_after_bytes(-1);
  EXPECT_TRUE(write_file_atomic(path, std::string(100, 'x')).ok());
}

TEST_F(FilesTest, FailedRenameLeavesTheOldFileAndNoTemporary) {
  const std::string path = dir_.file("a.bin");
  ASSERT_TRUE(write_file_atomic(path, "old").ok());
  faulty_.fail_renames(true);
  const Status st = write_file_atomic(path, "new");
  EXPECT_EQ(st.code(), Code::kIOError);
  EXPECT_NE(st.message().find("into place"), std::string::npos) << st.message();
  EXPECT_EQ(testing::read_bytes(path), "old");
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"a.bin"});
}

TEST_F(FilesTest, WriteIntoAMissingDirectoryFails) {
  EXPECT_EQ(write_file_atomic(dir_.file("no/a.bin"), "x").code(), Code::kIOError);
}

TEST_F(FilesTest, ReadFile) {
  testing::write_bytes(dir_.file("a.bin"), std::string("a\0b", 3));
  auto r = read_file(dir_.file("a.bin"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, std::string("a\0b", 3));
  EXPECT_EQ(read_file(dir_.file("none")).status().code(), Code::kNotFound);
  EXPECT_EQ(read_file(dir_.path()).status().code(), Code::kInvalidArgument);
}

TEST_F(FilesTest, StagedDirectoryAppearsOnlyOnCommit) {
  const std::string out = dir_.file("model");
  auto staged = StagedDirectory::create(out, false);
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  ASSERT_TRUE(staged->write("a.txt", "A").ok());
  ASSERT_TRUE(staged->write("b.txt", "B").ok());
  EXPECT_FALSE(fs::exists(out));  // only the hidden temporary exists so far
  ASSERT_TRUE(staged->commit().ok());
  EXPECT_EQ(testing::read_bytes(out + "/a.txt"), "A");
  EXPECT_EQ(testing::read_bytes(out + "/b.txt"), "B");
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"model"});
}

TEST_F(FilesTest, StagedDirectoryAbortedLeavesNothing) {
  {
    auto staged = StagedDirectory::create(dir_.file("model"), false);
    ASSERT_TRUE(staged.ok());
    ASSERT_TRUE(staged->write("a.txt", "A").ok());
    EXPECT_EQ(entries(dir_.path()).size(), 1u);  // the temporary
  }
  EXPECT_TRUE(entries(dir_.path()).empty());
}

TEST_F(FilesTest, StagedDirectoryFailedWriteLeavesNothing) {
  {
    auto staged = StagedDirectory::create(dir_.file("model"), false);
    ASSERT_TRUE(staged.ok());
    ASSERT_TRUE(staged->write("a.txt", "A").ok());
    faulty_.fail_write_call(1);
    const Status st = staged->write("b.txt", "B");
    EXPECT_EQ(st.code(), Code::kIOError);
    // The message names the file's final path, not the temporary one.
    EXPECT_NE(st.message().find(dir_.file("model/b.txt")), std::string::npos) << st.message();
  }
  EXPECT_TRUE(entries(dir_.path()).empty());
}

TEST_F(FilesTest, StagedDirectoryRefusesAnExistingOneWithoutOverwrite) {
  const std::string out = dir_.file("model");
  fs::create_directory(out);
  testing::write_bytes(out + "/old.txt", "old");
  auto staged = StagedDirectory::create(out, false);
  EXPECT_EQ(staged.status().code(), Code::kAlreadyExists);
  EXPECT_NE(staged.status().message().find(out), std::string::npos);
  EXPECT_EQ(entries(out), std::set<std::string>{"old.txt"});
}

// With overwrite the old directory stays whole until commit, which replaces it entirely.
TEST_F(FilesTest, StagedDirectoryOverwriteReplacesOnCommit) {
  const std::string out = dir_.file("model");
  fs::create_directory(out);
  testing::write_bytes(out + "/old.txt", "old");
  auto staged = StagedDirectory::create(out, true);
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  ASSERT_TRUE(staged->write("new.txt", "new").ok());
  EXPECT_EQ(entries(out), std::set<std::string>{"old.txt"});
  ASSERT_TRUE(staged->commit().ok());
  EXPECT_EQ(entries(out), std::set<std::string>{"new.txt"});
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"model"});  // the old one is gone
}

TEST_F(FilesTest, StagedDirectoryFailedCommitKeepsTheOldOne) {
  const std::string out = dir_.file("model");
  fs::create_directory(out);
  testing::write_bytes(out + "/old.txt", "old");
  {
    auto staged = StagedDirectory::create(out, true);
    ASSERT_TRUE(staged.ok());
    ASSERT_TRUE(staged->write("new.txt", "new").ok());
    faulty_.fail_renames(true);
    EXPECT_EQ(staged->commit().code(), Code::kIOError);
  }
  EXPECT_EQ(entries(out), std::set<std::string>{"old.txt"});
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"model"});
}

TEST_F(FilesTest, StagedDirectoryNeedsAnExistingParentDirectory) {
  EXPECT_EQ(StagedDirectory::create(dir_.file("no/model"), false).status().code(), Code::kNotFound);
  testing::write_bytes(dir_.file("plain"), "x");
  EXPECT_EQ(StagedDirectory::create(dir_.file("plain/model"), false).status().code(),
            Code::kInvalidArgument);
}

TEST(FileSystemSeam, ScopedInstallRestoresThePrevious) {
  FileSystem* before = file_system();
  EXPECT_EQ(before, default_file_system());
  FaultyFileSystem faulty;
  {
    ScopedFileSystem scoped(&faulty);
    EXPECT_EQ(file_system(), &faulty);
  }
  EXPECT_EQ(file_system(), before);
}

TEST(FileSystemSeam, TheNthWriteCallFails) {
  testing::TempDir dir;
  FaultyFileSystem faulty;
  ScopedFileSystem scoped(&faulty);
  faulty.fail_write_call(3);
  EXPECT_TRUE(write_file_atomic(dir.file("1"), "x").ok());
  EXPECT_TRUE(write_file_atomic(dir.file("2"), "x").ok());
  EXPECT_FALSE(write_file_atomic(dir.file("3"), "x").ok());
  EXPECT_TRUE(write_file_atomic(dir.file("4"), "x").ok());
  EXPECT_EQ(entries(dir.path()), (std::set<std::string>{"1", "2", "4"}));
}

}  // namespace
}  // namespace ivftrain
