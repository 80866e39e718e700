// The MPI runner's messaging over MPI_COMM_WORLD, shared by its files: waits that leave the
// cores to the ranks still working, strings of any length (sent in pieces: MPI counts are int),
// and the agreement on a status that ends every rank at the first error of any.
#pragma once

#include <mpi.h>

#include <string>

#include "ivftrain/status.h"

namespace ivftrain {

// Waits for a non-blocking operation, testing it in quick succession for the first 200 us and
// then with pauses growing to 2 ms: a collective whose ranks have all arrived ends at once, and a
// rank that waits long for rank 0 (planning, training) does not take a core from it.
void wait_gently(MPI_Request& request);

void bcast_string(std::string& s, int root);
void send_string(const std::string& s, int dest);
std::string recv_string(int source);
// Sends `out` to `dest` while receiving the string `source` sends: one step of an exchange in
// which every rank sends and receives at once (no rank waits on a send whose receiver waits).
std::string sendrecv_string(const std::string& out, int dest, int source);

// Every rank contributes its status; every rank returns the first failure (lowest rank), its
// message prefixed with the rank, or OK when all succeeded. Collective: no rank is left waiting.
Status agree(const Status& mine, int rank, int size);

}  // namespace ivftrain
