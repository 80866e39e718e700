// The one place that writes files: atomically, through a temporary sibling and a rename, so a
// reader never sees a half-written file and a failed write leaves nothing behind.
#pragma once

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

// Test hook: when set to N > 0, the N-th following file write fails as a full disk would
// (simulates a write that fails midway). 0 disables it.
void set_write_failure_after_for_testing(int n);

}  // namespace ivftrain
