// Which SIMD kernels ivftrain runs, and how to force a lower level.
//
// The assignment kernels are compiled for several instruction sets and the best one the CPU
// supports is chosen at run time (Google Highway), so one binary runs on any x86-64 (or
// aarch64). Models are byte-identical whatever the level among those that fuse multiply-add
// (avx512, avx2, neon); sse4, ssse3 and scalar round the direct kernel's products separately and
// may differ from them in the last bits (identical among runs at the same level, for any thread
// count and worker count). The GEMM path's matrix product is OpenBLAS's, which chooses its own
// kernels (blas_core()).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ivftrain/status.h"

namespace ivftrain {

// The level in use: "avx512", "avx2", "sse4", "ssse3", "neon" or "scalar".
std::string simd_target();

// The levels this binary has and this CPU supports, best first.
std::vector<std::string> simd_targets();

// Uses `name` (one of simd_targets()) or, with "best", the best level again. Levels above the
// chosen one are disabled process-wide; call it before training starts, not during.
Status set_simd_target(std::string_view name);

// set_simd_target(the value of the environment variable IVFTRAIN_SIMD) when it is set and not
// empty; OK and nothing changed otherwise. For programs that, like the CLI, let the environment
// choose; the library reads no environment variable unless this is called.
Status set_simd_target_from_env();

// The BLAS's own description of the kernels it runs (OpenBLAS: its core name, e.g. "Haswell").
std::string blas_core();

// The OpenBLAS core that runs this CPU's matrix products faster than the one OpenBLAS chose, or
// "" when its choice stands. OpenBLAS falls back to its generic Prescott (SSE3) kernels on a CPU
// model it does not know (Debian 12's 0.3.21 on CPUs released after it), about 2.5x slower than
// its AVX-512 (SkylakeX) or AVX2 (Haswell) kernels, which run on any CPU with those instruction
// sets. OpenBLAS reads its core from the environment variable OPENBLAS_CORETYPE once, as it
// loads, so a program can use this only by starting again with the variable set (the CLI does).
// Follows the SIMD level in use: with IVFTRAIN_SIMD=avx2 forced, the AVX2 kernels. Models do not
// depend on the BLAS's kernels (see linalg/near_ties.h).
std::string better_blas_core();

}  // namespace ivftrain
