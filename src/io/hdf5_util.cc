#include "io/hdf5_util.h"

namespace ivftrain {
namespace {

std::mutex& hdf5_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

Hdf5Lock::Hdf5Lock() : guard_(hdf5_mutex()) { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

H5Handle& H5Handle::operator=(H5Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

bool H5Handle::reset() {
  bool ok = true;
  if (id_ >= 0 && close_) ok = close_(id_) >= 0;
  id_ = H5I_INVALID_HID;
  return ok;
}

}  // namespace ivftrain
