// The .npy format (version 1.0), for writing float32 arrays (the model files, generated data)
// and parsing headers (the reader).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ivftrain/status.h"

namespace ivftrain {

// The bytes of a C-order .npy file holding `data` with `shape`. `descr` is the NumPy type string
// ("<f4", "<f2", "<f8", "|u1", "|i1"); data holds product(shape) elements of that type.
std::string npy_bytes(const std::vector<int64_t>& shape, const std::string& descr, const void* data,
                      size_t element_size);
inline std::string npy_bytes_f32(const std::vector<int64_t>& shape, const float* data) {
  return npy_bytes(shape, "<f4", data, sizeof(float));
}

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;  // bytes from the start of the file to the data
};
// Parses the header at the start of `bytes` (at least the first data_offset bytes of the file).
// `name` is used in error messages.
Result<NpyHeader> parse_npy_header(const char* bytes, size_t size, const std::string& name);

// Reads a float32 .npy written by npy_bytes (for the model directory).
Result<std::vector<float>> read_npy_f32(const std::string& path, std::vector<int64_t>* shape);

}  // namespace ivftrain
