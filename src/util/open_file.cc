#include "util/open_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ivftrain {
namespace {

// What a file that is not regular is, for the message that refuses it.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Status not_regular(const std::string& path, mode_t mode) {
  return Status::InvalidArgument(fmt::format(
      "{} is {}, not a regular file: ivftrain reads only regular files", path, kind_of(mode)));
}

}  // namespace

Status open_error(const std::string& path, int err) {
  if (err == ENOENT) return Status::NotFound(fmt::format("{} does not exist", path));
  if (err == EMFILE || err == ENFILE) {
    // Datasets of many HDF5 fragments keep one descriptor per file: say which limit was hit.
    struct rlimit lim {};
    const bool known =
        err == EMFILE && ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY;
    return Status::IOError(fmt::format(
        "cannot open {}: {}{}", path, std::strerror(err),
        known ? fmt::format(" (this process may open {} files; raise the limit with ulimit -n)",
                            static_cast<uint64_t>(lim.rlim_cur))
              : std::string()));
  }
  // A socket cannot be opened at all (ENXIO): name what the path is rather than the errno.
  struct stat sb {};
  if (::stat(path.c_str(), &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
    return not_regular(path, sb.st_mode);
  }
  return Status::IOError(fmt::format("cannot open {}: {}", path, std::strerror(err)));
}

Result<ReadOnlyFile> ReadOnlyFile::open(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever. Regular
  // files ignore the flag; it is cleared below all the same.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return open_error(path, errno);
  ReadOnlyFile file(fd, 0);
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    return Status::IOError(fmt::format("cannot stat {}: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(sb.st_mode)) return not_regular(path, sb.st_mode);
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  file.size_ = static_cast<int64_t>(sb.st_size);
  return file;
}

ReadOnlyFile::~ReadOnlyFile() {
  if (fd_ >= 0) ::close(fd_);
}

Status check_readable_regular_file(const std::string& path) {
  Result<ReadOnlyFile> file = ReadOnlyFile::open(path);
  return file.ok() ? Status::OK() : file.status();
}

}  // namespace ivftrain
