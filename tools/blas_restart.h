// The CLI's (and the benchmark tools') restart with a better OpenBLAS core (better_blas_core()).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "ivftrain/simd.h"

namespace ivftrain::cli {

// The variable the restarted process finds (the core ivftrain chose), so that --version can
// tell ivftrain's choice from the user's.
inline constexpr char kBlasRestartVariable[] = "IVFTRAIN_BLAS_RESTART";

// When OpenBLAS did not recognise this CPU and runs its generic kernels, starts this program
// again, same arguments and process id, with OPENBLAS_CORETYPE naming the kernels the CPU can
// run: OpenBLAS reads the variable only as it loads. The program's own file is executed (not
// /proc/self/exe, whose name the process would then carry in ps and pgrep), and not when it was
// started through the dynamic loader (the file is then the loader's). Returns when no restart
// is needed, when OPENBLAS_CORETYPE is already set (the user's choice is kept, and the restarted
// process stops here), or when the restart fails (training goes on with the generic kernels).
inline void restart_with_better_blas(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  const std::string core = better_blas_core();
  if (core.empty()) return;
  char path[4096];
  const ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  if (length <= 0) return;
  path[length] = '\0';
  const char* slash = std::strrchr(path, '/');
  if (std::strncmp(slash ? slash + 1 : path, "ld-", 3) == 0) return;
  if (setenv("OPENBLAS_CORETYPE", core.c_str(), 1) != 0) return;
  setenv(kBlasRestartVariable, core.c_str(), 1);
  execv(path, argv);
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kBlasRestartVariable);
}

}  // namespace ivftrain::cli
