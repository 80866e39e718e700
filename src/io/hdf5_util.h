// Guarding and owning HDF5 C API objects.
//
// Debian's libhdf5 cannot be trusted from several threads at once, so every HDF5 call in
// ivftrain happens while holding Hdf5Lock (one global mutex).
#pragma once

#include <hdf5.h>

#include <mutex>

namespace ivftrain {

class Hdf5Lock {
 public:
  // Takes the global HDF5 mutex, and turns off HDF5's printing of error stacks to stderr
  // (the library never prints; failures become Status). The setting is per thread in
  // thread-safe builds, hence here rather than once.
  Hdf5Lock();

 private:
  std::lock_guard<std::mutex> guard_;
};

// Owns an HDF5 identifier and closes it with `close` (H5Fclose, H5Dclose, ...). Must be
// destroyed under Hdf5Lock: declare the lock before any handle.
class H5Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Handle() = default;
  H5Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  H5Handle(H5Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  H5Handle& operator=(H5Handle&& o) noexcept;
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  ~H5Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Closes now; returns false when HDF5 reports a failure (matters for files being written).
  bool reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

}  // namespace ivftrain
