// Waiting for MPI without spinning, shared by the MPI runner's pieces.
#pragma once

#include <mpi.h>

#include <chrono>
#include <thread>

namespace ivftrain {

// Waits for a non-blocking operation without spinning: a rank that waits for another (planning,
// training its groups) must not take a core from it.
inline void wait_gently(MPI_Request& request) {
  int done = 0;
  MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  while (!done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  }
}

}  // namespace ivftrain
