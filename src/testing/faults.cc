#include "testing/faults.h"

#include "util/files.h"
#ifdef IVFTRAIN_HAVE_MPI
#include "mpi/testing.h"
#endif

namespace ivftrain::testing {

namespace {

// The one file system every write hook below installs.
FaultyFileSystem& faulty() {
  static FaultyFileSystem fs;
  return fs;
}

}  // namespace

void fail_write_call(int64_t n) {
  if (n <= 0) return;
  faulty().fail_write_call(n);
  set_file_system(&faulty());
}

void signal_at_write_call(int64_t n, int signal) {
  if (n <= 0) return;
  faulty().signal_at_write_call(n, signal);
  set_file_system(&faulty());
}

void fail_mpi_rank(int rank) {
#ifdef IVFTRAIN_HAVE_MPI
  set_mpi_failing_rank_for_testing(rank);
#else
  (void)rank;
#endif
}

}  // namespace ivftrain::testing
