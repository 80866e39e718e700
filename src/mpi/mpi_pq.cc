// PQ trained across the ranks (sharded.h). Sub-spaces are dealt in contiguous ranges: every
// sub-space costs the same (the same rows, dsub and 2^bits centroids), so contiguous ranges
// balance as well as dealing one by one would, while a rank's columns of a row are one slice
// (one copy per row and destination) and its codebook part is one slice of the (M, ksub, dsub)
// codebook, gathered with one MPI_Allgatherv. The columns go straight from the rank that
// computed a row's residual to the rank that trains them: each PQ row crosses the network once
// (rather than twice through rank 0), and rank 0 holds only its own rows and its share of the
// columns (rather than every PQ row, twice).
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "mpi/comm.h"
#include "mpi/sharded.h"
#include "pq/subspaces.h"
#include "train/train_on_sample.h"
#include "util/log.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

struct SubspaceShare {
  int64_t first = 0, count = 0;
};

// Rank r's sub-spaces: a contiguous range; the first M % size ranks take one more. With more
// ranks than sub-spaces, the last ranks take none (and only send their rows' columns).
SubspaceShare share_of(int64_t M, int r, int size) {
  const int64_t q = M / size, extra = M % size;
  return {r * q + std::min<int64_t>(r, extra), q + (r < extra ? 1 : 0)};
}

// A message of rows: their positions, then columns [col, col + cols) of each of x's rows
// (`width` floats a row). Empty when no column is wanted.
std::string pack_columns(const std::vector<int64_t>& positions, const float* x, int64_t width,
                         int64_t col, int64_t cols) {
  if (cols == 0) return {};
  const size_t n = positions.size(), row_bytes = sizeof(float) * static_cast<size_t>(cols);
  std::string out(n * (sizeof(int64_t) + row_bytes), '\0');
  std::memcpy(out.data(), positions.data(), n * sizeof(int64_t));
  char* at = out.data() + n * sizeof(int64_t);
  for (size_t i = 0; i < n; ++i, at += row_bytes) std::memcpy(at, x + i * width + col, row_bytes);
  return out;
}

// Places each row of a pack_columns message at its position in out (`cols` floats a row).
void unpack_columns(const std::string& message, int64_t cols, float* out) {
  if (cols == 0 || message.empty()) return;
  const size_t row_bytes = sizeof(float) * static_cast<size_t>(cols);
  const size_t n = message.size() / (sizeof(int64_t) + row_bytes);
  const char* rows = message.data() + n * sizeof(int64_t);
  for (size_t i = 0; i < n; ++i) {
    int64_t pos = 0;
    std::memcpy(&pos, message.data() + i * sizeof pos, sizeof pos);
    std::memcpy(out + pos * cols, rows + i * row_bytes, row_bytes);
  }
}

// Every rank's share of the columns, in the canonical row order: a ring of size - 1 exchanges
// (step s: to rank + s, from rank - s), so a rank holds one message each way at a time.
std::vector<float> exchange_columns(const std::vector<float>& x,
                                    const std::vector<int64_t>& positions, int64_t rows,
                                    int64_t dim, int64_t M, int rank, int size) {
  const int64_t dsub = dim / M;
  const SubspaceShare mine = share_of(M, rank, size);
  std::vector<float> cols(static_cast<size_t>(rows * mine.count * dsub));
  for (int s = 0; s < size; ++s) {
    const int dest = (rank + s) % size, source = (rank - s + size) % size;
    const SubspaceShare theirs = share_of(M, dest, size);
    std::string out =
        pack_columns(positions, x.data(), dim, theirs.first * dsub, theirs.count * dsub);
    const std::string in = s == 0 ? std::move(out) : sendrecv_string(out, dest, source);
    unpack_columns(in, mine.count * dsub, cols.data());
  }
  return cols;
}

// The codebook's sub-spaces on every rank, each rank's share from it.
void allgather_codebook(PqCodebook& cb, int size) {
  const int64_t per_subspace = cb.ksub() * cb.dsub();
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) {
    const SubspaceShare share = share_of(cb.num_sub_vectors, r, size);
    counts[r] = static_cast<int>(share.count * per_subspace);
    displs[r] = static_cast<int>(share.first * per_subspace);
  }
  MPI_Request request;
  MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, cb.centroids.data(), counts.data(),
                  displs.data(), MPI_FLOAT, MPI_COMM_WORLD, &request);
  wait_gently(request);
}

// The iteration records of a rank's sub-spaces, as a message to rank 0: per sub-space, the
// count, then the records as they are in memory (every rank runs the same binary).
static_assert(std::is_trivially_copyable_v<KMeansIteration>);
std::string pack_iterations(const PqCodebook& cb, SubspaceShare share) {
  std::string out;
  for (int64_t m = share.first; m < share.first + share.count; ++m) {
    const auto& its = cb.iterations[m];
    const int64_t n = static_cast<int64_t>(its.size());
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out.append(reinterpret_cast<const char*>(its.data()), its.size() * sizeof(KMeansIteration));
  }
  return out;
}

void unpack_iterations(const std::string& message, SubspaceShare share, PqCodebook& cb) {
  size_t at = 0;
  for (int64_t m = share.first; m < share.first + share.count; ++m) {
    int64_t n = 0;
    std::memcpy(&n, message.data() + at, sizeof n);
    at += sizeof n;
    cb.iterations[m].resize(static_cast<size_t>(n));
    std::memcpy(cb.iterations[m].data(), message.data() + at, n * sizeof(KMeansIteration));
    at += n * sizeof(KMeansIteration);
  }
}

}  // namespace

Status train_pq_across_ranks(std::vector<float> x, const std::vector<int64_t>& positions,
                             int64_t rows, TrainedModels& models, int rank, int size) {
  const int64_t dim = models.dim;
  const PqParams params = pq_train_params(models.params);
  // The same verdict on every rank, before any message.
  IVF_RETURN_IF_ERROR(check_pq_training(rows, dim, params));
  pq_residuals_in_place(x, models);
  PqCodebook cb = pq_codebook_shell(dim, params);
  const int64_t M = cb.num_sub_vectors;
  const SubspaceShare mine = share_of(M, rank, size);
  logger().info(
      "training PQ: {} sub-vectors x {} centroids on {} rows, the sub-spaces across {} ranks "
      "({} on rank 0)",
      M, cb.ksub(), rows, size, mine.count);
  warn_if_few_pq_rows(rows, params.num_bits);
  Status trained;
  {
    const std::vector<float> cols = exchange_columns(x, positions, rows, dim, M, rank, size);
    trained = pq_train_subspaces(rows, cols.data(), mine.first, mine.count, params, &cb);
  }
  IVF_RETURN_IF_ERROR(agree(trained, rank, size));
  allgather_codebook(cb, size);

  // Each rank's rows' errors, added on rank 0 in the canonical order.
  const int64_t n = static_cast<int64_t>(positions.size());
  std::vector<float> errors(static_cast<size_t>(n));
  pq_row_errors(cb, n, x.data(), errors.data(), models.params.num_threads);
  x = {};
  std::string own_errors = pack_columns(positions, errors.data(), 1, 0, 1);
  if (rank != 0) {
    send_string(pack_iterations(cb, mine), 0);
    send_string(own_errors, 0);
    return Status::OK();
  }
  std::vector<float> all_errors(static_cast<size_t>(rows));
  unpack_columns(own_errors, 1, all_errors.data());
  for (int r = 1; r < size; ++r) {
    unpack_iterations(recv_string(r), share_of(M, r, size), cb);
    unpack_columns(recv_string(r), 1, all_errors.data());
  }
  models.stats.quantizer_train_rows = rows;
  models.stats.pq_reconstruction_mse = pq_mean_row_error(all_errors.data(), rows);
  models.pq = std::move(cb);
  return Status::OK();
}

}  // namespace ivftrain
