// Faults that the command line's hidden test options inject through the library's seams
// (tests/e2e and scripts/error_table.sh use them). Not part of the API: the library itself
// reads no environment variable and has no fault switch of its own.
#pragma once

#include <cstdint>

namespace ivftrain::testing {

// From now on, the n-th write() of the process fails as on a full disk (n >= 1); 0 does nothing.
void fail_write_call(int64_t n);

// From now on, the n-th write() of the process sends `signal` to the process and never returns
// (n >= 1; 0 does nothing): a signal that arrives during a write, without a timing race.
void signal_at_write_call(int64_t n, int signal);

// From now on, under mpi_train, rank `rank` fails its sampling (-1: none). Does nothing in a
// build without MPI.
void fail_mpi_rank(int rank);

}  // namespace ivftrain::testing
