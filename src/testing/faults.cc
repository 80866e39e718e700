#include "testing/faults.h"

#include "util/files.h"
#ifdef IVFTRAIN_HAVE_MPI
#include "mpi/testing.h"
#endif

namespace ivftrain::testing {

void fail_write_call(int64_t n) {
  if (n <= 0) return;
  static FaultyFileSystem faulty;
  faulty.fail_write_call(n);
  set_file_system(&faulty);
}

void fail_mpi_rank(int rank) {
#ifdef IVFTRAIN_HAVE_MPI
  set_mpi_failing_rank_for_testing(rank);
#else
  (void)rank;
#endif
}

}  // namespace ivftrain::testing
