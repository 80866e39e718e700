// The CLI's (and the benchmark tools') restart with a better OpenBLAS core (better_blas_core()).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "ivftrain/simd.h"

namespace ivftrain::cli {

// When OpenBLAS did not recognise this CPU and runs its generic kernels, starts this program
// again, same arguments and process id, with OPENBLAS_CORETYPE naming the kernels the CPU can
// run: OpenBLAS reads the variable only as it loads. Returns when no restart is needed, when the
// variable is already set (the user's choice is kept, and the restarted process stops here), or
// when the restart fails (training then goes on with the generic kernels).
inline void restart_with_better_blas(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  const std::string core = better_blas_core();
  if (core.empty()) return;
  if (setenv("OPENBLAS_CORETYPE", core.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace ivftrain::cli
