#include "io/mapped_vector_file.h"

#include <fmt/format.h>

#include <cstring>

#include "io/formats.h"
#include "util/status_macros.h"

namespace ivftrain {

Status MappedVectorFile::copy_row(int64_t row, float* out) const {
  const char* src = map_.data() + layout_.data_offset + row * layout_.row_stride;
  if (layout_.dim_prefix) {
    // Only the first row's dimension was checked at open: a file mixing dimensions can still
    // have the right total size, so every row read checks its own.
    int32_t d;
    std::memcpy(&d, src, sizeof d);
    if (d != dim_) {
      return Status::Corruption(
          fmt::format("{}: row {} has dimension {}, expected {}", path_, row, d, dim_));
    }
    src += sizeof d;
  }
  convert_to_float(type_, src, dim_, out);
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
  for (size_t i = 0; i < rows.size(); ++i) {
    IVF_RETURN_IF_ERROR(copy_row(rows[i], out + static_cast<int64_t>(i) * dim_));
  }
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
  for (int64_t i = 0; i < count; ++i) {
    IVF_RETURN_IF_ERROR(copy_row(first + i, out + i * dim_));
  }
  map_.done_with(static_cast<size_t>(layout_.data_offset + first * layout_.row_stride),
                 static_cast<size_t>(count * layout_.row_stride));
  return Status::OK();
}

}  // namespace ivftrain
