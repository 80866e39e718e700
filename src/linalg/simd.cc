#include "ivftrain/simd.h"

#include <cblas.h>
#include <hwy/targets.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace ivftrain {
namespace {

// Highway's target bits, best first, under the names ivftrain reports.
struct Level {
  int64_t target;
  const char* name;
};
constexpr Level kLevels[] = {
#if HWY_ARCH_X86
    {HWY_AVX3, "avx512"},   {HWY_AVX2, "avx2"},     {HWY_SSE4, "sse4"}, {HWY_SSSE3, "ssse3"},
#elif HWY_ARCH_ARM
    {HWY_NEON, "neon"},
#endif
    {HWY_EMU128, "emu128"}, {HWY_SCALAR, "scalar"},
};

const char* level_name(int64_t target) {
  for (const Level& level : kLevels) {
    if (level.target == target) return level.name;
  }
  return hwy::TargetName(target);
}

// The targets this CPU supports, read before ivftrain disables any (only set_simd_target does,
// and it reads this first).
int64_t cpu_targets() {
  static const int64_t targets = hwy::SupportedTargets();
  return targets;
}

}  // namespace

std::string simd_target() {
  // The best target still supported is the one HWY_DYNAMIC_DISPATCH chooses.
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  return targets.empty() ? "scalar" : level_name(targets.front());
}

std::vector<std::string> simd_targets() {
  std::vector<std::string> names;
  for (const Level& level : kLevels) {
    if ((HWY_TARGETS & cpu_targets() & level.target) != 0) names.emplace_back(level.name);
  }
  return names;
}

Status set_simd_target(std::string_view name) {
  cpu_targets();
  if (name == "best") {
    hwy::DisableTargets(0);
    return Status::OK();
  }
  for (const Level& level : kLevels) {
    if (name != level.name) continue;
    if ((HWY_TARGETS & level.target) == 0) break;
    if ((cpu_targets() & level.target) == 0) {
      return Status::InvalidArgument("SIMD level " + std::string(name) +
                                     " is not supported by this CPU");
    }
    // Highway orders targets by bit: every better target has a lower bit.
    hwy::DisableTargets(level.target - 1);
    return Status::OK();
  }
  std::string known;
  for (const std::string& n : simd_targets()) known += (known.empty() ? "" : ", ") + n;
  return Status::InvalidArgument("SIMD level " + std::string(name) +
                                 " is unknown; this binary has best, " + known);
}

Status set_simd_target_from_env() {
  const char* value = std::getenv("IVFTRAIN_SIMD");
  if (value == nullptr || *value == '\0') return Status::OK();
  Status status = set_simd_target(value);
  if (!status.ok()) return Status::InvalidArgument("IVFTRAIN_SIMD: " + status.message());
  return status;
}

std::string blas_core() {
  const char* core = openblas_get_corename();
  return core ? core : "unknown";
}

std::string better_blas_core() {
  if (blas_core() != "Prescott") return "";
#if HWY_ARCH_X86
  // The best target in use (Highway orders targets by bit: a better one has a lower bit), so
  // that newer AVX-512 targets count as AVX-512.
  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  if (targets.empty()) return "";
  if (targets.front() <= HWY_AVX3) return "SkylakeX";
  if (targets.front() <= HWY_AVX2) return "Haswell";
#endif
  return "";
}

}  // namespace ivftrain
