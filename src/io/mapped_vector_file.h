// The reader shared by every format whose rows are fixed-size records in one file (.npy,
// .fvecs/.bvecs, .fbin/.u8bin/.i8bin): rows are copied, converted to float32, straight out of
// a read-only memory mapping.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "io/mapped_file.h"
#include "io/vector_file.h"

namespace ivftrain {

class MappedVectorFile final : public VectorFile {
 public:
  struct Layout {
    int64_t data_offset = 0;  // bytes before row 0
    int64_t row_stride = 0;   // bytes from the start of one row to the next
    bool dim_prefix = false;  // each row starts with its own int32 dimension (fvecs, bvecs)
  };
  // The caller has checked that the layout fits inside `map`.
  MappedVectorFile(std::string path, MappedFile map, int64_t num_rows, int64_t dim,
                   ElementType type, Layout layout)
      : VectorFile(std::move(path), num_rows, dim, type), map_(std::move(map)), layout_(layout) {}

  Status read_rows(std::span<const int64_t> rows, float* out) const override;
  Status read_range(int64_t first, int64_t count, float* out) const override;

 private:
  // Copies rows row_at(0..count-1) of the file to out, each converted to float32; a file
  // truncated meanwhile is an error naming it, not a SIGBUS.
  template <typename RowAt>
  Status copy_rows(int64_t count, RowAt row_at, float* out) const;
  MappedFile map_;
  Layout layout_;
};

}  // namespace ivftrain
