#include "util/threads.h"

#include <omp.h>


extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads(void);

namespace ivftrain {

int resolve_threads(int requested) {
  return requested > 0 ? requested : omp_get_max_threads();
}

void use_single_threaded_blas() {
  // Checked on every call, not once: anything in the process (a host application, numpy in the
  // same interpreter) may raise OpenBLAS's thread count again, and then every assignment would
  // oversubscribe the cores.
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

}  // namespace ivftrain
