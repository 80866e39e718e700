// read_model_dir over arbitrary model.json text. At start-up the scratch directory becomes a
// model directory whose arrays fit a model of dim 4, 2 partitions, PQ of 2 sub-vectors x 4 bits
// and global SQ bounds (the seeds, made by `ivftrain train` with those parameters, match); the
// input is written as its model.json.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "io/npy.h"
#include "ivftrain/model_dir.h"

namespace {

void write_array(const std::string& name, const std::vector<int64_t>& shape) {
  size_t count = 1;
  for (const int64_t d : shape) count *= static_cast<size_t>(d);
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = static_cast<float>(i % 7) - 3.0f;
  const std::string bytes = ivftrain::npy_bytes_f32(shape, v.data());
  ivftrain::fuzz::write_scratch_file(name, reinterpret_cast<const uint8_t*>(bytes.data()),
                                     bytes.size());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  write_array("ivf_centroids.npy", {2, 4});
  write_array("pq_codebook.npy", {2, 16, 2});
  write_array("sq_bounds.npy", {2});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ivftrain;
  const std::string dir = fuzz::scratch_dir();
  const std::string path = fuzz::write_scratch_file("model.json", data, size);
  auto model = read_model_dir(dir);
  if (model.ok()) {
    const TrainedModels& m = *model;
    if (static_cast<int64_t>(m.ivf_centroids.size()) != m.params.ivf.num_partitions * m.dim) {
      fuzz::invariant_failed("IVF centroids of the wrong size accepted");
    }
  } else if (model.status().message().find(dir) == std::string::npos) {
    fuzz::invariant_failed("a model error does not name the directory or its file");
  }
  ::unlink(path.c_str());
  return 0;
}
