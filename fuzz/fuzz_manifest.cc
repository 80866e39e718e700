// Dataset::open of a manifest (the input is the JSON text). At start-up the scratch directory
// gets small valid vector files the manifest can point at: a.fbin (10 x 4), b.npy (7 x 4),
// c.fvecs (5 x 4), d.u8bin (6 x 4), e.hdf5 (8 x 4, dataset "train"), w.fbin
// (3 x 8, another dimension). The seed corpus and dictionary use these names.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "fuzz_util.h"
#include "io/formats.h"
#include "io/vector_writer.h"
#include "ivftrain/dataset.h"

namespace {

using namespace ivftrain;

void must(const Status& st) {
  if (!st.ok()) {
    std::fprintf(stderr, "fuzz harness: %s\n", st.message().c_str());
    std::abort();
  }
}

void make_fixture_files() {
  const std::string dir = fuzz::scratch_dir();
  std::vector<float> v(64);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 13) - 6.0f;
  must(write_vector_file(dir + "/a.fbin", FileFormat::kFbin, 10, 4, v.data()));
  must(write_vector_file(dir + "/b.npy", FileFormat::kNpy, 7, 4, v.data()));
  must(write_vector_file(dir + "/c.fvecs", FileFormat::kFvecs, 5, 4, v.data()));
  must(write_vector_file(dir + "/d.u8bin", FileFormat::kU8bin, 6, 4, v.data()));
  must(write_vector_file(dir + "/e.hdf5", FileFormat::kHdf5, 8, 4, v.data()));
  must(write_vector_file(dir + "/w.fbin", FileFormat::kFbin, 3, 8, v.data()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  make_fixture_files();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_scratch_file("manifest.json", data, size);
  {
    auto dataset = Dataset::open(path);
    if (dataset.ok()) {
      if (dataset->fragments().empty()) fuzz::invariant_failed("a dataset without fragments");
      for (size_t i = 1; i < dataset->fragments().size(); ++i) {
        if (dataset->fragments()[i].id <= dataset->fragments()[i - 1].id) {
          fuzz::invariant_failed("fragment ids are not strictly increasing");
        }
      }
      fuzz::read_all_rows(*dataset, int64_t{1} << 16);
    } else if (dataset.status().message().find(path) == std::string::npos) {
      fuzz::invariant_failed("a manifest error does not name the manifest");
    }
  }
  ::unlink(path.c_str());
  return 0;
}
