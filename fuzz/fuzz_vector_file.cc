// One libFuzzer target per memory-mapped vector-file format, built from this file with
// IVFTRAIN_FUZZ_EXT set to the extension (".npy", ".fvecs", ...); HDF5 has fuzz_hdf5.cc. The input
// is the whole file. With IVFTRAIN_FUZZ_EXT_ALT set too, the first input byte chooses between the
// two extensions (the .u8bin and .i8bin readers share their code) and the rest is the file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "io/formats.h"
#include "io/vector_file.h"

namespace {

constexpr int64_t kMaxElements = int64_t{1} << 20;

const char* extension(const uint8_t*& data, size_t& size) {
#ifdef IVFTRAIN_FUZZ_EXT_ALT
  if (size == 0) return nullptr;
  const bool alt = data[0] & 1;
  ++data;
  --size;
  return alt ? IVFTRAIN_FUZZ_EXT_ALT : IVFTRAIN_FUZZ_EXT;
#else
  (void)data;
  (void)size;
  return IVFTRAIN_FUZZ_EXT;
#endif
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ivftrain;
  const char* ext = extension(data, size);
  if (!ext) return 0;
  const std::string path = fuzz::write_scratch_file(std::string("input") + ext, data, size);
  {
    auto file = open_vector_file(path, "train");
    if (file.ok()) {
      const VectorFile& f = **file;
      // The fixed-record formats check their header against the file size at open: what they
      // promise must fit in the bytes given.
      const auto need = checked_product(f.num_rows(), f.dim(),
                                        static_cast<int64_t>(element_size(f.element_type())));
      if (!need || *need > static_cast<int64_t>(size)) {
        fuzz::invariant_failed("the header promises more data than the file holds");
      }
      fuzz::read_all_rows(f, kMaxElements);
    } else if (file.status().message().find(path) == std::string::npos) {
      // Every error names the file it is about.
      fuzz::invariant_failed("an open error does not name the file");
    }
  }
  ::unlink(path.c_str());
  return 0;
}
