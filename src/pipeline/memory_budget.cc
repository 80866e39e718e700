#include "pipeline/memory_budget.h"

#include <fmt/format.h>

#include <algorithm>

#include "ivftrain/rounds.h"
#include "kmeans/cap_sizes.h"
#include "kmeans/hierarchical.h"
#include "util/checked_math.h"

namespace ivftrain {
namespace {

// Bytes per sample row of a shard, while it is read and while it is assigned: the rows (4 d + 16
// with their fragment and row) twice while they are read (the reader's buffer, or the result
// file read whole, then parsed); then the rows and the copy of the IVF rows (8 d), their indices,
// norms and labels, and the bounds a round continues from, keeps and writes (or k-means||'s
// state of each row, or MPI's per-row work arrays). The rotated rows of dimension pruning
// (linalg/pruned.h: 4 p + 9 bytes a row, p <= d / 3 + 32) come after the reader's buffers are
// gone, within their 4 d.
int64_t shard_row_bytes(int64_t dim) { return saturating_mul({dim, 8}) + 128; }

int64_t shard_rows(const SampleTask& t) {
  int64_t rows = 0;
  for (const TaskFragment& f : t.fragments) rows += f.quota;
  return rows;
}

int64_t ivf_rows(const TrainParams& p, int64_t sample_rows) {
  return std::min(sample_rows, ivf_sample_rows(p));
}

// PQ's training, where it runs (MPI's rank 0, or advance): its rows twice (read, then PQ's
// work copy of the residuals) and the codebook with its sums.
int64_t pq_training_bytes(const TrainParams& p, int64_t dim, int64_t sample_rows) {
  const int64_t pq_rows = std::min(sample_rows, quantizer_sample_rows(p));
  return saturating_add(saturating_mul({pq_rows, dim, 8}),
                        saturating_mul({int64_t{1} << p.pq.num_bits, dim, 12}));
}

// A worker (rank) of `num_workers` whose shard holds `rows` of the plan's `sample_rows`, beyond
// the program: its shard (shard_row_bytes); the centroids, the exact sums and first rows of its
// partial with their serialised (MPI: reduction) copies, and the centroids its bounds were
// computed against, read and written (48 k d); under MPI, where each rank runs the update, also
// the centred copy of the centroids relocation prices the merges with (4 k d; its scratch, 72 k
// bytes a thread, is left out). Hierarchical k-means: under MPI the rows that
// arrive at the all-to-all, put in order (8 d + 32 a row); over files, the larger of the rounds
// that read its shard (against the g coarse centroids) and those that train and refine groups
// (the rows of its groups, 4 d + 64 a row with their indices and addresses: about an even share,
// plus at most one group at the cap; and the k fine centroids). k-means||:
// its candidates (about 10 k rows) and a round's fetch. Rank 0 under MPI: the PQ rows twice
// (received, then placed) and the codebook.
int64_t worker_bytes(const TrainParams& p, int64_t dim, int64_t rows, int64_t sample_rows,
                     int num_workers, bool root, ShardedEngine engine) {
  const int64_t k = p.ivf.num_partitions;
  const int64_t shard = saturating_mul({rows, shard_row_bytes(dim)});
  const int64_t per_centroid_value = engine == ShardedEngine::kMpi ? 52 : 48;
  int64_t bytes = saturating_add(shard, saturating_mul({k, dim, per_centroid_value}));
  if (p.ivf.kmeans.algorithm == KMeansAlgorithm::kHierarchical) {
    if (engine == ShardedEngine::kMpi) {
      bytes = saturating_add(bytes, saturating_mul({rows, saturating_mul({dim, 8}) + 32}));
    } else if (hierarchical_rounds(p)) {
      // The rounds that read the shard assign it to the g coarse centroids only; those that
      // hold the rows of the worker's groups hold the k fine centroids.
      const int64_t n = ivf_rows(p, sample_rows);
      const int64_t g = hierarchical_group_count(k);
      const int64_t held = std::min(
          n, (n + num_workers - 1) / num_workers + balance_capacity(n, g, kHierCoarseBalance));
      bytes = std::max(saturating_add(shard, saturating_mul({g, dim, 48})),
                       saturating_add(saturating_mul({held, saturating_mul({dim, 4}) + 64}),
                                      saturating_mul({k, dim, 48})));
    }
  }
  if (p.ivf.kmeans.init == KMeansInit::kKMeansParallel) {
    bytes = saturating_add(bytes, saturating_mul({k, dim, 48}));
  }
  if (engine == ShardedEngine::kMpi && root && p.index_type == IndexType::kIvfPq) {
    bytes = saturating_add(bytes, pq_training_bytes(p, dim, sample_rows));
  }
  return bytes;
}

// `advance` over files, beyond the program: every result's index (16 bytes a sample row) and the
// IVF row list (8 bytes an IVF row); the centroids of the state it reads and of the next, the
// running sums and first rows, one partial as read and parsed, the centred centroids of
// relocation (48 k d); at the end the PQ rows
// (twice: read, then PQ's work copy) and the codebook. k-means||: the candidates (about 10 k
// rows) in the state and the next, and a round's offers (about 2 k rows a worker, 12 bytes each).
// Hierarchical k-means: the coarse sample (256 g rows) and the capping records (80 bytes a row
// of the over-full groups; counted for every IVF row, the worst case).
int64_t advance_bytes(const TrainParams& p, int64_t dim, int64_t sample_rows, int num_workers) {
  const int64_t k = p.ivf.num_partitions;
  const int64_t n = ivf_rows(p, sample_rows);
  int64_t bytes = saturating_add(saturating_mul({sample_rows, 16}), saturating_mul({n, 8}));
  bytes = saturating_add(bytes, saturating_mul({k, dim, 48}));
  if (p.index_type == IndexType::kIvfPq) {
    bytes = saturating_add(bytes, pq_training_bytes(p, dim, sample_rows));
  }
  if (hierarchical_rounds(p)) {
    const int64_t g = hierarchical_group_count(k);
    bytes = saturating_add(bytes, saturating_mul({std::min(n, 256 * g), dim, 4}));
    bytes = saturating_add(bytes, saturating_mul({n, 80}));
  } else if (p.ivf.kmeans.init == KMeansInit::kKMeansParallel) {
    bytes = saturating_add(bytes, saturating_mul({k, dim, 80}));
    bytes = saturating_add(bytes, saturating_mul({k, num_workers, 24}));
  }
  return bytes;
}

// The sentence's tail: the IVF sample rate at which the largest shard (`rows` of the `planned`
// sample rows) would hold `fit_rows`, when lowering it is enough.
std::string lower_rate(const TrainParams& p, int64_t planned, int64_t rows, int64_t fit_rows) {
  if (rows <= 0 || fit_rows <= 0) return "lower --sample-rate";
  const double target = static_cast<double>(planned) * static_cast<double>(fit_rows) / rows;
  const auto rate = static_cast<int64_t>(target / static_cast<double>(p.ivf.num_partitions));
  if (rate < 1 || rate >= p.ivf.sample_rate || quantizer_sample_rows(p) > target) {
    return "lower --sample-rate";
  }
  return fmt::format("--sample-rate {} or lower", rate);
}

}  // namespace

std::string human_bytes(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  return fmt::format("{:.3g} {}", value, units[unit]);
}

bool mpi_shards_training(const TrainParams& p) {
  const KMeansParams& kp = p.ivf.kmeans;
  // Hierarchical k-means: its coarse k-means is flat_kmeans over a shard, so the same inits.
  return (kp.init == KMeansInit::kRandom || kp.init == KMeansInit::kKMeansParallel) &&
         kp.balance == 0;
}

std::string rounds_gather_reason(const TrainParams& p, int64_t sample_rows) {
  if (std::string why = rounds_unsupported(p); !why.empty()) return why;
  const int64_t k = p.ivf.num_partitions;
  if (sample_rows < k || ivf_rows(p, sample_rows) == k) {
    return fmt::format("{} sample rows for {} partitions", sample_rows, k);
  }
  return "";
}

MemoryEstimate estimate_training_memory(const std::vector<SampleTask>& tasks,
                                        ShardedEngine engine) {
  MemoryEstimate e;
  if (tasks.empty()) return e;
  const SampleTask& first = tasks.front();
  const TrainParams& p = first.params;
  const int64_t planned = first.sample_rows_planned;
  e.gathered = engine == ShardedEngine::kMpi ? !mpi_shards_training(p)
                                             : !rounds_gather_reason(p, planned).empty();
  if (e.gathered) {
    e.bytes = saturating_add(estimated_training_bytes(first), kProgramBytes);
    return e;
  }
  const int workers = static_cast<int>(tasks.size());
  for (const SampleTask& t : tasks) {
    const int64_t rows = shard_rows(t);
    const int64_t bytes = worker_bytes(p, first.dim, rows, planned, workers, t.worker == 0, engine);
    if (bytes > e.worker_bytes) e.worker = t.worker, e.worker_rows = rows, e.worker_bytes = bytes;
  }
  e.worker_bytes = saturating_add(e.worker_bytes, kProgramBytes);
  if (engine == ShardedEngine::kRounds) {
    e.advance_bytes = saturating_add(advance_bytes(p, first.dim, planned, workers), kProgramBytes);
  }
  e.bytes = std::max(e.worker_bytes, e.advance_bytes);
  return e;
}

Status check_memory_budget(const std::vector<SampleTask>& tasks, int64_t limit,
                           const std::string& limit_text, ShardedEngine engine) {
  if (limit <= 0 || tasks.empty()) return Status::OK();
  const MemoryEstimate e = estimate_training_memory(tasks, engine);
  if (e.bytes <= limit) return Status::OK();
  const SampleTask& first = tasks.front();
  const TrainParams& p = first.params;
  const int64_t dim = first.dim, planned = first.sample_rows_planned;
  const bool mpi = engine == ShardedEngine::kMpi;
  if (e.gathered) {
    if (mpi) {
      return Status::FailedPrecondition(fmt::format(
          "training needs about {} on rank 0 ({} sample rows x {} dims, gathered there for "
          "k-means++ or balance), more than --max-memory {}; use --init random or "
          "kmeans-parallel without --balance to shard it, or lower --sample-rate",
          human_bytes(e.bytes), planned, dim, limit_text));
    }
    return Status::FailedPrecondition(fmt::format(
        "training this plan needs about {} of memory ({} sample rows x {} dims, gathered by "
        "`advance` for {}), more than --max-memory {}; lower --num-partitions or --sample-rate",
        human_bytes(e.bytes), planned, dim, rounds_gather_reason(p, planned), limit_text));
  }
  const int workers = static_cast<int>(tasks.size());
  const int64_t row_bytes = shard_row_bytes(dim);
  if (e.advance_bytes > limit) {
    return Status::FailedPrecondition(fmt::format(
        "`ivftrain advance` needs about {} for this plan (the program, the index of its {} sample "
        "rows, {} centroids of {} dims and their sums{}), more than --max-memory {}, whatever the "
        "number "
        "of workers; lower --num-partitions or --sample-rate",
        human_bytes(e.advance_bytes), planned, p.ivf.num_partitions, dim,
        p.index_type == IndexType::kIvfPq ? ", the PQ rows" : "", limit_text));
  }
  const char* one = mpi ? "rank" : "worker";
  const char* many = mpi ? "ranks" : "workers";
  const std::string shard = fmt::format(
      "the shard of {} {} needs about {} ({} sample rows x {} dims){}", one, e.worker,
      human_bytes(e.worker_bytes), e.worker_rows, dim, mpi ? "" : " in `ivftrain round`");
  // Workers that would fit if the rows were spread evenly: the fixed part, then a share.
  const int64_t fixed =
      saturating_add(worker_bytes(p, dim, 0, planned, workers, true, engine), kProgramBytes);
  if (fixed >= limit) {
    return Status::FailedPrecondition(fmt::format(
        "{}, more than --max-memory {}, and the part that more {} do not shrink ({}) alone "
        "needs {}; lower --num-partitions or --sample-rate",
        shard, limit_text, many,
        mpi ? "the program, rank 0's centroids, their sums, the PQ rows"
            : "the program, the centroids and their sums",
        human_bytes(fixed)));
  }
  const int64_t fit_rows = (limit - fixed) / row_bytes;
  const int64_t needed = fit_rows > 0 ? (planned + fit_rows - 1) / fit_rows : planned;
  const std::string rate = lower_rate(p, planned, e.worker_rows, fit_rows);
  if (needed <= workers) {
    // Enough workers, but the rows are not spread evenly: fragments are sampled whole.
    return Status::FailedPrecondition(fmt::format(
        "{}, more than --max-memory {}: its fragments hold more sample rows than an even share; "
        "split the dataset into more fragments, or {}",
        shard, limit_text, rate));
  }
  return Status::FailedPrecondition(fmt::format(
      "{}, more than --max-memory {}; about {} {} would fit (fragments are not split, so uneven "
      "fragments may need more), or {}",
      shard, limit_text, std::max<int64_t>(needed, 2), many, rate));
}

}  // namespace ivftrain
