#include <fmt/format.h>
#include <mpi.h>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_set>

#include "ivftrain/model_dir.h"
#include "ivftrain/mpi.h"
#include "ivftrain/plan_files.h"
#include "kmeans/lloyd.h"
#include "kmeans/shard.h"
#include "mpi/comm.h"
#include "mpi/mpi_hier.h"
#include "mpi/sharded.h"
#include "mpi/testing.h"
#include "pipeline/memory_budget.h"
#include "train/train_on_sample.h"
#include "util/checked_math.h"
#include "util/clock.h"
#include "util/files.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/sampling.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

std::atomic<int> g_failing_rank{-1};  // set by set_mpi_failing_rank_for_testing

}  // namespace

void set_mpi_failing_rank_for_testing(int rank) { g_failing_rank.store(rank); }

namespace {

// The test hook (mpi/testing.h): the chosen rank's sampling fails, to exercise the error path.
Status injected_failure(int rank) {
  if (g_failing_rank.load() == rank) {
    return Status::IOError(fmt::format("simulated failure of rank {} while sampling", rank));
  }
  return Status::OK();
}

// Phase 1, on rank 0: the tasks, as an array of the task JSON texts the file protocol uses.
// The output is checked first, before any rank reads anything (and again when it is written).
Result<std::string> plan_tasks(const MpiTrainRequest& req, int size) {
  IVF_RETURN_IF_ERROR(check_output_apart_from_inputs(req.out_dir, {req.dataset_path}));
  IVF_RETURN_IF_ERROR(check_model_dir_output(req.out_dir, req.overwrite));
  IVF_ASSIGN_OR_RETURN(Dataset dataset, Dataset::open(req.dataset_path, req.dataset_options));
  std::vector<std::string> inputs{req.dataset_path};
  for (const FragmentInfo& f : dataset.fragments()) inputs.push_back(f.path);
  IVF_RETURN_IF_ERROR(check_output_apart_from_inputs(req.out_dir, inputs));
  IVF_ASSIGN_OR_RETURN(
      std::vector<SampleTask> tasks,
      create_sample_tasks(dataset, req.params, size, req.fragment_ids, req.assignment));
  IVF_RETURN_IF_ERROR(
      check_memory_budget(tasks, req.max_memory, human_bytes(req.max_memory), ShardedEngine::kMpi));
  if (!req.checkpoint_dir.empty() && !mpi_shards_training(req.params)) {
    return Status::InvalidArgument(
        "--checkpoint needs sharded training (--init random or kmeans-parallel, no --balance); "
        "k-means++ and balance gather the sample on rank 0 and train without checkpoints");
  }
  nlohmann::json all = nlohmann::json::array();
  for (const auto& t : tasks) all.push_back(task_to_json(t, req.dataset_path, req.dataset_options));
  logger().info("plan {}: {} sample rows from {} fragments over {} ranks", tasks.front().plan_id,
                tasks.front().sample_rows_planned, tasks.front().fragments_in_plan, size);
  return all.dump();
}

// Phase 2, on every rank: this rank's task of the plan.
Result<SampleResult> sample_own_task(const MpiTrainRequest& req, const std::string& tasks_json,
                                     int rank) {
  const auto all = nlohmann::json::parse(tasks_json);
  IVF_ASSIGN_OR_RETURN(TaskFile task,
                       parse_task_json(all.at(static_cast<size_t>(rank)).get<std::string>(),
                                       fmt::format("task of rank {}", rank)));
  IVF_RETURN_IF_ERROR(injected_failure(rank));
  IVF_ASSIGN_OR_RETURN(Dataset dataset, Dataset::open(req.dataset_path, req.dataset_options));
  task.task.params.num_threads = req.params.num_threads;
  return execute_sample_task(dataset, task.task);
}

// Phase 3, on rank 0: receives the other ranks' samples in rank order (every one, even after an
// error, so that no rank stays blocked in its send), trains and writes the model. `own` carries
// the reduced SQ bounds; the received samples' bounds are emptied so they are merged once.
Result<TrainedModels> gather_and_train(const MpiTrainRequest& req, SampleResult own, int size) {
  std::vector<SampleResult> results;
  results.push_back(std::move(own));
  Status received_all;
  for (int r = 1; r < size; ++r) {
    const std::string bytes = recv_string(r);
    if (!received_all.ok()) continue;
    auto received = parse_sample_result(bytes, fmt::format("the sample of rank {}", r));
    if (!received.ok()) {
      received_all = received.status();
      continue;
    }
    received->sq_bounds = SqBounds::empty(received->sq_bounds.mode, received->dim);
    results.push_back(std::move(*received));
  }
  IVF_RETURN_IF_ERROR(received_all);
  IVF_ASSIGN_OR_RETURN(TrainedModels models, train_from_samples(std::move(results), req.params));
  IVF_RETURN_IF_ERROR(write_model_dir(models, req.out_dir, req.overwrite));
  return models;
}

// ---- Sharded training (docs/sharded.md): the sample stays where it was drawn. ----

// In-place all-reduce without spinning, in pieces (MPI counts are int).
void allreduce(void* buf, int64_t count, MPI_Datatype type, MPI_Op op) {
  int elem = 0;
  MPI_Type_size(type, &elem);
  constexpr int64_t kChunk = int64_t{1} << 26;
  for (int64_t at = 0; at < count; at += kChunk) {
    MPI_Request request;
    MPI_Iallreduce(MPI_IN_PLACE, static_cast<char*>(buf) + at * elem,
                   static_cast<int>(std::min(kChunk, count - at)), type, op, MPI_COMM_WORLD,
                   &request);
    wait_gently(request);
  }
}

// Every rank's vector of int64, concatenated in rank order, on every rank.
std::vector<int64_t> allgather_ints(const std::vector<int64_t>& mine, int size) {
  int count = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size; ++r) displs[r] = total, total += counts[r];
  std::vector<int64_t> all(static_cast<size_t>(total));
  MPI_Request request;
  MPI_Iallgatherv(mine.data(), count, MPI_INT64_T, all.data(), counts.data(), displs.data(),
                  MPI_INT64_T, MPI_COMM_WORLD, &request);
  wait_gently(request);
  return all;
}

// A k-means shard over MPI_COMM_WORLD: every collective gives every rank the same bits.
class MpiShard final : public KMeansShard {
 public:
  MpiShard(int64_t total, std::vector<int64_t> global_rows)
      : total_(total), global_(std::move(global_rows)) {}
  int64_t total_rows() const override { return total_; }
  const int64_t* global_rows() const override { return global_.data(); }
  float max_over_shards(float local) override {
    allreduce(&local, 1, MPI_FLOAT, MPI_MAX);
    return local;
  }
  void combine(ClusterSums& s) override {
    const int64_t k = s.k, d = s.d;
    // Sums on the grid: MPI_SUM of doubles is exact in any order (SumGrid).
    allreduce(s.sums.data(), k * d, MPI_DOUBLE, MPI_SUM);
    const std::vector<int64_t> local_counts = s.counts, local_first_row = s.first_row;
    allreduce(s.counts.data(), k, MPI_INT64_T, MPI_SUM);
    // The norms give the clusters' errors, which relocation reads every update (plan_splits).
    allreduce(s.norms.data(), k, MPI_DOUBLE, MPI_SUM);  // exact on the norm grid, as the sums
    // The first rows and identical flags are read only by the split of empty clusters: with no
    // empty cluster (the usual iteration) they are left as they are, saving 4 k d bytes.
    if (!has_empty_cluster(s)) return;
    allreduce(s.first_row.data(), k, MPI_INT64_T, MPI_MIN);
    // The first row comes from the rank that holds it; the others contribute zero bits.
    const std::vector<float> local_first = s.first;
    for (int64_t c = 0; c < k; ++c) {
      if (local_counts[c] == 0 || local_first_row[c] != s.first_row[c]) {
        std::fill_n(s.first.begin() + c * d, d, 0.0f);
      }
    }
    static_assert(sizeof(float) == sizeof(uint32_t));
    allreduce(s.first.data(), k * d, MPI_UINT32_T, MPI_BOR);
    // Identical: on every rank holding rows of the cluster, identical rows equal to the first.
    std::vector<uint8_t> ok(static_cast<size_t>(k));
    for (int64_t c = 0; c < k; ++c) {
      ok[c] = local_counts[c] == 0 ||
              (s.identical[c] && std::memcmp(local_first.data() + c * d, s.first.data() + c * d,
                                             sizeof(float) * d) == 0);
    }
    allreduce(ok.data(), k, MPI_UINT8_T, MPI_MIN);
    for (int64_t c = 0; c < k; ++c) s.identical[c] = s.counts[c] > 0 && ok[c] ? 1 : 0;
  }
  void combine(ExactSum& objective) override {
    allreduce(objective.bins.data(), ExactSum::kSize, MPI_INT64_T, MPI_SUM);
  }
  void combine_counts(std::vector<int64_t>& counts) override {
    allreduce(counts.data(), static_cast<int64_t>(counts.size()), MPI_INT64_T, MPI_SUM);
  }
  std::vector<int64_t> gather_rows(const std::vector<int64_t>& mine) override {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    std::vector<int64_t> all = allgather_ints(mine, size);
    std::sort(all.begin(), all.end());  // ranks hold disjoint rows, not in rank order
    return all;
  }
  void fetch_rows(const std::vector<int64_t>& rows, int64_t d, const float* x,
                  float* out) override {
    std::vector<float> buf(rows.size() * static_cast<size_t>(d), 0.0f);
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto it = std::lower_bound(global_.begin(), global_.end(), rows[i]);
      if (it != global_.end() && *it == rows[i]) {
        std::memcpy(buf.data() + i * d, x + (it - global_.begin()) * d, sizeof(float) * d);
      }
    }
    allreduce(buf.data(), static_cast<int64_t>(buf.size()), MPI_UINT32_T, MPI_BOR);
    std::copy(buf.begin(), buf.end(), out);
  }
  // Hierarchical k-means (mpi/mpi_hier.cc).
  int shard_count() const override { return mpi_size(); }
  int shard_index() const override { return mpi_rank(); }
  std::vector<std::vector<int64_t>> all_gather(const std::vector<int64_t>& mine) override {
    return mpi_all_gather(mine);
  }
  void exchange_rows(int64_t d, int64_t m, const std::vector<int64_t>& counts, const float* rows,
                     const int64_t* meta, std::vector<float>* rows_in,
                     std::vector<int64_t>* meta_in) override {
    mpi_exchange_rows(d, m, counts, rows, meta, rows_in, meta_in);
  }

 private:
  int64_t total_;
  std::vector<int64_t> global_;
};

// The rows (sorted) a trainer that wants `wanted` of `rows` takes, as train_on_sample chooses
// them; empty means all.
std::vector<int64_t> subset_of(int64_t rows, int64_t wanted, uint64_t seed, uint64_t purpose) {
  if (wanted >= rows) return {};
  Rng rng(derive_seed(seed, purpose, 0));
  return choose_sorted(rng, rows, wanted);
}

// The local rows (and their index in the subset) whose sample index is in `subset` (all when
// it is empty).
void rows_in_subset(const std::vector<int64_t>& sample_index, const std::vector<int64_t>& subset,
                    std::vector<int64_t>* local, std::vector<int64_t>* position) {
  for (size_t i = 0; i < sample_index.size(); ++i) {
    int64_t pos = sample_index[i];
    if (!subset.empty()) {
      const auto it = std::lower_bound(subset.begin(), subset.end(), pos);
      if (it == subset.end() || *it != pos) continue;
      pos = it - subset.begin();
    }
    local->push_back(static_cast<int64_t>(i));
    position->push_back(pos);
  }
}

// ---- Checkpoints of the sharded IVF k-means (one file, written by rank 0): flat k-means' state
// after every iteration, or hierarchical k-means' after its groups and every refinement
// iteration (the same KMeansState; the run identity tells the algorithms apart). ----

// '2': the update relocates centroids (issue 15); a '1' file is an earlier build's, whose
// iterations did not, and continuing it would end in a model neither build's run gives.
constexpr char kCheckpointMagic[8] = {'I', 'V', 'F', 'C', 'K', 'P', 'T', '2'};

template <typename T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

std::string serialize_state(const KMeansState& st, uint64_t run, int64_t k, int64_t d) {
  std::string out(kCheckpointMagic, sizeof kCheckpointMagic);
  put(out, run);
  put(out, k);
  put(out, d);
  put(out, static_cast<uint8_t>(st.finished));
  put(out, st.objective);
  for (uint64_t w : st.rng) put(out, w);
  put(out, static_cast<int64_t>(st.iterations.size()));
  for (const KMeansIteration& it : st.iterations) {
    put(out, it.objective);
    put(out, it.seconds);
    put(out, it.assign_seconds);
    put(out, it.empty_clusters_split);
    put(out, it.rows_computed);
  }
  out.append(reinterpret_cast<const char*>(st.centroids.data()), st.centroids.size() * 4);
  put(out, static_cast<uint64_t>(XXH3_64bits(out.data(), out.size())));
  return out;
}

// The state in `bytes` (the file `path`), refused unless whole and of this run.
Result<KMeansState> parse_state(const std::string& bytes, const std::string& path, uint64_t run,
                                int64_t k, int64_t d) {
  const auto bad = [&](const char* why) {
    return Status::FailedPrecondition(fmt::format(
        "checkpoint {} {}; remove it to start afresh, or give another --checkpoint directory", path,
        why));
  };
  size_t at = 0;
  bool short_read = false;
  const auto get = [&](auto& v) {
    if (at + sizeof v > bytes.size()) {
      short_read = true;
      return;
    }
    std::memcpy(&v, bytes.data() + at, sizeof v);
    at += sizeof v;
  };
  if (bytes.size() >= sizeof kCheckpointMagic &&
      std::memcmp(bytes.data(), kCheckpointMagic, sizeof kCheckpointMagic - 1) == 0 &&
      bytes[sizeof kCheckpointMagic - 1] == '1') {
    return bad("was written by an earlier ivftrain, whose k-means did not relocate centroids");
  }
  if (bytes.size() < sizeof kCheckpointMagic + 8 ||
      std::memcmp(bytes.data(), kCheckpointMagic, sizeof kCheckpointMagic) != 0) {
    return bad("is not an ivftrain checkpoint");
  }
  uint64_t sum = 0;
  std::memcpy(&sum, bytes.data() + bytes.size() - 8, 8);
  if (XXH3_64bits(bytes.data(), bytes.size() - 8) != sum) {
    return bad("is truncated or corrupted (its checksum does not match)");
  }
  at = sizeof kCheckpointMagic;
  uint64_t file_run = 0;
  int64_t fk = 0, fd = 0, count = 0;
  uint8_t finished = 0;
  KMeansState st;
  get(file_run);
  get(fk);
  get(fd);
  if (file_run != run || fk != k || fd != d) {
    return bad("belongs to another run (other data or parameters)");
  }
  get(finished);
  get(st.objective);
  for (uint64_t& w : st.rng) get(w);
  get(count);
  // Every state saved holds a record: flat k-means' first iteration, or the groups' training.
  if (count < 1 || count > (1 << 24)) return bad("is corrupted");
  st.iterations.resize(static_cast<size_t>(count));
  for (KMeansIteration& it : st.iterations) {
    get(it.objective);
    get(it.seconds);
    get(it.assign_seconds);
    get(it.empty_clusters_split);
    get(it.rows_computed);
  }
  st.finished = finished != 0;
  st.centroids.resize(static_cast<size_t>(k * d));
  if (short_read || bytes.size() - 8 - at != st.centroids.size() * 4) return bad("is corrupted");
  std::memcpy(st.centroids.data(), bytes.data() + at, st.centroids.size() * 4);
  return st;
}

// Phase 3 sharded, on every rank: the checks and choices of train_on_sample over the sample
// spread across the ranks, the IVF k-means sharded (flat_kmeans with an MpiShard), then PQ's
// sub-spaces trained across the ranks (mpi_pq.cc). Every decision that can fail is taken from
// reduced values, so every rank returns the same error at the same point (rank 0 alone can fail
// after the last collective: its checkpoint writes, the finiteness check). The models are
// complete on rank 0 only.
Result<TrainedModels> sharded_train(const MpiTrainRequest& req, SampleResult& s, uint64_t run_id,
                                    int rank, int size) {
  const TrainParams& p = req.params;
  const int64_t dim = s.dim;
  IVF_RETURN_IF_ERROR(validate(p, dim));
  TrainedModels models;
  models.params = p;
  models.dim = dim;
  TrainingStats& stats = models.stats;
  int64_t counts[4] = {s.rows_read, s.rows_dropped_nonfinite, s.rows_dropped_zero_norm, s.size()};
  allreduce(counts, 4, MPI_INT64_T, MPI_SUM);
  stats.rows_read = counts[0];
  stats.rows_dropped_nonfinite = counts[1];
  stats.rows_dropped_zero_norm = counts[2];
  stats.sample_rows = counts[3];
  stats.rows_available = s.rows_available;
  stats.sample_rows_planned = s.sample_rows_planned;
  stats.fragments_used = s.fragments_in_plan;
  const int64_t rows = stats.sample_rows, k = p.ivf.num_partitions;

  // Each local row's index in the canonical order: fragments by id, rows in order.
  std::vector<int64_t> segments;  // (fragment id, rows) pairs of this rank
  for (int64_t i = 0; i < s.size();) {
    int64_t j = i + 1;
    while (j < s.size() && s.fragment_ids[j] == s.fragment_ids[i]) ++j;
    segments.push_back(s.fragment_ids[i]);
    segments.push_back(j - i);
    i = j;
  }
  const std::vector<int64_t> all_segments = allgather_ints(segments, size);
  std::vector<std::pair<int64_t, int64_t>> by_id;
  for (size_t i = 0; i + 1 < all_segments.size(); i += 2) {
    by_id.emplace_back(all_segments[i], all_segments[i + 1]);
  }
  std::sort(by_id.begin(), by_id.end());
  std::vector<int64_t> sample_index(static_cast<size_t>(s.size()));
  for (int64_t i = 0; i < s.size();) {
    int64_t start = 0;
    for (const auto& [id, n] : by_id) {
      if (id == s.fragment_ids[i]) break;
      start += n;
    }
    int64_t j = i;
    for (; j < s.size() && s.fragment_ids[j] == s.fragment_ids[i]; ++j) {
      sample_index[j] = start + (j - i);
    }
    i = j;
  }

  if (rows == 0) {
    return Status::FailedPrecondition(fmt::format(
        "no usable sample rows: all {} rows read were dropped ({} holding NaN or Inf, {} zero "
        "vectors under cosine)",
        stats.rows_read, stats.rows_dropped_nonfinite, stats.rows_dropped_zero_norm));
  }
  if (k > rows) {
    return Status::InvalidArgument(fmt::format(
        "num_partitions {} is larger than the {} usable sample rows; lower it or add data", k,
        rows));
  }
  // The largest row norm over all ranks (ties: the first row in the canonical order).
  {
    double largest = 0, at = -1;
    float value = 0;
    for (int64_t i = 0; i < s.size(); ++i) {
      const float* r = s.vectors.data() + i * dim;
      double n2 = 0;
      for (int64_t j = 0; j < dim; ++j) n2 += static_cast<double>(r[j]) * r[j];
      if (n2 > largest) {
        largest = n2, at = static_cast<double>(sample_index[i]);
        value = *std::max_element(r, r + dim,
                                  [](float a, float b) { return std::abs(a) < std::abs(b); });
      }
    }
    std::vector<double> mine = {largest, at, value}, all(static_cast<size_t>(3 * size));
    MPI_Allgather(mine.data(), 3, MPI_DOUBLE, all.data(), 3, MPI_DOUBLE, MPI_COMM_WORLD);
    for (int r = 0; r < size; ++r) {
      const double* o = all.data() + 3 * r;
      if (o[0] > largest || (o[0] == largest && o[0] > 0 && o[1] < at)) {
        largest = o[0], at = o[1], value = static_cast<float>(o[2]);
      }
    }
    IVF_RETURN_IF_ERROR(check_largest_norm(largest, static_cast<int64_t>(at), value));
  }

  // The IVF and PQ rows, chosen as train_on_sample chooses them over the whole sample.
  const std::vector<int64_t> ivf_subset =
      subset_of(rows, ivf_sample_rows(p), p.seed, kSeedIvfSubset);
  std::vector<int64_t> ivf_local, ivf_index;
  rows_in_subset(sample_index, ivf_subset, &ivf_local, &ivf_index);
  const int64_t ivf_rows = ivf_subset.empty() ? rows : static_cast<int64_t>(ivf_subset.size());
  // This rank's PQ rows (and their positions among the PQ rows), set aside for PQ, which
  // trains across the ranks once the IVF k-means is done (mpi_pq.cc).
  std::vector<float> pq_own;
  std::vector<int64_t> pq_index;
  int64_t pq_rows = 0;
  if (p.index_type == IndexType::kIvfPq) {
    const std::vector<int64_t> pq_subset =
        subset_of(rows, quantizer_sample_rows(p), p.seed, kSeedPqSubset);
    std::vector<int64_t> pq_local;
    rows_in_subset(sample_index, pq_subset, &pq_local, &pq_index);
    pq_rows = pq_subset.empty() ? rows : static_cast<int64_t>(pq_subset.size());
    pq_own.resize(pq_local.size() * static_cast<size_t>(dim));
    for (size_t i = 0; i < pq_local.size(); ++i) {
      std::memcpy(pq_own.data() + i * dim, s.vectors.data() + pq_local[i] * dim,
                  sizeof(float) * dim);
    }
  }
  // This rank's IVF rows, compacted in place (ivf_local increases): no second copy of the shard
  // is ever held. The capacity is kept: shrinking would copy.
  std::vector<float> x = std::move(s.vectors);
  for (size_t i = 0; i < ivf_local.size(); ++i) {
    if (ivf_local[i] != static_cast<int64_t>(i)) {
      std::memmove(x.data() + i * dim, x.data() + ivf_local[i] * dim, sizeof(float) * dim);
    }
  }
  x.resize(ivf_local.size() * static_cast<size_t>(dim));
  const int64_t n = static_cast<int64_t>(ivf_local.size());

  // At least k distinct rows among the IVF rows: each rank's distinct hashes (at most k),
  // united on rank 0.
  {
    std::unordered_set<uint64_t> seen;
    for (int64_t i = 0; i < n && static_cast<int64_t>(seen.size()) < k; ++i) {
      seen.insert(XXH3_64bits(x.data() + i * dim, static_cast<size_t>(dim) * sizeof(float)));
    }
    std::string bytes(seen.size() * sizeof(uint64_t), '\0');
    size_t o = 0;
    for (uint64_t h : seen) std::memcpy(bytes.data() + o, &h, sizeof h), o += sizeof h;
    int64_t distinct = 0;
    if (rank != 0) {
      send_string(bytes, 0);
    } else {
      for (int r = 1; r < size; ++r) {  // every rank sent: receive all, none stays blocked
        const std::string got = recv_string(r);
        for (size_t i = 0; i + sizeof(uint64_t) <= got.size(); i += sizeof(uint64_t)) {
          uint64_t h = 0;
          std::memcpy(&h, got.data() + i, sizeof h);
          seen.insert(h);
        }
      }
      distinct = std::min<int64_t>(static_cast<int64_t>(seen.size()), k);
    }
    MPI_Bcast(&distinct, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
    if (distinct < k) {
      return Status::FailedPrecondition(fmt::format(
          "the sample holds only {} distinct vectors, fewer than num_partitions {}; lower it",
          distinct, k));
    }
  }

  const auto t_ivf = Clock::now();
  KMeansParams kp = p.ivf.kmeans;
  kp.metric = p.distance_type == DistanceType::kDot ? Metric::kInnerProduct : Metric::kL2;
  kp.seed = derive_seed(p.seed, kSeedIvfKMeans, 0);
  kp.num_threads = p.num_threads;
  IVF_RETURN_IF_ERROR(validate(kp));
  KMeansLog log_as;
  log_as.label = "ivf";
  log_as.verbose = true;
  logger().info("training IVF: {} partitions on {} rows x {} dims, sharded over {} ranks", k,
                ivf_rows, dim, size);
  MpiShard shard(ivf_rows, std::move(ivf_index));
  // Checkpoints: rank 0 reads the saved state, if any, and every rank resumes from it; rank 0
  // saves the state after every iteration (the state is the same on every rank).
  KMeansCheckpoints checkpoints;
  std::optional<KMeansState> resume;
  Status save_status;
  const std::string ckpt_path =
      req.checkpoint_dir.empty() ? "" : req.checkpoint_dir + "/ivf_kmeans.ckpt";
  if (!ckpt_path.empty()) {
    std::string bytes;
    Status st;
    if (rank == 0) {
      std::error_code ec;
      std::filesystem::create_directories(req.checkpoint_dir, ec);
      if (ec) {
        st = Status::IOError(fmt::format("cannot create the checkpoint directory {}: {}",
                                         req.checkpoint_dir, ec.message()));
      } else if (std::filesystem::exists(ckpt_path)) {
        auto read = read_file(ckpt_path);
        if (read.ok()) {
          bytes = std::move(*read);
        } else {
          st = read.status();
        }
      }
    }
    IVF_RETURN_IF_ERROR(agree(st, rank, size));
    bcast_string(bytes, 0);
    if (!bytes.empty()) {
      IVF_ASSIGN_OR_RETURN(KMeansState state, parse_state(bytes, ckpt_path, run_id, k, dim));
      const int64_t done = static_cast<int64_t>(state.iterations.size());
      if (kp.algorithm == KMeansAlgorithm::kHierarchical) {  // its first record: the groups'
        logger().info(
            "resuming the IVF k-means from {} after the groups' training and {} refinement "
            "iterations",
            ckpt_path, done - 1);
      } else {
        logger().info("resuming the IVF k-means from {} after iteration {}", ckpt_path, done);
      }
      resume = std::move(state);
      checkpoints.resume = &*resume;
    }
    if (rank == 0) {
      checkpoints.save = [&](const KMeansState& state) {
        if (!save_status.ok()) return;
        save_status = write_file_atomic(ckpt_path, serialize_state(state, run_id, k, dim));
      };
    }
  }
  const KMeansCheckpoints* with_checkpoints = ckpt_path.empty() ? nullptr : &checkpoints;
  KMeansRun run = kp.algorithm == KMeansAlgorithm::kHierarchical
                      ? hierarchical_kmeans(
                            n, dim, x.data(), k, kp, log_as, &shard,
                            [&x] { std::vector<float>().swap(x); }, with_checkpoints)
                      : flat_kmeans(n, dim, x.data(), k, kp, log_as, &shard, with_checkpoints);
  x = {};
  models.ivf_centroids = std::move(run.result.centroids);
  stats.ivf_train_rows = ivf_rows;
  stats.ivf_iterations = std::move(run.result.iterations);
  stats.ivf_objective = run.result.objective;
  models.timings.ivf_seconds = seconds_since(t_ivf);
  const auto t_quantizer = Clock::now();
  if (p.index_type == IndexType::kIvfPq) {
    IVF_RETURN_IF_ERROR(
        train_pq_across_ranks(std::move(pq_own), pq_index, pq_rows, models, rank, size));
  }
  if (rank != 0) return models;
  IVF_RETURN_IF_ERROR(save_status);

  if (p.index_type == IndexType::kIvfSq) {
    stats.quantizer_train_rows = rows;
    models.sq = s.sq_bounds;
  }
  models.timings.quantizer_seconds = seconds_since(t_quantizer);
  IVF_RETURN_IF_ERROR(check_models_finite(models));
  return models;
}

// Each phase ends with agree(), so that every rank stops at the first error of any rank.
MpiTrainOutcome run(const MpiTrainRequest& req, int rank, int size) {
  MpiTrainOutcome outcome;
  outcome.is_root = rank == 0;

  Result<std::string> tasks_json = rank == 0 ? plan_tasks(req, size) : std::string();
  if (outcome.status = agree(tasks_json.status(), rank, size); !outcome.status.ok()) return outcome;
  bcast_string(*tasks_json, 0);

  Result<SampleResult> sample = sample_own_task(req, *tasks_json, rank);
  if (outcome.status = agree(sample.status(), rank, size); !outcome.status.ok()) return outcome;

  // SQ bounds reduced with MPI's min and max onto rank 0; the other ranks send their bounds
  // as the identity so train_from_samples merges the reduced ones only.
  SqBounds& bounds = sample->sq_bounds;
  const int len = static_cast<int>(bounds.lower.size());
  std::vector<float> lower(bounds.lower.size()), upper(bounds.upper.size());
  MPI_Reduce(bounds.lower.data(), lower.data(), len, MPI_FLOAT, MPI_MIN, 0, MPI_COMM_WORLD);
  MPI_Reduce(bounds.upper.data(), upper.data(), len, MPI_FLOAT, MPI_MAX, 0, MPI_COMM_WORLD);

  Status st;
  if (mpi_shards_training(req.params)) {
    if (rank == 0) {
      bounds.lower = std::move(lower);
      bounds.upper = std::move(upper);
    }
    const auto t_start = Clock::now();
    Result<uint64_t> run_id = checkpoint_run_id(*tasks_json);
    Result<TrainedModels> models =
        run_id.ok() ? sharded_train(req, *sample, *run_id, rank, size) : run_id.status();
    sample = Status::FailedPrecondition("trained");  // its memory is not needed any more
    if (rank == 0 && models.ok()) {
      models->timings.total_seconds = seconds_since(t_start);
      st = write_model_dir(*models, req.out_dir, req.overwrite);
      if (st.ok()) outcome.models = std::move(*models);
    } else {
      st = models.status();
    }
  } else if (rank != 0) {
    bounds = SqBounds::empty(bounds.mode, sample->dim);
    send_string(serialize_sample_result(*sample), 0);
    sample = Status::FailedPrecondition("sent to rank 0");  // its memory is not needed any more
  } else {
    logger().info(
        "sharded training covers flat and hierarchical k-means with random or k-means|| init "
        "and no balance; the sample is gathered on rank 0 for this run");
    bounds.lower = std::move(lower);
    bounds.upper = std::move(upper);
    Result<TrainedModels> models = gather_and_train(req, std::move(*sample), size);
    st = models.status();
    if (models.ok()) outcome.models = std::move(*models);
  }
  outcome.status = agree(st, rank, size);
  if (!outcome.status.ok()) outcome.models.reset();
  return outcome;
}

}  // namespace

MpiSession::MpiSession() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    owns_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
  if (owns_) MPI_Finalize();
}

void MpiSession::barrier() const {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  wait_gently(request);
}

MpiTrainOutcome mpi_train(const MpiSession& session, const MpiTrainRequest& request) {
  return run(request, session.rank(), session.size());
}

}  // namespace ivftrain
