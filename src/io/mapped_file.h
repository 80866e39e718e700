// A read-only memory mapping of a whole file: the vector readers copy only the rows they are
// asked for straight out of the page cache, with no read buffer of their own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "ivftrain/status.h"

namespace ivftrain {

class MappedFile {
 public:
  // Maps `path` read-only. A missing path is kNotFound, a directory kInvalidArgument, an empty
  // file kCorruption (no format here has an empty valid file); messages name the path.
  static Result<MappedFile> open(const std::string& path);

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const char* data() const { return data_; }
  size_t size() const { return size_; }

  // Runs `read`, which reads from data(). A file truncated while mapped makes such a read fault
  // (SIGBUS), which would kill the process; here the fault ends `read` early instead, and the
  // offset (in the file) it touched is returned, so the caller can name the file. nullopt: `read`
  // ran to its end. `read` must neither allocate nor take locks (a fault may abandon it at any
  // point) and must not call guarded_read itself.
  template <typename F>
  std::optional<size_t> guarded_read(F&& read) const {
    using Fn = std::remove_reference_t<F>;
    return guarded_read_impl([](void* f) { (*static_cast<Fn*>(f))(); },
                             const_cast<void*>(static_cast<const void*>(&read)));
  }

  // Hints that bytes [offset, offset + length) will be read soon (sequential reads benefit
  // from read-ahead, which the mapping otherwise disables because sampling reads at random).
  void will_need(size_t offset, size_t length) const;
  // Drops the pages of [offset, offset + length) from this process's mapping once read: the
  // kernel's page cache keeps them, but they stop counting towards our resident memory, so
  // sampling a file larger than memory does not look like (or become) memory pressure.
  void done_with(size_t offset, size_t length) const;

 private:
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}
  std::optional<size_t> guarded_read_impl(void (*read)(void*), void* arg) const;
  // madvise over the whole pages covering [offset, offset + length), clipped to the file.
  void advise(size_t offset, size_t length, int advice) const;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ivftrain
