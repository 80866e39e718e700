// The one place that writes files: atomically, through a temporary sibling and a rename, so a
// reader never sees a half-written file and a failed write leaves nothing behind.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "ivftrain/status.h"

namespace ivftrain {

// Writes `bytes` to `path` atomically (temporary file in the same directory, fsync, rename).
Status write_file_atomic(const std::string& path, std::string_view bytes);

// Reads a whole file. Errors name the path.
Result<std::string> read_file(const std::string& path);

// A directory built under a temporary name beside its final path and renamed into place by
// commit(). Destroyed without commit(), it removes the temporary directory.
class StagedDirectory {
 public:
  // Refuses an existing `final_path` unless overwrite. Creates the temporary directory.
  static Result<StagedDirectory> create(const std::string& final_path, bool overwrite);
  StagedDirectory(StagedDirectory&& other) noexcept;
  StagedDirectory& operator=(StagedDirectory&&) = delete;
  ~StagedDirectory();

  // Path of a file inside the temporary directory.
  std::string file(const std::string& name) const;
  // Writes a file inside the temporary directory (plain write + fsync: the rename of the
  // directory is the atomic step).
  Status write(const std::string& name, std::string_view bytes) const;
  // Moves the directory into place (replacing an old one only now, when overwrite was given).
  Status commit();

 private:
  StagedDirectory(std::string final_path, std::string temp_path, bool overwrite)
      : final_path_(std::move(final_path)), temp_path_(std::move(temp_path)),
        overwrite_(overwrite) {}
  std::string final_path_, temp_path_;
  bool overwrite_ = false;
  bool committed_ = false;
};

// The system calls through which the writers above change the file system, behind an interface
// (as LevelDB's Env) so that tests can make them fail where a full disk or a failing rename
// would, without the library reading the environment. Each has the POSIX call's contract:
// -1 and errno on failure.
class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual ssize_t write(int fd, const void* data, size_t size) = 0;
  virtual int fsync(int fd) = 0;
  virtual int rename(const char* from, const char* to) = 0;
};

// The operating system's calls.
FileSystem* default_file_system();
// The file system the writers use now: default_file_system() unless a test or a tool installed
// another with set_file_system.
FileSystem* file_system();
// Installs `fs` (not owned; it must outlive its use) for every write that starts from now on,
// process-wide; nullptr restores the default. Returns the one it replaces. For tests and test
// hooks of the command line: not meant to be changed while another thread writes.
FileSystem* set_file_system(FileSystem* fs);

// Installs a file system for the lifetime of this object, then restores the previous one.
class ScopedFileSystem {
 public:
  explicit ScopedFileSystem(FileSystem* fs) : previous_(set_file_system(fs)) {}
  ~ScopedFileSystem() { set_file_system(previous_); }
  ScopedFileSystem(const ScopedFileSystem&) = delete;
  ScopedFileSystem& operator=(const ScopedFileSystem&) = delete;

 private:
  FileSystem* previous_;
};

// A FileSystem that passes every call to the operating system until a fault it was given fires:
// then the call fails as a full disk (ENOSPC) or a refused rename (EIO) would. Thread-safe.
class FaultyFileSystem : public FileSystem {
 public:
  // The n-th write() call from now on (1: the next one) fails, and only it; 0: none.
  void fail_write_call(int64_t n);
  // Writes succeed until `bytes` bytes have been written in all since this call; the write that
  // crosses the limit writes only what fits (a short write) and the ones after it fail.
  // -1: no limit.
  void fail_after_bytes(int64_t bytes);
  // Every rename() fails while set.
  void fail_renames(bool fail);
  // Bytes written through this file system so far.
  int64_t bytes_written() const;

  ssize_t write(int fd, const void* data, size_t size) override;
  int fsync(int fd) override;
  int rename(const char* from, const char* to) override;

 private:
  mutable std::mutex mu_;
  int64_t write_calls_left_ = 0;  // 0: no failing call pending
  int64_t byte_limit_ = -1;       // against bytes_written_; -1: none
  int64_t bytes_written_ = 0;
  bool fail_renames_ = false;
};

// Shorthand for tests: n > 0 installs a process-wide FaultyFileSystem whose n-th write() call
// from now fails; 0 restores the default file system.
void set_write_failure_after_for_testing(int n);

}  // namespace ivftrain
