#include "io/mapped_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ivftrain {

Result<MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("{} does not exist", path));
    return Status::IOError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  }
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    const std::string err = std::strerror(errno);
    ::close(fd);
    return Status::IOError(fmt::format("cannot stat {}: {}", path, err));
  }
  if (!S_ISREG(sb.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(fmt::format("{} is not a regular file", path));
  }
  if (sb.st_size == 0) {
    ::close(fd);
    return Status::Corruption(fmt::format("{} is empty", path));
  }
  const size_t size = static_cast<size_t>(sb.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int mmap_errno = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (p == MAP_FAILED) {
    return Status::IOError(fmt::format("cannot map {}: {}", path, std::strerror(mmap_errno)));
  }
  // Sampling touches scattered rows: read-ahead would mostly fetch pages nobody reads.
  ::madvise(p, size, MADV_RANDOM);
  return MappedFile(static_cast<const char*>(p), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
    data_ = other.data_;
    size_ = other.size_;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<char*>(data_), size_);
}

void MappedFile::advise(size_t offset, size_t length, int advice) const {
  if (!data_ || length == 0 || offset >= size_) return;
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t begin = offset / page * page;
  const size_t end = std::min(size_, offset + length);
  ::madvise(const_cast<char*>(data_) + begin, end - begin, advice);
}

void MappedFile::will_need(size_t offset, size_t length) const {
  advise(offset, length, MADV_WILLNEED);
}

void MappedFile::done_with(size_t offset, size_t length) const {
  advise(offset, length, MADV_DONTNEED);
}

}  // namespace ivftrain
