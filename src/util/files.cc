#include "util/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "util/open_file.h"
#include "util/status_macros.h"

namespace fs = std::filesystem;

namespace ivftrain {
namespace {

// The operating system's calls.
class PosixFileSystem : public FileSystem {
 public:
  ssize_t write(int fd, const void* data, size_t size) override { return ::write(fd, data, size); }
  int fsync(int fd) override { return ::fsync(fd); }
  int rename(const char* from, const char* to) override { return ::rename(from, to); }
};

std::atomic<FileSystem*> g_file_system{nullptr};  // nullptr: the default

std::string unique_suffix() {
  static std::atomic<uint64_t> counter{0};
  return fmt::format("{}-{}", ::getpid(), counter.fetch_add(1));
}

Status write_fd(int fd, std::string_view bytes, const std::string& shown_path) {
  FileSystem* const fs = file_system();
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = fs->write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(fmt::format("cannot write {}: {}", shown_path, std::strerror(errno)));
    }
    done += static_cast<size_t>(w);
  }
  if (fs->fsync(fd) != 0) {
    return Status::IOError(fmt::format("cannot sync {}: {}", shown_path, std::strerror(errno)));
  }
  return Status::OK();
}

Status write_new_file(const std::string& path, std::string_view bytes,
                      const std::string& shown_path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError(fmt::format("cannot create {}: {}", shown_path, std::strerror(errno)));
  }
  Status st = write_fd(fd, bytes, shown_path);
  if (::close(fd) != 0 && st.ok()) {
    st = Status::IOError(fmt::format("cannot close {}: {}", shown_path, std::strerror(errno)));
  }
  if (!st.ok()) ::unlink(path.c_str());
  return st;
}

std::string parent_of(const std::string& path) {
  fs::path p = fs::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}

}  // namespace

FileSystem* default_file_system() {
  static PosixFileSystem posix;
  return &posix;
}

FileSystem* file_system() {
  FileSystem* fs = g_file_system.load();
  return fs ? fs : default_file_system();
}

FileSystem* set_file_system(FileSystem* fs) {
  FileSystem* previous = g_file_system.exchange(fs);
  return previous ? previous : default_file_system();
}

void FaultyFileSystem::fail_write_call(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  write_calls_left_ = n;
}

void FaultyFileSystem::fail_after_bytes(int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  byte_limit_ = bytes < 0 ? -1 : bytes_written_ + bytes;
}

void FaultyFileSystem::fail_renames(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_renames_ = fail;
}

int64_t FaultyFileSystem::bytes_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_written_;
}

ssize_t FaultyFileSystem::write(int fd, const void* data, size_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  if (write_calls_left_ > 0 && --write_calls_left_ == 0) {
    errno = ENOSPC;
    return -1;
  }
  if (byte_limit_ >= 0) {
    const auto room = static_cast<size_t>(std::max<int64_t>(0, byte_limit_ - bytes_written_));
    if (room == 0 && size > 0) {
      errno = ENOSPC;
      return -1;
    }
    size = std::min(size, room);
  }
  const ssize_t w = ::write(fd, data, size);
  if (w > 0) bytes_written_ += w;
  return w;
}

int FaultyFileSystem::fsync(int fd) { return ::fsync(fd); }

int FaultyFileSystem::rename(const char* from, const char* to) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_renames_) {
    errno = EIO;
    return -1;
  }
  return ::rename(from, to);
}

void set_write_failure_after_for_testing(int n) {
  static FaultyFileSystem faulty;
  faulty.fail_write_call(n);
  set_file_system(n > 0 ? &faulty : nullptr);
}

Status write_file_atomic(const std::string& path, std::string_view bytes) {
  const fs::path target(path);
  const std::string temp =
      (fs::path(parent_of(path)) / ("." + target.filename().string() + ".tmp-" + unique_suffix()))
          .string();
  Status st = write_new_file(temp, bytes, path);
  if (!st.ok()) return st;
  if (file_system()->rename(temp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(temp.c_str());
    return Status::IOError(fmt::format("cannot move {} into place: {}", path, err));
  }
  return Status::OK();
}

Result<std::string> read_file(const std::string& path) {
  IVF_ASSIGN_OR_RETURN(const ReadOnlyFile file, ReadOnlyFile::open(path));
  std::string out;
  out.resize(static_cast<size_t>(file.size()));
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = ::read(file.fd(), out.data() + done, out.size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const std::string err = r < 0 ? std::strerror(errno) : "file shrank while reading";
      return Status::IOError(fmt::format("cannot read {}: {}", path, err));
    }
    done += static_cast<size_t>(r);
  }
  return out;
}

Result<StagedDirectory> StagedDirectory::create(const std::string& final_path, bool overwrite) {
  std::error_code ec;
  if (fs::exists(final_path, ec) && !overwrite) {
    return Status::AlreadyExists(
        fmt::format("{} already exists; pass --overwrite to replace it", final_path));
  }
  const std::string parent = parent_of(final_path);
  if (!fs::is_directory(parent, ec)) {
    if (fs::exists(parent, ec)) {
      return Status::InvalidArgument(
          fmt::format("cannot create {}: {} is not a directory", final_path, parent));
    }
    return Status::NotFound(
        fmt::format("cannot create {}: directory {} does not exist", final_path, parent));
  }
  const std::string name = fs::path(final_path).filename().string();
  const std::string temp = (fs::path(parent) / ("." + name + ".tmp-" + unique_suffix())).string();
  if (::mkdir(temp.c_str(), 0755) != 0) {
    return Status::IOError(fmt::format("cannot create {}: {}", final_path, std::strerror(errno)));
  }
  return StagedDirectory(final_path, temp, overwrite);
}

StagedDirectory::StagedDirectory(StagedDirectory&& other) noexcept
    : final_path_(std::move(other.final_path_)), temp_path_(std::move(other.temp_path_)),
      overwrite_(other.overwrite_), committed_(other.committed_) {
  other.committed_ = true;  // the moved-from object owns nothing
}

StagedDirectory::~StagedDirectory() {
  if (!committed_ && !temp_path_.empty()) {
    std::error_code ec;
    fs::remove_all(temp_path_, ec);
  }
}

std::string StagedDirectory::file(const std::string& name) const {
  return (fs::path(temp_path_) / name).string();
}

Status StagedDirectory::write(const std::string& name, std::string_view bytes) const {
  return write_new_file(file(name), bytes, (fs::path(final_path_) / name).string());
}

Status StagedDirectory::commit() {
  std::error_code ec;
  std::string old;
  if (fs::exists(final_path_, ec)) {
    if (!overwrite_) {
      return Status::AlreadyExists(
          fmt::format("{} already exists; pass --overwrite to replace it", final_path_));
    }
    old = (fs::path(parent_of(final_path_)) /
           ("." + fs::path(final_path_).filename().string() + ".old-" + unique_suffix()))
              .string();
    if (file_system()->rename(final_path_.c_str(), old.c_str()) != 0) {
      return Status::IOError(
          fmt::format("cannot replace {}: {}", final_path_, std::strerror(errno)));
    }
  }
  if (file_system()->rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    if (!old.empty()) ::rename(old.c_str(), final_path_.c_str());  // put the old one back
    return Status::IOError(fmt::format("cannot move {} into place: {}", final_path_, err));
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
  return Status::OK();
}

}  // namespace ivftrain
