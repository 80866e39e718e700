#include "io/mapped_vector_file.h"

#include <fmt/format.h>

#include <cstring>

#include "io/formats.h"
#include "util/status_macros.h"

namespace ivftrain {

template <typename RowAt>
Status MappedVectorFile::copy_rows(int64_t count, RowAt row_at, float* out) const {
  // Only the first row's dimension was checked at open: a file mixing dimensions can still
  // have the right total size, so every row read checks its own.
  int64_t bad_row = -1;
  int32_t bad_dim = 0;
  const std::optional<size_t> fault = map_.guarded_read([&] {
    for (int64_t i = 0; i < count; ++i) {
      const int64_t row = row_at(i);
      const char* src = map_.data() + layout_.data_offset + row * layout_.row_stride;
      if (layout_.dim_prefix) {
        int32_t d;
        std::memcpy(&d, src, sizeof d);
        if (d != dim_) {
          bad_row = row;
          bad_dim = d;
          return;
        }
        src += sizeof d;
      }
      convert_to_float(type_, src, dim_, out + i * dim_);
    }
  });
  if (fault) {
    const int64_t row = (static_cast<int64_t>(*fault) - layout_.data_offset) / layout_.row_stride;
    return Status::IOError(fmt::format(
        "{}: cannot read row {}: the file was truncated while being read (byte {} of the {} it "
        "had when opened is gone)",
        path_, row, *fault, map_.size()));
  }
  if (bad_row >= 0) {
    return Status::Corruption(
        fmt::format("{}: row {} has dimension {}, expected {}", path_, bad_row, bad_dim, dim_));
  }
  return Status::OK();
}

Status MappedVectorFile::read_rows(std::span<const int64_t> rows, float* out) const {
  IVF_RETURN_IF_ERROR(check_rows(path_, num_rows_, rows));
  if (rows.empty()) return Status::OK();
  // The mapping is advised for random access. When the rows are on average less than 8 KB
  // apart, nearly every page they span is touched anyway: ask for the whole span at once
  // rather than faulting page by page.
  const int64_t span_bytes = (rows.back() - rows.front() + 1) * layout_.row_stride;
  if (static_cast<int64_t>(rows.size()) * 8192 >= span_bytes) {
    map_.will_need(static_cast<size_t>(layout_.data_offset + rows.front() * layout_.row_stride),
                   static_cast<size_t>(span_bytes));
  }
  IVF_RETURN_IF_ERROR(copy_rows(
      static_cast<int64_t>(rows.size()), [&](int64_t i) { return rows[static_cast<size_t>(i)]; },
      out));
  map_.done_with(static_cast<size_t>(layout_.data_offset + rows.front() * layout_.row_stride),
                 static_cast<size_t>(span_bytes));
  return Status::OK();
}

Status MappedVectorFile::read_range(int64_t first, int64_t count, float* out) const {
  if (first < 0 || count < 0 || first > num_rows_ - count) {
    return Status::InvalidArgument(
        fmt::format("{}: rows {}..{} are out of range (the file has {} rows)", path_, first,
                    first + count, num_rows_));
  }
  map_.will_need(static_cast<size_t>(layout_.data_offset + first * layout_.row_stride),
                 static_cast<size_t>(count * layout_.row_stride));
  IVF_RETURN_IF_ERROR(copy_rows(
      count, [first](int64_t i) { return first + i; }, out));
  map_.done_with(static_cast<size_t>(layout_.data_offset + first * layout_.row_stride),
                 static_cast<size_t>(count * layout_.row_stride));
  return Status::OK();
}

}  // namespace ivftrain
