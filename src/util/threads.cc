#include "util/threads.h"

#include <omp.h>

#include <mutex>

extern "C" void openblas_set_num_threads(int);

namespace ivftrain {

int resolve_threads(int requested) {
  return requested > 0 ? requested : omp_get_max_threads();
}

void use_single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

}  // namespace ivftrain
