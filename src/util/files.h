// The one place that writes files: atomically, through a temporary sibling and a rename, so a
// reader never sees a half-written file and a failed write leaves nothing behind.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "ivftrain/status.h"

namespace ivftrain {

// Writes `bytes` to `path` atomically (temporary file in the same directory, fsync, rename).
Status write_file_atomic(const std::string& path, std::string_view bytes);

// Reads a whole file. Errors name the path.
Result<std::string> read_file(const std::string& path);

// Whether an existing output may be replaced: OK when `path` holds what the caller itself writes
// (a model directory it recognises, a result file), else an error naming what is there.
using ReplaceCheck = std::function<Status(const std::string& path)>;

// The output path as the writers use it: trailing slashes dropped ("m/" is "m"). An empty path
// is refused with a sentence.
Result<std::string> output_path(const std::string& path);

// Checks an output before any work: the path is not empty, its parent is an existing directory
// this process may write, and an existing path is refused unless `overwrite` and `replaceable`
// accepts it (no check: refused). Stale staging files of dead processes for this output are
// removed first (recover_stale_staging). The writers check again when they commit.
Status check_output(const std::string& path, bool overwrite, const ReplaceCheck& replaceable);

// Refuses an output that is, contains or lies inside one of `inputs` (files or directories;
// symbolic links and hard links resolved), naming both. An HDF5 input may carry ":DATASET".
Status check_output_apart_from_inputs(const std::string& output,
                                      const std::vector<std::string>& inputs);

// Staging names. A writer stages `DIR/NAME` as the hidden sibling `DIR/.NAME.tmp-HOST-PID-N`
// (and, when replacing a directory where the file system cannot exchange two names, moves the
// old one aside as `DIR/.NAME.old-HOST-PID-N`); HOST is a hash of the host name, PID the
// writer's process id. A NAME too long for the suffix within NAME_MAX is shortened and hashed.
// This removes the stale staging entries of `path` that processes of this host left when they
// died (a process id that is not alive), and puts back an old directory whose replacement was
// interrupted when nothing is at `path`. Entries of other hosts are reported in the log, not
// touched. Errors are logged, never returned: a leftover must not stop a new run.
void recover_stale_staging(const std::string& path);

// Removes every staging file and directory of this process that is not committed yet, and puts
// back an old directory moved aside by a replacement in progress: what a signal handler (run as
// an ordinary thread, as the command line's) calls before the process ends. Thread-safe.
void remove_own_staging();

// A directory built under a temporary name beside its final path and renamed into place by
// commit(). Destroyed without commit(), it removes the temporary directory.
class StagedDirectory {
 public:
  // Refuses an existing `final_path` unless overwrite and `replaceable` accepts it (no check:
  // any directory). Creates the temporary directory.
  static Result<StagedDirectory> create(const std::string& final_path, bool overwrite,
                                        ReplaceCheck replaceable = {});
  StagedDirectory(StagedDirectory&& other) noexcept;
  StagedDirectory& operator=(StagedDirectory&&) = delete;
  ~StagedDirectory();

  // Path of a file inside the temporary directory.
  std::string file(const std::string& name) const;
  // Writes a file inside the temporary directory (plain write + fsync: the rename of the
  // directory is the atomic step).
  Status write(const std::string& name, std::string_view bytes) const;
  // Moves the directory into place. Without overwrite, a path that appeared meanwhile (another
  // run) is refused, never replaced. With it, an old directory (checked again) is replaced in
  // one step where the file system can exchange two names (Linux renameat2 RENAME_EXCHANGE):
  // the path holds the old or the new directory at every instant. Where it cannot (EINVAL,
  // e.g. some network file systems), the old one is first moved aside to a hidden sibling; a
  // crash between the two renames leaves it there, and the next run for this path puts it back
  // (recover_stale_staging).
  Status commit();

 private:
  StagedDirectory(std::string final_path, std::string temp_path, bool overwrite,
                  ReplaceCheck replaceable)
      : final_path_(std::move(final_path)), temp_path_(std::move(temp_path)), overwrite_(overwrite),
        replaceable_(std::move(replaceable)) {}
  std::string final_path_, temp_path_;
  bool overwrite_ = false;
  ReplaceCheck replaceable_;
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
  // renameat2(RENAME_EXCHANGE): swaps two existing names atomically.
  virtual int exchange(const char* a, const char* b);
  // renameat2(RENAME_NOREPLACE): fails with EEXIST when `to` exists.
  virtual int rename_noreplace(const char* from, const char* to);
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
  // Every rename (rename, exchange, rename_noreplace) fails while set.
  void fail_renames(bool fail);
  // exchange() fails with this errno (e.g. EINVAL, as on a file system without
  // RENAME_EXCHANGE) while non-zero.
  void fail_exchange(int error);
  // The n-th rename-family call from now on (1: the next one) is carried out, then the process
  // ends at once with _exit(kCrashExitCode), as a power cut between two steps would; 0: none.
  void crash_after_rename_call(int64_t n);
  static constexpr int kCrashExitCode = 86;
  // The n-th write() call from now on sends `signal` to the process and then never returns
  // (its thread waits until the signal ends the process): a signal that arrives at a write,
  // deterministically; 0: none. SIGSTOP stops the process there, and the write goes on once
  // the process is continued (SIGCONT).
  void signal_at_write_call(int64_t n, int signal);
  // Bytes written through this file system so far.
  int64_t bytes_written() const;

  ssize_t write(int fd, const void* data, size_t size) override;
  int fsync(int fd) override;
  int rename(const char* from, const char* to) override;
  int exchange(const char* a, const char* b) override;
  int rename_noreplace(const char* from, const char* to) override;

 private:
  // Counts a rename-family call; ends the process after `op` when it is the chosen one.
  int renamed(int result);
  mutable std::mutex mu_;
  int64_t write_calls_left_ = 0;  // 0: no failing call pending
  int64_t byte_limit_ = -1;       // against bytes_written_; -1: none
  int64_t bytes_written_ = 0;
  bool fail_renames_ = false;
  int exchange_errno_ = 0;
  int64_t renames_left_ = 0;  // 0: no crash pending
  int64_t signal_writes_left_ = 0;
  int signal_ = 0;
};

// Shorthand for tests: n > 0 installs a process-wide FaultyFileSystem whose n-th write() call
// from now fails; 0 restores the default file system.
void set_write_failure_after_for_testing(int n);

}  // namespace ivftrain
