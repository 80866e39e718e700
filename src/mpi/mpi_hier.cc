#include "mpi/mpi_hier.h"

#include <mpi.h>

#include <limits>

#include "mpi/comm.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

// MPI counts and displacements are int: the counts are in units (rows, words) so that shards
// of any usual size fit.
int to_int(int64_t v) {
  IVF_DCHECK(v >= 0 && v <= std::numeric_limits<int>::max(),
             "an MPI count or displacement must fit in an int");
  return static_cast<int>(v);
}

// The counts and displacements of a v-collective whose parts have `counts` units.
void displacements(const std::vector<int64_t>& counts, std::vector<int>* c, std::vector<int>* at) {
  int64_t total = 0;
  for (int64_t n : counts) {
    c->push_back(to_int(n));
    at->push_back(to_int(total));
    total += n;
  }
}

}  // namespace

int mpi_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int mpi_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

std::vector<std::vector<int64_t>> mpi_all_gather(const std::vector<int64_t>& mine) {
  const int size = mpi_size();
  int64_t count = static_cast<int64_t>(mine.size());
  std::vector<int64_t> counts(static_cast<size_t>(size));
  MPI_Request request;
  MPI_Iallgather(&count, 1, MPI_INT64_T, counts.data(), 1, MPI_INT64_T, MPI_COMM_WORLD, &request);
  wait_gently(request);
  std::vector<int> c, at;
  displacements(counts, &c, &at);
  std::vector<int64_t> all(static_cast<size_t>(at.back()) + static_cast<size_t>(c.back()));
  MPI_Iallgatherv(mine.data(), to_int(count), MPI_INT64_T, all.data(), c.data(), at.data(),
                  MPI_INT64_T, MPI_COMM_WORLD, &request);
  wait_gently(request);
  std::vector<std::vector<int64_t>> parts(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) parts[r].assign(all.begin() + at[r], all.begin() + at[r] + c[r]);
  return parts;
}

void mpi_exchange_rows(int64_t d, int64_t m, const std::vector<int64_t>& counts, const float* rows,
                       const int64_t* meta, std::vector<float>* rows_in,
                       std::vector<int64_t>* meta_in) {
  const int size = mpi_size();
  std::vector<int64_t> got(static_cast<size_t>(size));
  MPI_Request request;
  MPI_Ialltoall(counts.data(), 1, MPI_INT64_T, got.data(), 1, MPI_INT64_T, MPI_COMM_WORLD,
                &request);
  wait_gently(request);
  std::vector<int> sc, sat, rc, rat;
  displacements(counts, &sc, &sat);
  displacements(got, &rc, &rat);
  const int64_t n_in = static_cast<int64_t>(rat.back()) + rc.back();
  // A row (d floats) and a row's metadata (m int64) are one unit each.
  MPI_Datatype row_type, meta_type;
  MPI_Type_contiguous(to_int(d), MPI_FLOAT, &row_type);
  MPI_Type_contiguous(to_int(m), MPI_INT64_T, &meta_type);
  MPI_Type_commit(&row_type);
  MPI_Type_commit(&meta_type);
  rows_in->assign(static_cast<size_t>(n_in * d), 0.0f);
  meta_in->assign(static_cast<size_t>(n_in * m), 0);
  MPI_Ialltoallv(meta, sc.data(), sat.data(), meta_type, meta_in->data(), rc.data(), rat.data(),
                 meta_type, MPI_COMM_WORLD, &request);
  wait_gently(request);
  MPI_Ialltoallv(rows, sc.data(), sat.data(), row_type, rows_in->data(), rc.data(), rat.data(),
                 row_type, MPI_COMM_WORLD, &request);
  wait_gently(request);
  MPI_Type_free(&row_type);
  MPI_Type_free(&meta_type);
}

}  // namespace ivftrain
