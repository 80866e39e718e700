// Opening files for reading without ever blocking: the one place every reader (datasets,
// manifests, plans, tasks, sample results, model.json) opens an input file.
#pragma once

#include <cstdint>
#include <string>

#include "ivftrain/status.h"

namespace ivftrain {

// An open, regular file, read-only; closes its descriptor when destroyed.
class ReadOnlyFile {
 public:
  // Opens `path` and checks that it is a regular file before anything reads from it. The open
  // itself does not wait: a FIFO (which would block in open until a writer appears), a device or
  // a socket is refused with a sentence naming the path and what it is. A missing path is
  // kNotFound, too many open files says so (with the limit), other failures are kIOError.
  static Result<ReadOnlyFile> open(const std::string& path);

  ReadOnlyFile(ReadOnlyFile&& other) noexcept : fd_(other.fd_), size_(other.size_) {
    other.fd_ = -1;
  }
  ReadOnlyFile& operator=(ReadOnlyFile&&) = delete;
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ~ReadOnlyFile();

  int fd() const { return fd_; }
  int64_t size() const { return size_; }  // at open

 private:
  ReadOnlyFile(int fd, int64_t size) : fd_(fd), size_(size) {}
  int fd_ = -1;
  int64_t size_ = 0;
};

// Checks, as ReadOnlyFile::open does, that `path` can be opened for reading and is a regular
// file, then closes it: for readers that open the file through another library (HDF5).
Status check_readable_regular_file(const std::string& path);

// The error for an open() of `path` that failed with `err` (an errno value), as
// ReadOnlyFile::open reports it.
Status open_error(const std::string& path, int err);

}  // namespace ivftrain
