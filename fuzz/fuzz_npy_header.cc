// parse_npy_header over arbitrary bytes: refused naming the file, or a header whose data offset
// lies within the bytes given.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ivftrain;
  auto h = parse_npy_header(reinterpret_cast<const char*>(data), size, "fuzz.npy");
  if (!h.ok()) {
    if (h.status().message().find("fuzz.npy") == std::string::npos) {
      fuzz::invariant_failed("an npy header error does not name the file");
    }
    return 0;
  }
  if (h->data_offset > size) fuzz::invariant_failed("data_offset beyond the input");
  for (const int64_t d : h->shape) {
    if (d < 0) fuzz::invariant_failed("a negative dimension accepted");
  }
  return 0;
}
