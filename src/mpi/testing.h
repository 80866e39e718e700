// Test hook of the MPI runner, not part of the public API: it makes one rank fail, so that a
// test can check that every rank then ends with that rank's error instead of waiting for it.
// The end-to-end test reaches it through the CLI's hidden --fail-rank-for-testing option.
#pragma once

namespace ivftrain {

// From now on, in every mpi_train, rank `rank` fails its sampling with an I/O error naming the
// rank; -1 (the default) turns the hook off.
void set_mpi_failing_rank_for_testing(int rank);

}  // namespace ivftrain
