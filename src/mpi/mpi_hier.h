// The MPI collectives hierarchical k-means adds to a k-means shard (kmeans/shard.h): groups of
// rows move to the rank that trains them, and small per-rank lists are gathered.
#pragma once

#include <cstdint>
#include <vector>

namespace ivftrain {

int mpi_rank();
int mpi_size();

// Every rank's `mine`, in rank order, on every rank (KMeansShard::all_gather).
std::vector<std::vector<int64_t>> mpi_all_gather(const std::vector<int64_t>& mine);

// One MPI_Alltoallv of rows and their metadata (KMeansShard::exchange_rows).
void mpi_exchange_rows(int64_t d, int64_t m, const std::vector<int64_t>& counts, const float* rows,
                       const int64_t* meta, std::vector<float>* rows_in,
                       std::vector<int64_t>* meta_in);

}  // namespace ivftrain
