// .fvecs / .bvecs (the TEXMEX corpus format): every row is an int32 dimension followed by that
// many float32 (fvecs) or uint8 (bvecs) values. There is no file header: the row count follows
// from the file size and the first row's dimension.
#include <fmt/format.h>

#include <cstring>

#include "io/formats.h"
#include "io/mapped_vector_file.h"
#include "util/status_macros.h"

namespace ivftrain {

Result<VectorFilePtr> open_vecs_file(const std::string& path, ElementType type) {
  IVF_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(path));
  int32_t dim = 0;
  if (map.size() < sizeof dim) {
    return Status::Corruption(
        fmt::format("{} is truncated: {} bytes, too short for a row header", path, map.size()));
  }
  std::memcpy(&dim, map.data(), sizeof dim);
  if (dim <= 0) {
    return Status::Corruption(fmt::format("{}: row 0 has dimension {}", path, dim));
  }
  const int64_t record = 4 + int64_t{dim} * static_cast<int64_t>(element_size(type));
  const int64_t size = static_cast<int64_t>(map.size());
  if (size % record != 0) {
    return Status::Corruption(fmt::format(
        "{}: size {} bytes is not a multiple of the row size {} (dimension {} from row 0); the "
        "file is truncated or its rows differ in dimension",
        path, size, record, dim));
  }
  const MappedVectorFile::Layout layout{0, record, true};
  return VectorFilePtr(
      std::make_unique<MappedVectorFile>(path, std::move(map), size / record, dim, type, layout));
}

}  // namespace ivftrain
