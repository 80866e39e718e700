#include "util/files.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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

// ---- Atomic replacement and crashes between its steps ------------------------------------------

// A directory holding one file `name` with `content`, staged for `out` and ready to commit.
StagedDirectory staged_with(const std::string& out, const std::string& content) {
  auto staged = StagedDirectory::create(out, true);
  EXPECT_TRUE(staged.ok()) << staged.status().ToString();
  EXPECT_TRUE(staged->write("m.txt", content).ok());
  return std::move(*staged);
}

class ReplaceTest : public FilesTest {
 protected:
  void SetUp() override {
    out_ = dir_.file("model");
    fs::create_directory(out_);
    testing::write_bytes(out_ + "/m.txt", "old");
  }
  // What the path holds: "old", "new" or "" (nothing).
  std::string at_path() const {
    return fs::exists(out_ + "/m.txt") ? testing::read_bytes(out_ + "/m.txt") : std::string();
  }
  std::string out_;
};

TEST_F(ReplaceTest, ExchangeReplacesInOneStep) {
  StagedDirectory staged = staged_with(out_, "new");
  ASSERT_TRUE(staged.commit().ok());
  EXPECT_EQ(at_path(), "new");
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"model"});
}

// The process dies right after the exchange, before it removes the old directory: the path
// holds the new one, and the next run removes the leftover (its process is dead).
TEST_F(ReplaceTest, CrashAfterTheExchangeLeavesTheNewOne) {
  EXPECT_EXIT(
      {
        StagedDirectory staged = staged_with(out_, "new");
        faulty_.crash_after_rename_call(1);
        (void)staged.commit();
      },
      ::testing::ExitedWithCode(FaultyFileSystem::kCrashExitCode), "");
  EXPECT_EQ(at_path(), "new");
  EXPECT_EQ(entries(dir_.path()).size(), 2u);  // the old one under the staging name
  recover_stale_staging(out_);
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"model"});
  EXPECT_EQ(at_path(), "new");
}

// Where the file system cannot exchange (EINVAL), two renames: the result is the same.
TEST_F(ReplaceTest, WithoutExchangeTwoRenamesReplace) {
  faulty_.fail_exchange(EINVAL);
  StagedDirectory staged = staged_with(out_, "new");
  ASSERT_TRUE(staged.commit().ok());
  EXPECT_EQ(at_path(), "new");
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"model"});
}

// A crash between the two renames leaves the old directory aside; the next run for the path
// puts it back, so the path never ends with nothing.
TEST_F(ReplaceTest, CrashBetweenTheTwoRenamesIsPutBack) {
  EXPECT_EXIT(
      {
        faulty_.fail_exchange(EINVAL);
        StagedDirectory staged = staged_with(out_, "new");
        faulty_.crash_after_rename_call(1);
        (void)staged.commit();
      },
      ::testing::ExitedWithCode(FaultyFileSystem::kCrashExitCode), "");
  EXPECT_EQ(at_path(), "");  // the instant between the renames
  recover_stale_staging(out_);
  EXPECT_EQ(at_path(), "old");
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"model"});
}

TEST_F(ReplaceTest, CrashAfterTheSecondRenameLeavesTheNewOne) {
  EXPECT_EXIT(
      {
        faulty_.fail_exchange(EINVAL);
        StagedDirectory staged = staged_with(out_, "new");
        faulty_.crash_after_rename_call(2);
        (void)staged.commit();
      },
      ::testing::ExitedWithCode(FaultyFileSystem::kCrashExitCode), "");
  EXPECT_EQ(at_path(), "new");
  // Creating the next staging directory for the path clears the leftovers first.
  {
    auto next = StagedDirectory::create(out_, true);
    ASSERT_TRUE(next.ok());
    EXPECT_EQ(entries(dir_.path()).size(), 2u);  // model and the new staging directory
  }
  EXPECT_EQ(entries(dir_.path()), std::set<std::string>{"model"});
}

// --overwrite replaces only what the caller recognises, checked again at commit.
TEST_F(ReplaceTest, OverwriteReplacesOnlyWhatTheCheckAccepts) {
  const ReplaceCheck only_old = [](const std::string& path) {
    return testing::read_bytes(path + "/m.txt") == "old"
               ? Status::OK()
               : Status::AlreadyExists(path + " is not ours");
  };
  auto staged = StagedDirectory::create(out_, true, only_old);
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE(staged->write("m.txt", "new").ok());
  testing::write_bytes(out_ + "/m.txt", "the user's");  // changed while the run worked
  const Status st = staged->commit();
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
  EXPECT_NE(st.message().find("is not ours"), std::string::npos) << st.message();
  EXPECT_EQ(at_path(), "the user's");
  EXPECT_EQ(StagedDirectory::create(out_, true, only_old).status().code(), Code::kAlreadyExists);
  // A file is never replaced by a directory without a check that accepts it.
  testing::write_bytes(dir_.file("file"), "x");
  EXPECT_EQ(StagedDirectory::create(dir_.file("file"), true).status().code(), Code::kAlreadyExists);
}

// Two runs to the same new path: the second to commit is told, and the first's directory stays.
TEST_F(FilesTest, TheSecondOfTwoConcurrentCommitsIsRefused) {
  const std::string out = dir_.file("model");
  auto a = StagedDirectory::create(out, false);
  auto b = StagedDirectory::create(out, false);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a->write("m.txt", "a").ok());
  ASSERT_TRUE(b->write("m.txt", "b").ok());
  ASSERT_TRUE(a->commit().ok());
  const Status st = b->commit();
  EXPECT_EQ(st.code(), Code::kAlreadyExists) << st.ToString();
  EXPECT_NE(st.message().find("already exists"), std::string::npos) << st.message();
  EXPECT_EQ(testing::read_bytes(out + "/m.txt"), "a");
}

// ---- Output paths ------------------------------------------------------------------------------

TEST_F(FilesTest, OutputPathTakesATrailingSlashAndRefusesEmpty) {
  auto staged = StagedDirectory::create(dir_.file("model/"), false);
  ASSERT_TRUE(staged.ok()) << staged.status().ToString();
  ASSERT_TRUE(staged->write("a", "A").ok());
  ASSERT_TRUE(staged->commit().ok());
  EXPECT_EQ(testing::read_bytes(dir_.file("model/a")), "A");
  const Status empty = StagedDirectory::create("", false).status();
  EXPECT_EQ(empty.code(), Code::kInvalidArgument);
  EXPECT_NE(empty.message().find("empty"), std::string::npos) << empty.message();
  EXPECT_EQ(write_file_atomic("", "x").code(), Code::kInvalidArgument);
  EXPECT_EQ(check_output("", true, {}).code(), Code::kInvalidArgument);
}

// Names that fit NAME_MAX must not fail because of the staging suffix.
TEST_F(FilesTest, NamesNearNameMaxAreWritten) {
  for (size_t length : {200, 243, 250, 255}) {
    const std::string name(length, 'n');
    ASSERT_TRUE(write_file_atomic(dir_.file(name), "x").ok()) << length;
    const std::string dir_name(length - 1, 'd');
    auto staged = StagedDirectory::create(dir_.file(dir_name), false);
    ASSERT_TRUE(staged.ok()) << length << ": " << staged.status().ToString();
    ASSERT_TRUE(staged->write("a", "A").ok());
    ASSERT_TRUE(staged->commit().ok()) << length;
    EXPECT_EQ(testing::read_bytes(dir_.file(dir_name) + "/a"), "A");
  }
  EXPECT_EQ(entries(dir_.path()).size(), 8u);
}

TEST_F(FilesTest, CheckOutputBeforeAnyWork) {
  EXPECT_TRUE(check_output(dir_.file("new"), false, {}).ok());
  EXPECT_EQ(check_output(dir_.file("no/new"), false, {}).code(), Code::kNotFound);
  testing::write_bytes(dir_.file("there"), "x");
  EXPECT_EQ(check_output(dir_.file("there"), false, {}).code(), Code::kAlreadyExists);
  // With overwrite, only what the check accepts.
  EXPECT_EQ(check_output(dir_.file("there"), true, {}).code(), Code::kAlreadyExists);
  EXPECT_TRUE(
      check_output(dir_.file("there"), true, [](const std::string&) { return Status::OK(); }).ok());
}

TEST_F(FilesTest, OutputApartFromInputs) {
  fs::create_directory(dir_.file("data"));
  testing::write_bytes(dir_.file("data/part.npy"), "x");
  testing::write_bytes(dir_.file("one.npy"), "x");
  fs::create_symlink(dir_.file("one.npy"), dir_.file("link.npy"));
  fs::create_hard_link(dir_.file("one.npy"), dir_.file("hard.npy"));
  const std::vector<std::string> inputs{dir_.file("data"), dir_.file("data/part.npy"),
                                        dir_.file("one.npy")};
  auto refused = [&](const std::string& out, const std::string& words) {
    const Status st = check_output_apart_from_inputs(out, inputs);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << out;
    EXPECT_NE(st.message().find(words), std::string::npos) << st.message();
  };
  refused(dir_.file("one.npy"), "is the input");
  refused(dir_.file("link.npy"), "is the input");
  refused(dir_.file("hard.npy"), "is the input");
  refused(dir_.file("data/"), "is the input");
  refused(dir_.path(), "contains the input");
  refused(dir_.file("data/model"), "is inside the input");
  refused(dir_.file("data/../one.npy"), "is the input");
  EXPECT_TRUE(check_output_apart_from_inputs(dir_.file("model"), inputs).ok());
  EXPECT_TRUE(check_output_apart_from_inputs(dir_.file("data2"), inputs).ok());
  EXPECT_TRUE(check_output_apart_from_inputs(dir_.file("one.npy:train"), {}).ok());
  refused(dir_.file("one.npy"), "is the input");
  EXPECT_EQ(check_output_apart_from_inputs(dir_.file("one.npy"), {dir_.file("one.npy") + ":train"})
                .code(),
            Code::kInvalidArgument);
}

// ---- Staging files of interrupted runs ---------------------------------------------------------

// A process that dies with its staging files (SIGKILL, a power cut) leaves them; the next run for
// the same output removes them, as the process id in their names is not alive.
TEST_F(FilesTest, StaleStagingOfDeadProcessesIsRemoved) {
  const std::string out = dir_.file("model");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto staged = StagedDirectory::create(out, false);
    (void)staged->write("a", "A");
    ::_exit(staged.ok() ? 0 : 1);  // no destructor runs: the staging directory stays
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_EQ(entries(dir_.path()).size(), 1u);
  const std::string left = *entries(dir_.path()).begin();
  EXPECT_EQ(left.rfind(".model.tmp-", 0), 0u) << left;
  // A file of the user's that only looks alike is not touched.
  testing::write_bytes(dir_.file(".model.tmp-notes"), "x");
  // Earlier versions' names (no host) of the same dead process are removed too.
  const std::string legacy = ".model.tmp-" + std::to_string(child) + "-0";
  fs::create_directory(dir_.file(legacy));
  auto staged = StagedDirectory::create(out, false);
  ASSERT_TRUE(staged.ok());
  EXPECT_EQ(entries(dir_.path()).count(left), 0u);
  EXPECT_EQ(entries(dir_.path()).count(legacy), 0u);
  EXPECT_EQ(entries(dir_.path()).count(".model.tmp-notes"), 1u);
}

// What a signal handler calls: this process's uncommitted staging files go.
TEST_F(FilesTest, RemoveOwnStagingRemovesUncommittedStaging) {
  auto staged = StagedDirectory::create(dir_.file("model"), false);
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE(staged->write("a", "A").ok());
  ASSERT_EQ(entries(dir_.path()).size(), 1u);
  remove_own_staging();
  EXPECT_TRUE(entries(dir_.path()).empty());
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
