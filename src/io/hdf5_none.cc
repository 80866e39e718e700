// HDF5 vector files in a build without HDF5 (IVFTRAIN_WITH_HDF5=OFF, e.g. the aarch64 cross
// build: Debian's libhdf5-dev cannot be installed for two architectures at once). The file names
// are still recognised, so that such a file is refused with a reason instead of "unsupported".
#include <fmt/format.h>

#include "io/formats.h"

namespace ivftrain {
namespace {

Status no_hdf5(const std::string& path) {
  return Status::InvalidArgument(
      fmt::format("{}: this build of ivftrain has no HDF5 support (IVFTRAIN_WITH_HDF5=OFF)", path));
}

}  // namespace

Result<VectorFilePtr> open_hdf5_file(const std::string& path, const std::string& /*dataset*/) {
  return no_hdf5(path);
}

Status write_hdf5_file(const std::string& path, int64_t /*n*/, int64_t /*dim*/,
                       const RowSource& /*rows*/, const std::string& /*dataset*/) {
  return no_hdf5(path);
}

}  // namespace ivftrain
