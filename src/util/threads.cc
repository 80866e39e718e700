#include "util/threads.h"

#include <omp.h>

#include <mutex>

extern "C" void openblas_set_num_threads(int);
extern "C" int openblas_get_num_threads(void);

namespace ivftrain {

int resolve_threads(int requested) { return requested > 0 ? requested : omp_get_max_threads(); }

// ivftrain parallelises over row blocks with OpenMP and calls SGEMM from every thread, so
// OpenBLAS must run single-threaded inside those calls: for speed (no oversubscription), and
// for determinism: with two OpenBLAS threads, 0.3.21's SGEMM changed distances in the last bits
// (512-row blocks, d = 48, AVX-512), so the model would depend on the host's BLAS setting.
//
// OpenBLAS 0.3.21 (Debian 12) has only a process-wide count: openblas_set_num_threads_local came
// in 0.3.26, and is not per-thread in the pthread build anyway. Setting 1 on every call when it
// differed (as before) kept the results right but took the host's setting away for good (numpy
// in the same interpreter, a host application); setting it once would leave the results at the
// mercy of a host that raises it again. So the count is 1 exactly while ivftrain runs SGEMM: the
// first holder sets 1 and remembers the previous count, the last one gives it back. One lock per
// kernel call (against milliseconds of SGEMM); calls made from inside ivftrain's own parallel
// regions (one per PQ sub-space or k-means group) overlap and share one setting. What a host
// cannot do is change the count while an ivftrain call runs. Documented in ivftrain/kmeans.h.
//
// This is for the pthread build of OpenBLAS, which CMake links. The OpenMP build ignores the
// setting (it runs single-threaded inside an active parallel region and on omp_get_max_threads()
// threads elsewhere), so with it a run on one ivftrain thread could differ from one on several.
namespace {
std::mutex blas_mutex;
int blas_holders = 0;
int blas_previous = 1;
}  // namespace

SingleThreadedBlas::SingleThreadedBlas() {
  std::lock_guard<std::mutex> lock(blas_mutex);
  if (blas_holders++ == 0) {
    blas_previous = openblas_get_num_threads();
    if (blas_previous != 1) openblas_set_num_threads(1);
  }
}

SingleThreadedBlas::~SingleThreadedBlas() {
  std::lock_guard<std::mutex> lock(blas_mutex);
  if (--blas_holders == 0 && blas_previous != 1) openblas_set_num_threads(blas_previous);
}

}  // namespace ivftrain
