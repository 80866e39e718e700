// .fbin / .u8bin / .i8bin (big-ann-benchmarks): a header of uint32 row count and int32
// dimension, then the rows as float32, uint8 or int8.
#include <fmt/format.h>

#include <cstdint>
#include <cstring>

#include "io/formats.h"
#include "io/mapped_vector_file.h"
#include "util/status_macros.h"

namespace ivftrain {

Result<VectorFilePtr> open_bin_file(const std::string& path, ElementType type) {
  IVF_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(path));
  constexpr int64_t kHeader = 8;
  const int64_t size = static_cast<int64_t>(map.size());
  if (size < kHeader) {
    return Status::Corruption(fmt::format(
        "{} is truncated: {} bytes, too short for the {}-byte header", path, size, kHeader));
  }
  uint32_t rows = 0;
  int32_t dim = 0;
  std::memcpy(&rows, map.data(), 4);
  std::memcpy(&dim, map.data() + 4, 4);
  if (dim < 0)
    return Status::Corruption(fmt::format("{}: header declares dimension {}", path, dim));
  const std::optional<int64_t> declared =
      checked_product(rows, dim, static_cast<int64_t>(element_size(type)));
  const int64_t data_bytes = declared.value_or(INT64_MAX - kHeader);
  if (size - kHeader < data_bytes) {
    return Status::Corruption(fmt::format(
        "{} is truncated: the header declares {} rows of dimension {} ({} bytes) but the file "
        "has {} bytes",
        path, rows, dim, kHeader + data_bytes, size));
  }
  if (size - kHeader > data_bytes) {
    return Status::Corruption(fmt::format(
        "{}: the header declares {} rows of dimension {} ({} bytes) but the file has {} bytes "
        "({} trailing bytes)",
        path, rows, dim, kHeader + data_bytes, size, size - kHeader - data_bytes));
  }
  const MappedVectorFile::Layout layout{
      kHeader, int64_t{dim} * static_cast<int64_t>(element_size(type)), false};
  return VectorFilePtr(
      std::make_unique<MappedVectorFile>(path, std::move(map), rows, dim, type, layout));
}

}  // namespace ivftrain
