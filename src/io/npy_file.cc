// .npy vector files: a 2-D C-order array of float32, float16, float64, uint8 or int8.
#include <fmt/format.h>

#include "io/formats.h"
#include "io/mapped_vector_file.h"
#include "io/npy.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

std::optional<ElementType> type_of(const std::string& descr) {
  // Little-endian only (every platform ivftrain builds on); one-byte types have no byte order.
  if (descr == "<f4") return ElementType::kFloat32;
  if (descr == "<f2") return ElementType::kFloat16;
  if (descr == "<f8") return ElementType::kFloat64;
  if (descr == "|u1" || descr == "<u1") return ElementType::kUInt8;
  if (descr == "|i1" || descr == "<i1") return ElementType::kInt8;
  return std::nullopt;
}

}  // namespace

Result<VectorFilePtr> open_npy_file(const std::string& path) {
  IVF_ASSIGN_OR_RETURN(MappedFile map, MappedFile::open(path));
  IVF_ASSIGN_OR_RETURN(const NpyHeader h, parse_npy_header(map.data(), map.size(), path));
  const std::optional<ElementType> type = type_of(h.descr);
  if (!type) {
    return Status::InvalidArgument(fmt::format(
        "{}: unsupported dtype '{}' (supported: <f4, <f2, <f8, |u1, |i1)", path, h.descr));
  }
  if (h.fortran_order) {
    return Status::InvalidArgument(
        fmt::format("{}: Fortran-order arrays are not supported; save it in C order "
                    "(numpy.ascontiguousarray)",
                    path));
  }
  if (h.shape.size() != 2) {
    return Status::InvalidArgument(fmt::format(
        "{}: expected a 2-D array (rows, dim), found shape {}", path, npy_shape_text(h.shape)));
  }
  const int64_t rows = h.shape[0], dim = h.shape[1];
  const std::optional<int64_t> bytes =
      checked_product(rows, dim, static_cast<int64_t>(element_size(*type)));
  const uint64_t available = map.size() - h.data_offset;
  if (!bytes || static_cast<uint64_t>(*bytes) > available) {
    return Status::Corruption(fmt::format(
        "{} is truncated: shape {} of '{}' needs {} bytes of data but the file holds {}", path,
        npy_shape_text(h.shape), h.descr, bytes ? fmt::format("{}", *bytes) : "too many",
        available));
  }
  if (static_cast<uint64_t>(*bytes) < available) {
    return Status::Corruption(fmt::format("{}: {} unexpected bytes after the data of shape {}",
                                          path, available - *bytes, npy_shape_text(h.shape)));
  }
  const MappedVectorFile::Layout layout{static_cast<int64_t>(h.data_offset),
                                        dim * static_cast<int64_t>(element_size(*type)), false};
  return VectorFilePtr(
      std::make_unique<MappedVectorFile>(path, std::move(map), rows, dim, *type, layout));
}

}  // namespace ivftrain
