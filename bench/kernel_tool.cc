// Runs one assignment kernel once over generated rows, for counting its instructions under
// callgrind (scripts/instruction_budgets.py): a deterministic measure of the kernels' code, so
// that a change which makes the compiler spill vectors to the stack fails CI instead of shipping.
//
//   kernel_tool levels                  the SIMD levels this CPU (as seen) supports, best first
//   kernel_tool run KERNEL ROWS         KERNEL: direct or direct_two_min (d = 8, k = 256: a PQ
//                                       sub-space), argmin, two_min or top_t (one 512-centroid
//                                       tile of the GEMM path)
// IVFTRAIN_SIMD forces the level, as for the CLI.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ivftrain/simd.h"
#include "linalg/kernels.h"

namespace {

std::vector<float> normal(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

int run(const std::string& kernel, int64_t rows) {
  using namespace ivftrain::kernels;
  std::vector<int32_t> labels(static_cast<size_t>(rows * 16), 0);
  std::vector<float> best(static_cast<size_t>(rows * 16), INFINITY), second(best);
  if (kernel == "direct" || kernel == "direct_two_min") {
    const int64_t d = 8, k = 256;
    const auto x = normal(static_cast<size_t>(rows * d), 1);
    const auto ct = normal(static_cast<size_t>(d * k), 2);
    const auto init = normal(static_cast<size_t>(k), 3);
    if (kernel == "direct") {
      direct_argmin(rows, d, x.data(), k, ct.data(), init.data(), -2.0f, best.data(),
                    labels.data());
    } else {
      direct_two_min(rows, d, x.data(), nullptr, k, ct.data(), init.data(), -2.0f, best.data(),
                     labels.data(), second.data());
    }
  } else {
    const int64_t size = 512;
    const auto dots = normal(static_cast<size_t>(rows * size), 4);
    const auto bias = normal(static_cast<size_t>(size), 5);
    if (kernel == "argmin") {
      tile_argmin(rows, dots.data(), size, bias.data(), size, 0, best.data(), labels.data());
    } else if (kernel == "two_min") {
      tile_two_min(rows, dots.data(), size, bias.data(), size, 0, best.data(), labels.data(),
                   second.data());
    } else if (kernel == "top_t") {
      tile_top_t(rows, dots.data(), size, bias.data(), size, 0, 16, best.data(), labels.data());
    } else {
      std::fprintf(stderr, "kernel_tool: unknown kernel %s\n", kernel.c_str());
      return 2;
    }
  }
  int64_t sum = 0;  // keeps the results alive
  for (int32_t l : labels) sum += l;
  std::printf("%s %lld rows, label sum %lld, level %s\n", kernel.c_str(),
              static_cast<long long>(rows), static_cast<long long>(sum),
              ivftrain::simd_target().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (const ivftrain::Status s = ivftrain::set_simd_target_from_env(); !s.ok()) {
    std::fprintf(stderr, "kernel_tool: %s\n", s.message().c_str());
    return 2;
  }
  if (argc == 2 && std::strcmp(argv[1], "levels") == 0) {
    for (const std::string& level : ivftrain::simd_targets()) std::printf("%s\n", level.c_str());
    return 0;
  }
  if (argc == 4 && std::strcmp(argv[1], "run") == 0) return run(argv[2], std::stoll(argv[3]));
  std::fprintf(stderr, "usage: kernel_tool levels | kernel_tool run KERNEL ROWS\n");
  return 2;
}
