#include "io/mapped_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <csignal>
#include <cstring>
#include <mutex>

#include "util/open_file.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

// SIGBUS is how the kernel reports a read of a mapped page that the file no longer has (it was
// truncated by someone else). Rather than read through pread (a system call per row, and the
// end of the page-cache sampling the mapping gives), the reads of a mapping run under a guard:
// a SIGBUS inside the guarded range jumps back out of the read, which then fails with a
// sentence. Any other SIGBUS goes to the handler that was there before, or kills the process
// as it would have.
struct Guard {
  sigjmp_buf* jump;
  const char* begin;
  const char* end;
  const char* volatile fault;  // set by the handler, read after the jump
};
thread_local Guard* t_guard = nullptr;  // the calling thread's active guard: the fault is its own
struct sigaction g_previous_sigbus;

void on_sigbus(int sig, siginfo_t* info, void* context) {
  Guard* g = t_guard;
  const char* addr = static_cast<const char*>(info->si_addr);
  if (g != nullptr && addr >= g->begin && addr < g->end) {
    g->fault = addr;
    t_guard = nullptr;
    siglongjmp(*g->jump, 1);
  }
  if ((g_previous_sigbus.sa_flags & SA_SIGINFO) != 0 && g_previous_sigbus.sa_sigaction) {
    g_previous_sigbus.sa_sigaction(sig, info, context);
  } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
    g_previous_sigbus.sa_handler(sig);
  } else {
    // Returning retries the access, which now ends the process as if there were no handler.
    ::signal(SIGBUS, SIG_DFL);
  }
}

void install_sigbus_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous_sigbus);
  });
}

}  // namespace

std::optional<size_t> MappedFile::guarded_read_impl(void (*read)(void*), void* arg) const {
  install_sigbus_handler();
  sigjmp_buf jump;
  Guard guard{&jump, data_, data_ + size_, nullptr};
  Guard* const outer = t_guard;
  // savemask = 1: the jump out of the handler must unblock SIGBUS again.
  if (sigsetjmp(jump, 1) != 0) {
    t_guard = outer;
    return static_cast<size_t>(guard.fault - data_);
  }
  t_guard = &guard;
  read(arg);
  t_guard = outer;
  return std::nullopt;
}

Result<MappedFile> MappedFile::open(const std::string& path) {
  IVF_ASSIGN_OR_RETURN(const ReadOnlyFile file, ReadOnlyFile::open(path));
  if (file.size() == 0) return Status::Corruption(fmt::format("{} is empty", path));
  const size_t size = static_cast<size_t>(file.size());
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd(), 0);
  const int mmap_errno = errno;  // the descriptor is closed on return: the mapping keeps the file
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
