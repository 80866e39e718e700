// Sharded training through files: the round files of a plan directory, `round` and `advance`
// (plan_files.h).
//
// PLAN/round-NNNN/centroids (little-endian):
//   magic "IVFROUND" | u32 version | char plan_id[16] | u64 params_hash | i32 round | i64 k
//   | i64 dim | i64 train_rows | u64 rng_state[4] | f64 grid_step | i64 split | f64 prev_objective
//   | i64 iterations | {f64 objective, i64 split, i64 rows_computed, f64 seconds,
//   f64 assign_seconds}[iterations] | i64 fragments | i64 fragment_ids[fragments]
//   | i64 fragment_rows[fragments] | i32 workers[fragments] | f32 centroids[k * dim] | u64 xxh3
// PLAN/round-NNNN/partial-WWWW:
//   magic "IVFPARTL" | u32 version | char plan_id[16] | i32 worker | i32 round
//   | u64 centroids_fingerprint | i64 k | i64 dim | i64 rows | f64 max_abs | f64 max_norm2
//   | f64 objective | i64 bins | i64 objective_bins[bins] | f64 grid_step | i64 clusters (k, or
//   0 in the scan round) | f64 sums[clusters * dim] | f64 norms[clusters] | i64 counts[clusters]
//   | u8 identical[clusters] | f32 first[clusters * dim] | i64 first_row[clusters] | u64 xxh3
// PLAN/round-NNNN/bounds-WWWW (a worker's own state, read only by the same worker's next round;
// written when rounds_use_bounds):
//   magic "IVFBOUND" | u32 version | char plan_id[16] | i32 worker | i32 round
//   | u64 centroids_fingerprint | i64 n | i64 k * dim | i32 labels[n] | f64 lower[n]
//   | f32 dist[n] | f32 previous[k * dim] | u64 xxh3
// PLAN/round-0000/result-stamps (written when the rounds begin; without it, or when it is not
// usable, the end of the rounds verifies every result again):
//   magic "IVFSTAMP" | u32 version | char plan_id[16] | i64 workers | u64 stamps[workers] | u64
//   xxh3
// PLAN/round-NNNN/seed-WWWW (k-means|| rounds: a worker's own state, read only by the same
// worker's next round):
//   magic "IVFSEEDS" | u32 version | char plan_id[16] | i32 worker | i64 measured
//   | u64 candidates_hash | i64 n | f32 nearest[n] | i64 n | i64 label[n] | u64 xxh3
// The state and partial layouts above omit version 2's stage and length prefixes, version 3's
// k-means|| fields (the state's candidate_rows, seed_ends and init_rounds, the partial's
// drawn_rows and drawn_dist, at their ends) and version 4's split fields (the state's
// split_after, split_donors, split_centroids and split_rounds, the partial's far_rows and
// far_dist, after those); version 5 added the partial's norms (each cluster's sum of |x|^2,
// from which the split's donors are chosen by their squared error): serialize_round_state and
// serialize_round_partial are the reference.
// The checksum covers every byte before it; sizes must account for the file exactly.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>

#include "ivftrain/model_dir.h"
#include "ivftrain/plan_files.h"
#include "ivftrain/rounds.h"
#include "kmeans/init.h"
#include "pipeline/whole_plan.h"
#include "train/train_on_sample.h"
#include "util/files.h"
#include "util/log.h"
#include "util/status_macros.h"

static_assert(std::endian::native == std::endian::little, "round files are little-endian");

namespace ivftrain {
namespace {

namespace fs = std::filesystem;

constexpr char kStateMagic[8] = {'I', 'V', 'F', 'R', 'O', 'U', 'N', 'D'};
constexpr char kPartialMagic[8] = {'I', 'V', 'F', 'P', 'A', 'R', 'T', 'L'};
constexpr char kBoundsMagic[8] = {'I', 'V', 'F', 'B', 'O', 'U', 'N', 'D'};
constexpr char kStampsMagic[8] = {'I', 'V', 'F', 'S', 'T', 'A', 'M', 'P'};
constexpr char kGroupsMagic[8] = {'I', 'V', 'F', 'G', 'R', 'O', 'U', 'P'};
constexpr char kSeedMagic[8] = {'I', 'V', 'F', 'S', 'E', 'E', 'D', 'S'};
// 2: the stage and hierarchical k-means' state; every array of a state or partial is
// length-prefixed. 3: k-means|| (kSeed): the candidates' rows and batches, init_rounds, the
// partials' draws; the workers' seed files. 4: the split rounds (kSplit): the state's
// split_after, donors, their centroids and split_rounds, the partials' farthest rows. 5: the
// partials' norms (the clusters' squared errors choose the split's donors). 6: no new field, but
// the update relocates centroids (issue 15): a state of an earlier build continued here would
// end in a model neither build's uninterrupted run gives.
constexpr uint32_t kVersion = 6;
constexpr size_t kPlanIdBytes = 16;

class Writer {
 public:
  template <typename T>
  void put(const T& v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  template <typename T>
  void put_array(const std::vector<T>& v) {
    out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  template <typename T>
  void put_vec(const std::vector<T>& v) {
    put(static_cast<int64_t>(v.size()));
    put_array(v);
  }
  void put_id(const std::string& id) {
    char buf[kPlanIdBytes] = {};
    std::memcpy(buf, id.data(), std::min(id.size(), kPlanIdBytes));
    out_.append(buf, kPlanIdBytes);
  }
  void put_magic(const char (&magic)[8]) { out_.append(magic, 8); }
  std::string finish() {
    put(static_cast<uint64_t>(XXH3_64bits(out_.data(), out_.size())));
    return std::move(out_);
  }

 private:
  std::string out_;
};

// A worker's own file (bounds, groups, k-means|| state) begins with its magic, the version, the
// plan id and the worker.
Writer worker_file(const char (&magic)[8], const std::string& plan_id, int worker) {
  Writer w;
  w.put_magic(magic);
  w.put(kVersion);
  w.put_id(plan_id);
  w.put(static_cast<int32_t>(worker));
  return w;
}

// Reads fields in order; reading past the end (of the part before the checksum) sets !ok().
class Reader {
 public:
  Reader(const std::string& bytes, size_t end) : bytes_(bytes), end_(end) {}
  template <typename T>
  T get() {
    T v{};
    if (take(sizeof v)) std::memcpy(&v, bytes_.data() + at_ - sizeof v, sizeof v);
    return v;
  }
  template <typename T>
  void get_array(std::vector<T>& v, int64_t count) {
    if (count < 0 || static_cast<uint64_t>(count) > (end_ - at_) / sizeof(T)) {
      ok_ = false;
      return;
    }
    v.resize(static_cast<size_t>(count));
    if (count) std::memcpy(v.data(), bytes_.data() + at_, v.size() * sizeof(T));
    at_ += v.size() * sizeof(T);
  }
  template <typename T>
  void get_vec(std::vector<T>& v) {
    get_array(v, get<int64_t>());
  }
  std::string get_id() {
    if (!take(kPlanIdBytes)) return "";
    const char* p = bytes_.data() + at_ - kPlanIdBytes;
    return std::string(p, strnlen(p, kPlanIdBytes));
  }
  bool ok() const { return ok_; }
  bool at_end() const { return at_ == end_; }

 private:
  bool take(size_t n) {
    if (!ok_ || end_ - at_ < n) return ok_ = false;
    at_ += n;
    return true;
  }
  const std::string& bytes_;
  size_t end_;
  size_t at_ = 0;
  bool ok_ = true;
};

// Checks magic, version and checksum; returns the reader positioned after the version.
Result<Reader> open_checked(const std::string& bytes, const char (&magic)[8],
                            const std::string& what, const std::string& name) {
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption(fmt::format("{} is not a usable {}: {}", name, what, why));
  };
  if (bytes.size() < 8 + 4 + 8) return corrupt("it is truncated (shorter than a header)");
  if (std::memcmp(bytes.data(), magic, 8) != 0) {
    return corrupt(fmt::format("wrong magic (not an ivftrain {})", what));
  }
  uint32_t version;
  std::memcpy(&version, bytes.data() + 8, 4);
  if (version != kVersion) {
    return corrupt(fmt::format("format version {}, this build reads {}", version, kVersion));
  }
  uint64_t stored;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  if (XXH3_64bits(bytes.data(), bytes.size() - 8) != stored) {
    return corrupt("its checksum does not match (the file is truncated or corrupted)");
  }
  Reader in(bytes, bytes.size() - 8);
  in.get<uint64_t>();  // magic
  in.get<uint32_t>();  // version
  return in;
}

// Reads the header worker_file wrote after the magic and version: whether the file is this
// plan's and this worker's.
bool is_workers_file(Reader& in, const std::string& plan_id, int worker) {
  const std::string id = in.get_id();
  const auto w = in.get<int32_t>();
  return id == plan_id && w == worker;
}

// A kSeed state's shapes: a vector per candidate, batches ending in order at the last candidate,
// at most one batch per oversampling round and the first.
bool seed_state_sized(const RoundState& s) {
  const size_t m = s.candidate_rows.size();
  if (m == 0 || s.seed_ends.empty() ||
      s.seed_ends.size() > static_cast<size_t>(kKMeansParallelRounds) + 1 ||
      s.centroids.size() != m * static_cast<size_t>(s.dim) || s.seed_ends.front() != 1 ||
      s.seed_ends.back() != static_cast<int64_t>(m)) {
    return false;
  }
  return std::is_sorted(s.seed_ends.begin(), s.seed_ends.end());
}

fs::path round_dir(const std::string& plan_dir, int round) {
  return fs::path(plan_dir) / round_dir_name(round);
}

// The latest round whose state exists, or -1 before the rounds begin.
int latest_round(const std::string& plan_dir) {
  int latest = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(plan_dir, ec)) {
    const std::string name = entry.path().filename().string();
    int round = -1, used = 0;
    if (std::sscanf(name.c_str(), "round-%d%n", &round, &used) == 1 &&
        static_cast<size_t>(used) == name.size() && round >= 0 &&
        fs::exists(entry.path() / kRoundStateFileName, ec)) {
      latest = std::max(latest, round);
    }
  }
  return latest;
}

Result<RoundState> read_round_state(const std::string& plan_dir, int round) {
  const std::string path = (round_dir(plan_dir, round) / kRoundStateFileName).string();
  IVF_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return parse_round_state(bytes, path);
}

Status write_round_state(const std::string& plan_dir, const RoundState& state) {
  const fs::path dir = round_dir(plan_dir, state.round);
  std::error_code ec;
  fs::create_directory(dir, ec);
  if (ec) {
    return Status::IOError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  }
  return write_file_atomic((dir / kRoundStateFileName).string(), serialize_round_state(state));
}

std::string result_path(const std::string& plan_dir, int worker) {
  return (fs::path(plan_dir) / result_file_name(worker)).string();
}

// A stamp of a result file: its size, modification time and sampled content (fingerprint_file);
// 0 when it cannot be read (read_indexes then says why).
uint64_t result_stamp(const std::string& path) {
  Result<FileFingerprint> f = fingerprint_file(path);
  if (!f.ok()) return 0;
  const uint64_t fields[3] = {static_cast<uint64_t>(f->size), static_cast<uint64_t>(f->mtime_ns),
                              f->content_hash};
  return XXH3_64bits(fields, sizeof fields);
}

std::string result_stamps_path(const std::string& plan_dir) {
  return (round_dir(plan_dir, 0) / "result-stamps").string();
}

Status write_result_stamps(const std::string& plan_dir, const std::string& plan_id,
                           const std::vector<uint64_t>& stamps) {
  std::error_code ec;
  fs::create_directories(round_dir(plan_dir, 0), ec);
  if (ec) {
    return Status::IOError(
        fmt::format("cannot create {}: {}", round_dir(plan_dir, 0).string(), ec.message()));
  }
  Writer w;
  w.put_magic(kStampsMagic);
  w.put(kVersion);
  w.put_id(plan_id);
  w.put(static_cast<int64_t>(stamps.size()));
  w.put_array(stamps);
  return write_file_atomic(result_stamps_path(plan_dir), w.finish());
}

// The stamps the rounds began with; empty when the file is missing or not usable (the results
// are then verified again: never trusted on a doubt).
std::vector<uint64_t> read_result_stamps(const std::string& plan_dir, const std::string& plan_id) {
  const std::string path = result_stamps_path(plan_dir);
  Result<std::string> bytes = read_file(path);
  if (!bytes.ok()) return {};
  Result<Reader> in = open_checked(*bytes, kStampsMagic, "result stamps", path);
  if (!in.ok()) return {};
  const std::string id = in->get_id();
  std::vector<uint64_t> stamps;
  in->get_array(stamps, in->get<int64_t>());
  if (!in->ok() || !in->at_end() || id != plan_id) return {};
  return stamps;
}

// Worker w's result without its vectors, or why it cannot be used (one sentence naming the
// file). Its checksum is verified by reading it through, unless `trusted` holds the stamp the
// result still has (it was verified when the rounds began); `stamps`, when given, receives the
// stamp taken before the verification (when the file exists).
Result<SampleResult> read_index(const std::string& plan_dir, const PlanDir& plan, int w,
                                const std::vector<uint64_t>* trusted,
                                std::vector<uint64_t>* stamps) {
  const std::string path = result_path(plan_dir, w);
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::FailedPrecondition(fmt::format("{} is missing", path));
  const uint64_t stamp = result_stamp(path);
  if (stamps) stamps->push_back(stamp);
  const bool verified = trusted && static_cast<size_t>(w) < trusted->size() && stamp != 0 &&
                        (*trusted)[static_cast<size_t>(w)] == stamp;
  IVF_ASSIGN_OR_RETURN(SampleResult r, read_sample_result_index(path, !verified));
  if (r.plan_id != plan.plan_id || r.worker != w) {
    return Status::FailedPrecondition(
        fmt::format("{} belongs to plan {} worker {}, not to this plan's task {}", path, r.plan_id,
                    r.worker, w));
  }
  return r;
}

// Every worker's result without its vectors (read_index); all unusable ones are listed in one
// error.
Result<std::vector<SampleResult>> read_indexes(const std::string& plan_dir, const PlanDir& plan,
                                               const std::vector<uint64_t>* trusted = nullptr,
                                               std::vector<uint64_t>* stamps = nullptr) {
  std::vector<SampleResult> out;
  std::vector<std::string> problems;
  std::vector<int> rerun;
  for (const TaskFile& tf : plan.tasks) {
    const int w = tf.task.worker;
    Result<SampleResult> r = read_index(plan_dir, plan, w, trusted, stamps);
    if (!r.ok()) {
      problems.push_back(r.status().message());
      rerun.push_back(w);
    } else {
      out.push_back(std::move(*r));
    }
  }
  if (!problems.empty()) {
    return Status::FailedPrecondition(fmt::format(
        "{} of {} sample results cannot be used ({}); rerun `ivftrain sample` for workers {}",
        problems.size(), plan.tasks.size(), fmt::join(problems, "; "), fmt::join(rerun, ", ")));
  }
  return out;
}

// The rows at `at` (in that order, d values each) read by seeking from the result files of
// `workers` workers; `index_of(w)` gives worker w's result without its vectors (called only for
// the workers holding some of the rows, in worker order).
using IndexOf = std::function<Result<const SampleResult*>(int worker)>;
Result<std::vector<float>> read_addressed_rows(const std::string& plan_dir, int workers, int64_t d,
                                               const std::vector<RowAddress>& at,
                                               const IndexOf& index_of) {
  std::vector<float> out(at.size() * static_cast<size_t>(d));
  for (int w = 0; w < workers; ++w) {
    std::vector<int64_t> mine;
    std::vector<size_t> where;
    for (size_t i = 0; i < at.size(); ++i) {
      if (at[i].worker == w) mine.push_back(at[i].row), where.push_back(i);
    }
    if (mine.empty()) continue;
    IVF_ASSIGN_OR_RETURN(const SampleResult* index, index_of(w));
    IVF_ASSIGN_OR_RETURN(std::vector<float> got,
                         read_sample_result_rows(result_path(plan_dir, w), *index, mine));
    for (size_t j = 0; j < where.size(); ++j) {
      std::copy_n(got.begin() + static_cast<int64_t>(j) * d, d,
                  out.begin() + static_cast<int64_t>(where[j]) * d);
    }
  }
  return out;
}

// The canonical rows `rows` (in that order) read from the workers' result files.
Result<std::vector<float>> read_canonical_rows(const std::string& plan_dir,
                                               const std::vector<SampleResult>& indexes,
                                               const SampleLayout& layout,
                                               const std::vector<int64_t>& rows) {
  return read_addressed_rows(plan_dir, static_cast<int>(indexes.size()), indexes.front().dim,
                             locate_rows(layout, rows),
                             [&](int w) -> Result<const SampleResult*> { return &indexes[w]; });
}

// The IVF rows `ivf` (indices among the IVF rows) read from the results, verified when the rounds
// began (read through again only if they changed since).
Result<std::vector<float>> read_ivf_rows(const std::string& plan_dir, const PlanDir& plan,
                                         const RoundState& state, const TrainParams& params,
                                         const std::vector<int64_t>& ivf) {
  const std::vector<uint64_t> stamps = read_result_stamps(plan_dir, plan.plan_id);
  IVF_ASSIGN_OR_RETURN(std::vector<SampleResult> indexes, read_indexes(plan_dir, plan, &stamps));
  const std::vector<int64_t> train = ivf_training_rows(params, state.layout.rows());
  std::vector<int64_t> canonical(ivf.size());
  for (size_t i = 0; i < ivf.size(); ++i) {
    if (ivf[i] < 0 || ivf[i] >= static_cast<int64_t>(train.size())) {
      return Status::FailedPrecondition(
          fmt::format("IVF row {} asked for in round {} of plan {} is not one of its {} IVF rows",
                      ivf[i], state.round, plan_dir, train.size()));
    }
    canonical[i] = train[static_cast<size_t>(ivf[i])];
  }
  return read_canonical_rows(plan_dir, indexes, state.layout, canonical);
}

// The gathering path, for what rounds cannot train or must refuse as local training does.
Result<AdvanceOutcome> gather_and_train(const std::string& plan_dir, const std::string& model_dir,
                                        bool overwrite, const TrainParams& params,
                                        const std::string& why) {
  logger().info("advance: {}: training by gathering the samples, as train --from-samples", why);
  IVF_ASSIGN_OR_RETURN(PlanResults collected, read_plan_results(plan_dir));
  if (!collected.unusable.empty()) {
    std::vector<std::string> problems;
    std::vector<int> rerun;
    for (const UnusableResult& u : collected.unusable) {
      problems.push_back(u.problem);
      rerun.push_back(u.worker);
    }
    return Status::FailedPrecondition(fmt::format(
        "{} of {} sample results cannot be used ({}); rerun `ivftrain sample` for workers {}",
        problems.size(), collected.plan.tasks.size(), fmt::join(problems, "; "),
        fmt::join(rerun, ", ")));
  }
  IVF_ASSIGN_OR_RETURN(TrainedModels models,
                       train_from_samples(std::move(collected.results), params));
  IVF_RETURN_IF_ERROR(write_model_dir(models, model_dir, overwrite));
  AdvanceOutcome out;
  out.model_written = true;
  out.summary = fmt::format("trained by gathering the samples ({}) and wrote {}", why, model_dir);
  return out;
}

std::string bounds_path(const std::string& plan_dir, int round, int worker) {
  return (round_dir(plan_dir, round) / fmt::format("bounds-{:04d}", worker)).string();
}

// The worker's bounds of `round`, when usable: any problem means they are recomputed.
Result<WorkerBounds> read_bounds(const std::string& plan_dir, int round, int worker,
                                 const std::string& plan_id) {
  const std::string path = bounds_path(plan_dir, round, worker);
  IVF_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return parse_worker_bounds(bytes, path, plan_id, worker, round);
}

std::string groups_path(const std::string& plan_dir, int worker) {
  return (round_dir(plan_dir, 0) / groups_file_name(worker)).string();
}

// Worker `worker`'s sample result, whole (its shard).
Result<SampleResult> read_own_result(const std::string& plan_dir, const PlanDir& plan, int worker) {
  const std::string path = result_path(plan_dir, worker);
  IVF_ASSIGN_OR_RETURN(SampleResult shard, read_sample_result(path));
  if (shard.plan_id != plan.plan_id || shard.worker != worker) {
    return Status::FailedPrecondition(fmt::format(
        "{} belongs to plan {} worker {}, not to this plan's task {}; rerun `ivftrain sample` "
        "for worker {}",
        path, shard.plan_id, shard.worker, worker, worker));
  }
  return shard;
}

std::string seed_path(const std::string& plan_dir, int round, int worker) {
  return (round_dir(plan_dir, round) / fmt::format("seed-{:04d}", worker)).string();
}

// Worker `worker`'s k-means|| round: its rows' state continues from its seed file of the previous
// round (when that is of these candidates; else its batches are measured again, logged), and is
// saved to this round's seed file before the partial (a partial present means the worker's next
// round can read it).
Result<RoundPartial> seed_round_partial(const std::string& plan_dir, const PlanDir& plan,
                                        const RoundState& state, const TrainParams& params,
                                        int worker) {
  IVF_ASSIGN_OR_RETURN(SampleResult shard, read_own_result(plan_dir, plan, worker));
  WorkerSeed in, out;
  const WorkerSeed* in_ptr = nullptr;
  if (state.round > 0) {
    const std::string path = seed_path(plan_dir, state.round - 1, worker);
    Result<std::string> bytes = read_file(path);
    Result<WorkerSeed> s =
        bytes.ok() ? parse_worker_seed(*bytes, path, plan.plan_id, worker) : bytes.status();
    const int64_t before = state.seed_ends[state.seed_ends.size() - 2];
    if (s.ok() && s->measured == before &&
        s->candidates_hash == seed_candidates_hash(state, before)) {
      in = std::move(*s);
      in_ptr = &in;
    } else {
      logger().info(
          "round {} of plan {}, worker {}: no usable k-means|| state of round {} ({}); "
          "measuring the {} earlier candidates again",
          state.round, plan.plan_id, worker, state.round - 1,
          s.ok() ? "other candidates" : s.status().message(), before);
    }
  }
  IVF_ASSIGN_OR_RETURN(RoundPartial partial,
                       compute_seed_partial(shard, state, params, in_ptr, &out));
  IVF_RETURN_IF_ERROR(write_file_atomic(seed_path(plan_dir, state.round, worker),
                                        serialize_worker_seed(out, plan.plan_id, worker)));
  return partial;
}

// Worker v's groups of round 0 (`first`), or why they cannot be used.
Result<std::vector<int32_t>> read_groups(const std::string& plan_dir, const PlanDir& plan,
                                         const RoundState& first, int v) {
  const std::string path = groups_path(plan_dir, v);
  Result<std::string> bytes = read_file(path);
  Result<WorkerGroups> g =
      bytes.ok() ? parse_worker_groups(*bytes, path, plan.plan_id, v) : bytes.status();
  if (!g.ok()) return g.status();
  if (g->centroids_fingerprint != first.fingerprint()) {
    return Status::FailedPrecondition(
        fmt::format("{} was computed against other coarse centroids than round 0's", path));
  }
  return std::move(g->groups);
}

Status write_groups(const std::string& plan_dir, const PlanDir& plan, const RoundState& first,
                    int worker, std::vector<int32_t> groups) {
  WorkerGroups g;
  g.centroids_fingerprint = first.fingerprint();
  g.groups = std::move(groups);
  return write_file_atomic(groups_path(plan_dir, worker),
                           serialize_worker_groups(g, plan.plan_id, worker));
}

// A worker's partial of a round that trains or refines hierarchical k-means' groups: the rows of
// its groups, found through every worker's groups of round 0, read from their results.
Result<RoundPartial> held_round_partial(const std::string& plan_dir, const PlanDir& plan,
                                        const RoundState& state, const TrainParams& params,
                                        int worker) {
  const int workers = static_cast<int>(plan.tasks.size());
  IVF_ASSIGN_OR_RETURN(RoundState first, read_round_state(plan_dir, 0));
  // This worker's own groups are written again when they are lost (from its result).
  if (Result<std::vector<int32_t>> own = read_groups(plan_dir, plan, first, worker); !own.ok()) {
    logger().info(
        "round {} of plan {}, worker {}: its groups of round 0 cannot be used ({}); assigning "
        "its rows to the groups again",
        state.round, plan.plan_id, worker, own.status().message());
    IVF_ASSIGN_OR_RETURN(SampleResult shard, read_own_result(plan_dir, plan, worker));
    std::vector<int32_t> groups;
    IVF_RETURN_IF_ERROR(
        compute_round_partial(shard, first, params, nullptr, nullptr, &groups).status());
    IVF_RETURN_IF_ERROR(write_groups(plan_dir, plan, first, worker, std::move(groups)));
  }
  const auto groups_of = [&](int v) -> Result<std::vector<int32_t>> {
    Result<std::vector<int32_t>> g = read_groups(plan_dir, plan, first, v);
    if (g.ok()) return g;
    return Status::FailedPrecondition(fmt::format(
        "worker {} cannot find the rows of its groups: {}; rerun `ivftrain round {} --worker {}` "
        "(it writes them again), then worker {}",
        worker, g.status().message(), plan_dir, v, worker));
  };
  IVF_ASSIGN_OR_RETURN(HeldRowPlan held, held_rows_plan(state, params, worker, workers, groups_of));
  // The rows, from one worker's result at a time (its index held only while its rows are read).
  const std::vector<uint64_t> stamps = read_result_stamps(plan_dir, plan.plan_id);
  SampleResult index;
  IVF_ASSIGN_OR_RETURN(
      std::vector<float> vectors,
      read_addressed_rows(
          plan_dir, workers, state.dim, held.at, [&](int v) -> Result<const SampleResult*> {
            Result<SampleResult> r = read_index(plan_dir, plan, v, &stamps, nullptr);
            if (!r.ok()) {
              return Status::FailedPrecondition(fmt::format(
                  "{}; rerun `ivftrain sample` for worker {}", r.status().message(), v));
            }
            index = std::move(*r);
            return &index;
          }));
  return compute_held_partial(state, params, worker, workers, held, vectors);
}

// A split round's addition to a worker's log line.
std::string split_note(const RoundState& state) {
  if (state.stage != RoundStage::kSplit) return "";
  return fmt::format(" again, with the farthest rows of the {} clusters split",
                     state.split_donors.size());
}

// What advance did in a round whose update splits clusters, and what the split round needs.
std::string split_summary(const RoundState& merged, const RoundState& next, int workers) {
  return fmt::format(
      "merged round {} of plan {}: {} clusters are empty; round {} (each worker assigns its rows "
      "to round {}'s centroids again and finds, in each of the {} clusters split, its row "
      "farthest from the cluster's new centroid) needs a partial of each of the {} workers",
      merged.round, merged.plan_id, next.split_donors.size(), next.round, merged.round,
      next.split_donors.size(), workers);
}

// What advance did in a k-means|| round, and what the next round needs.
std::string seed_summary(const RoundState& merged, const RoundState& next, int workers) {
  if (next.stage == RoundStage::kSeed) {
    return fmt::format(
        "merged k-means|| round {} of plan {}: {} rows drawn, {} candidates for {} centroids "
        "(their rows read from the results); round {} needs a partial of each of the {} workers",
        merged.round, merged.plan_id, next.candidate_rows.size() - merged.candidate_rows.size(),
        next.candidate_rows.size(), merged.k, next.round, workers);
  }
  return fmt::format(
      "merged k-means|| round {} of plan {}: the {} initial centroids chosen from {} weighted "
      "candidates; round {} assigns them and needs a partial of each of the {} workers",
      merged.round, merged.plan_id, merged.k, merged.candidate_rows.size(), next.round, workers);
}

// What advance did in a round of hierarchical k-means, and what the next round needs.
std::string hierarchical_summary(const RoundState& merged, const RoundState& next, int workers) {
  const std::vector<int64_t>& sizes = next.group_sizes;
  std::string done;
  if (merged.stage == RoundStage::kGroups) {
    done = fmt::format("the workers' rows fall into {} groups of {} to {} rows (cap {})",
                       sizes.size(), *std::min_element(sizes.begin(), sizes.end()),
                       *std::max_element(sizes.begin(), sizes.end()), next.capacity);
  } else if (merged.stage == RoundStage::kCap) {
    done = fmt::format(
        "the groups are capped at {} rows, {} rows moved (decided from the workers' capping "
        "records)",
        next.capacity, next.moved_rows.size());
  } else if (merged.stage == RoundStage::kTrainGroups) {
    done = fmt::format("the {} centroids of {} groups, each trained by the worker holding its rows",
                       next.k, sizes.size());
  } else {
    done = fmt::format(
        "objective {:.6g}; {} empty clusters split into the centroids of refinement iteration {}",
        next.prev_objective, next.split, next.iterations.size());
  }
  const char* what = next.stage == RoundStage::kCap ? "(the capping records of the rows in "
                                                      "over-full groups)"
                     : next.stage == RoundStage::kTrainGroups
                         ? "(sharded: each worker trains its groups)"
                         : "(sharded: each worker assigns the rows of its groups)";
  return fmt::format(
      "merged round {} of plan {}: {}; round {} {} needs a partial of each of the {} "
      "workers",
      merged.round, merged.plan_id, done, next.round, what, workers);
}

}  // namespace

std::string round_dir_name(int round) { return fmt::format("round-{:04d}", round); }
std::string partial_file_name(int worker) { return fmt::format("partial-{:04d}", worker); }
std::string groups_file_name(int worker) { return fmt::format("groups-{:04d}", worker); }

std::string serialize_worker_bounds(const WorkerBounds& b, const std::string& plan_id, int worker) {
  Writer w = worker_file(kBoundsMagic, plan_id, worker);
  w.put(static_cast<int32_t>(b.round));
  w.put(b.centroids_fingerprint);
  w.put(static_cast<int64_t>(b.labels.size()));
  w.put(static_cast<int64_t>(b.previous.size()));
  w.put_array(b.labels);
  w.put_array(b.lower);
  w.put_array(b.dist);
  w.put_array(b.previous);
  return w.finish();
}

Result<WorkerBounds> parse_worker_bounds(const std::string& bytes, const std::string& source_name,
                                         const std::string& plan_id, int worker, int round) {
  IVF_ASSIGN_OR_RETURN(Reader in,
                       open_checked(bytes, kBoundsMagic, "worker's bounds", source_name));
  WorkerBounds b;
  const bool mine = is_workers_file(in, plan_id, worker);
  b.round = in.get<int32_t>();
  b.centroids_fingerprint = in.get<uint64_t>();
  const auto n = in.get<int64_t>();
  const auto kd = in.get<int64_t>();
  in.get_array(b.labels, n);
  in.get_array(b.lower, n);
  in.get_array(b.dist, n);
  in.get_array(b.previous, kd);
  if (!in.ok() || !in.at_end() || !mine || b.round != round) {
    return Status::Corruption(
        fmt::format("{} is not worker {}'s bounds of round {}", source_name, worker, round));
  }
  return b;
}

std::string serialize_worker_seed(const WorkerSeed& seed, const std::string& plan_id, int worker) {
  Writer w = worker_file(kSeedMagic, plan_id, worker);
  w.put(seed.measured);
  w.put(seed.candidates_hash);
  w.put_vec(seed.nearest);
  w.put_vec(seed.label);
  return w.finish();
}

Result<WorkerSeed> parse_worker_seed(const std::string& bytes, const std::string& source_name,
                                     const std::string& plan_id, int worker) {
  IVF_ASSIGN_OR_RETURN(Reader in,
                       open_checked(bytes, kSeedMagic, "worker's k-means|| state", source_name));
  WorkerSeed seed;
  const bool mine = is_workers_file(in, plan_id, worker);
  seed.measured = in.get<int64_t>();
  seed.candidates_hash = in.get<uint64_t>();
  in.get_vec(seed.nearest);
  in.get_vec(seed.label);
  if (!in.ok() || !in.at_end() || !mine || seed.nearest.size() != seed.label.size()) {
    return Status::Corruption(fmt::format("{} is not worker {}'s k-means|| state of plan {}",
                                          source_name, worker, plan_id));
  }
  return seed;
}

std::string serialize_round_state(const RoundState& s) {
  Writer w;
  w.put_magic(kStateMagic);
  w.put(kVersion);
  w.put_id(s.plan_id);
  w.put(s.params_hash);
  w.put(static_cast<int32_t>(s.round));
  w.put(static_cast<int32_t>(s.stage));
  for (int64_t v : {s.k, s.dim, s.train_rows}) w.put(v);
  for (uint64_t v : s.rng_state) w.put(v);
  w.put(s.grid_step);
  w.put(s.split);
  w.put(s.prev_objective);
  w.put(static_cast<int64_t>(s.iterations.size()));
  for (const KMeansIteration& it : s.iterations) {
    w.put(it.objective);
    w.put(it.empty_clusters_split);
    w.put(it.rows_computed);
    w.put(it.seconds);
    w.put(it.assign_seconds);
  }
  w.put(static_cast<int64_t>(s.layout.fragment_ids.size()));
  w.put_array(s.layout.fragment_ids);
  w.put_array(s.layout.fragment_rows);
  w.put_array(s.layout.workers);
  w.put_vec(s.centroids);
  w.put_vec(s.coarse);
  w.put_vec(s.group_sizes);
  w.put(s.capacity);
  w.put(static_cast<uint8_t>(s.capped));
  w.put_vec(s.moved_rows);
  w.put_vec(s.moved_to);
  w.put_vec(s.candidate_rows);
  w.put_vec(s.seed_ends);
  w.put(s.init_rounds);
  w.put(static_cast<int32_t>(s.split_after));
  w.put_vec(s.split_donors);
  w.put_vec(s.split_centroids);
  w.put(s.split_rounds);
  return w.finish();
}

Result<RoundState> parse_round_state(const std::string& bytes, const std::string& name) {
  const std::string what = "round state";
  IVF_ASSIGN_OR_RETURN(Reader in, open_checked(bytes, kStateMagic, what, name));
  RoundState s;
  s.plan_id = in.get_id();
  s.params_hash = in.get<uint64_t>();
  s.round = in.get<int32_t>();
  const auto stage = in.get<int32_t>();
  s.stage = static_cast<RoundStage>(stage);
  s.k = in.get<int64_t>();
  s.dim = in.get<int64_t>();
  s.train_rows = in.get<int64_t>();
  for (uint64_t& v : s.rng_state) v = in.get<uint64_t>();
  s.grid_step = in.get<double>();
  s.split = in.get<int64_t>();
  s.prev_objective = in.get<double>();
  const auto iterations = in.get<int64_t>();
  auto bad = [&] {
    return Status::Corruption(
        fmt::format("{} is not a usable {}: its sizes do not match the file", name, what));
  };
  if (!in.ok() || iterations < 0 || static_cast<uint64_t>(iterations) > bytes.size() / 40 ||
      s.round < 0 || stage < 0 || stage > static_cast<int32_t>(RoundStage::kSplit) || s.k < 1 ||
      s.dim < 1 || s.k > std::numeric_limits<int32_t>::max() ||
      static_cast<uint64_t>(s.dim) > bytes.size()) {
    return bad();
  }
  s.iterations.resize(static_cast<size_t>(iterations));
  for (KMeansIteration& it : s.iterations) {
    it.objective = in.get<double>();
    it.empty_clusters_split = in.get<int64_t>();
    it.rows_computed = in.get<int64_t>();
    it.seconds = in.get<double>();
    it.assign_seconds = in.get<double>();
  }
  const auto fragments = in.get<int64_t>();
  in.get_array(s.layout.fragment_ids, fragments);
  in.get_array(s.layout.fragment_rows, fragments);
  in.get_array(s.layout.workers, fragments);
  in.get_vec(s.centroids);
  in.get_vec(s.coarse);
  in.get_vec(s.group_sizes);
  s.capacity = in.get<int64_t>();
  s.capped = in.get<uint8_t>() != 0;
  in.get_vec(s.moved_rows);
  in.get_vec(s.moved_to);
  in.get_vec(s.candidate_rows);
  in.get_vec(s.seed_ends);
  s.init_rounds = in.get<int32_t>();
  const auto split_after = in.get<int32_t>();
  s.split_after = static_cast<RoundStage>(split_after);
  in.get_vec(s.split_donors);
  in.get_vec(s.split_centroids);
  s.split_rounds = in.get<int32_t>();
  if (!in.ok() || !in.at_end()) return bad();
  // A split round repeats a flat or kRefine round, with one centroid per donor.
  const bool split_ok =
      s.stage == RoundStage::kSplit
          ? (s.split_after == RoundStage::kFlat || s.split_after == RoundStage::kRefine) &&
                !s.split_donors.empty() &&
                s.split_centroids.size() == s.split_donors.size() * static_cast<size_t>(s.dim) &&
                std::all_of(s.split_donors.begin(), s.split_donors.end(),
                            [&](int64_t c) { return c >= 0 && c < s.k; })
          : split_after == 0 && s.split_donors.empty() && s.split_centroids.empty();
  if (!split_ok || s.split_rounds < 0 || s.split_rounds > s.round) return bad();
  // The shapes each stage reads: the k centroids (flat, kRefine), g coarse centroids and their
  // sizes (hierarchical), one group per moved row.
  const RoundStage work = s.work_stage();
  const bool hierarchical = work != RoundStage::kFlat && work != RoundStage::kSeed;
  const auto kd = static_cast<size_t>(s.k * s.dim);
  const size_t g = hierarchical ? s.coarse.size() / static_cast<size_t>(s.dim) : 0;
  const bool sized = work == RoundStage::kSeed ? seed_state_sized(s)
                     : (work == RoundStage::kFlat || work == RoundStage::kRefine)
                         ? s.centroids.size() == kd
                         : s.centroids.empty();
  const bool groups_sized =
      !hierarchical ||
      (g >= 1 && s.coarse.size() == g * static_cast<size_t>(s.dim) &&
       (work == RoundStage::kGroups ? s.group_sizes.empty() : s.group_sizes.size() == g));
  if (!sized || !groups_sized || s.moved_rows.size() != s.moved_to.size() || s.init_rounds < 0 ||
      s.init_rounds > s.round) {
    return bad();
  }
  return s;
}

std::string serialize_round_partial(const RoundPartial& p) {
  Writer w;
  w.put_magic(kPartialMagic);
  w.put(kVersion);
  w.put_id(p.plan_id);
  w.put(static_cast<int32_t>(p.worker));
  w.put(static_cast<int32_t>(p.round));
  w.put(static_cast<int32_t>(p.stage));
  w.put(p.centroids_fingerprint);
  for (int64_t v : {p.k, p.dim, p.rows}) w.put(v);
  w.put(p.max_abs);
  w.put(p.max_norm2);
  w.put(p.objective);
  w.put_vec(p.objective_bins);
  w.put(p.grid_step);
  w.put_vec(p.sums);
  w.put_vec(p.norms);
  w.put_vec(p.counts);
  w.put_vec(p.identical);
  w.put_vec(p.first);
  w.put_vec(p.first_row);
  w.put_vec(p.row_hashes);
  w.put_vec(p.cap_records);
  w.put_vec(p.fine);
  w.put_vec(p.group_objectives);
  w.put_vec(p.drawn_rows);
  w.put_vec(p.drawn_dist);
  w.put_vec(p.far_rows);
  w.put_vec(p.far_dist);
  return w.finish();
}

Result<RoundPartial> parse_round_partial(const std::string& bytes, const std::string& name) {
  const std::string what = "round partial";
  IVF_ASSIGN_OR_RETURN(Reader in, open_checked(bytes, kPartialMagic, what, name));
  RoundPartial p;
  p.plan_id = in.get_id();
  p.worker = in.get<int32_t>();
  p.round = in.get<int32_t>();
  const auto stage = in.get<int32_t>();
  p.stage = static_cast<RoundStage>(stage);
  p.centroids_fingerprint = in.get<uint64_t>();
  p.k = in.get<int64_t>();
  p.dim = in.get<int64_t>();
  p.rows = in.get<int64_t>();
  p.max_abs = in.get<double>();
  p.max_norm2 = in.get<double>();
  p.objective = in.get<double>();
  in.get_vec(p.objective_bins);
  p.grid_step = in.get<double>();
  // Sizes are checked against the round's state when the partials are merged.
  in.get_vec(p.sums);
  in.get_vec(p.norms);
  in.get_vec(p.counts);
  in.get_vec(p.identical);
  in.get_vec(p.first);
  in.get_vec(p.first_row);
  in.get_vec(p.row_hashes);
  in.get_vec(p.cap_records);
  in.get_vec(p.fine);
  in.get_vec(p.group_objectives);
  in.get_vec(p.drawn_rows);
  in.get_vec(p.drawn_dist);
  in.get_vec(p.far_rows);
  in.get_vec(p.far_dist);
  if (!in.ok() || !in.at_end() || p.k < 1 || p.dim < 1 || stage < 0 ||
      stage > static_cast<int32_t>(RoundStage::kSplit)) {
    return Status::Corruption(
        fmt::format("{} is not a usable {}: its sizes do not match the file", name, what));
  }
  return p;
}

std::string serialize_worker_groups(const WorkerGroups& groups, const std::string& plan_id,
                                    int worker) {
  Writer w = worker_file(kGroupsMagic, plan_id, worker);
  w.put(groups.centroids_fingerprint);
  w.put_vec(groups.groups);
  return w.finish();
}

Result<WorkerGroups> parse_worker_groups(const std::string& bytes, const std::string& source_name,
                                         const std::string& plan_id, int worker) {
  IVF_ASSIGN_OR_RETURN(Reader in,
                       open_checked(bytes, kGroupsMagic, "worker's groups", source_name));
  WorkerGroups g;
  const bool mine = is_workers_file(in, plan_id, worker);
  g.centroids_fingerprint = in.get<uint64_t>();
  in.get_vec(g.groups);
  if (!in.ok() || !in.at_end() || !mine) {
    return Status::Corruption(
        fmt::format("{} is not worker {}'s groups of plan {}", source_name, worker, plan_id));
  }
  return g;
}

Result<std::string> run_round(const std::string& plan_dir, int worker, int num_threads) {
  IVF_ASSIGN_OR_RETURN(PlanDir plan, read_plan_dir(plan_dir));
  const int workers = static_cast<int>(plan.tasks.size());
  if (worker < 0 || worker >= workers) {
    return Status::InvalidArgument(fmt::format("--worker {} is not a worker of plan {} (0 to {})",
                                               worker, plan_dir, workers - 1));
  }
  const int round = latest_round(plan_dir);
  if (round < 0) {
    return Status::FailedPrecondition(fmt::format(
        "the rounds of plan {} have not begun; run `ivftrain advance {} --out MODEL` first",
        plan_dir, plan_dir));
  }
  IVF_ASSIGN_OR_RETURN(RoundState state, read_round_state(plan_dir, round));
  if (state.plan_id != plan.plan_id) {
    return Status::Corruption(fmt::format(
        "{} belongs to plan {}, not to plan {} of {}; remove the round directories and advance "
        "again",
        (round_dir(plan_dir, round) / kRoundStateFileName).string(), state.plan_id, plan.plan_id,
        plan_dir));
  }
  TrainParams params = plan.params;
  params.num_threads = num_threads;
  const std::string out = (round_dir(plan_dir, round) / partial_file_name(worker)).string();
  if (state.work_stage() == RoundStage::kTrainGroups || state.work_stage() == RoundStage::kRefine) {
    IVF_ASSIGN_OR_RETURN(RoundPartial partial,
                         held_round_partial(plan_dir, plan, state, params, worker));
    IVF_RETURN_IF_ERROR(write_file_atomic(out, serialize_round_partial(partial)));
    logger().info("round {} of plan {}, worker {}: {} rows of its groups {}{} -> {}", round,
                  plan.plan_id, worker, partial.rows,
                  state.stage == RoundStage::kTrainGroups ? "trained" : "assigned",
                  split_note(state), out);
    return out;
  }
  if (state.stage == RoundStage::kSeed) {
    IVF_ASSIGN_OR_RETURN(RoundPartial partial,
                         seed_round_partial(plan_dir, plan, state, params, worker));
    IVF_RETURN_IF_ERROR(write_file_atomic(out, serialize_round_partial(partial)));
    logger().info(
        "round {} of plan {}, worker {}: k-means|| over {} rows, phi share {:.6g}, {} rows "
        "offered -> {}",
        round, plan.plan_id, worker, partial.rows, partial.objective, partial.drawn_rows.size(),
        out);
    return out;
  }
  IVF_ASSIGN_OR_RETURN(SampleResult shard, read_own_result(plan_dir, plan, worker));
  // Bounds (as local training's BoundedAssigner keeps them) continue from this worker's previous
  // round; when they are gone (a lost file, another machine), the worker's rounds since the
  // first are replayed from their centroids, which the plan directory keeps.
  const bool bounded = state.work_stage() == RoundStage::kFlat &&
                       rounds_use_bounds(params, state.dim) && state.grid_step != 0;
  WorkerBounds in, saved;
  const WorkerBounds* in_ptr = nullptr;
  if (bounded && state.lloyd_round() > 1) {
    IVF_ASSIGN_OR_RETURN(RoundState previous, read_round_state(plan_dir, round - 1));
    Result<WorkerBounds> b = read_bounds(plan_dir, round - 1, worker, plan.plan_id);
    if (b.ok() && b->centroids_fingerprint == previous.fingerprint()) {
      in = std::move(*b);
    } else {
      logger().info(
          "round {} of plan {}, worker {}: no usable bounds of round {} ({}); "
          "replaying rounds {} to {}",
          round, plan.plan_id, worker, round - 1, b.ok() ? "other centroids" : b.status().message(),
          state.init_rounds + 1, round - 1);
      WorkerBounds replayed;
      const int first = state.init_rounds + 1;  // the flat rounds' round 1
      for (int r = first; r < round; ++r) {
        IVF_ASSIGN_OR_RETURN(RoundState earlier, read_round_state(plan_dir, r));
        WorkerBounds next;
        IVF_RETURN_IF_ERROR(
            compute_round_partial(shard, earlier, params, r > first ? &replayed : nullptr, &next)
                .status());
        replayed = std::move(next);
      }
      in = std::move(replayed);
    }
    in_ptr = &in;
  }
  std::vector<int32_t> groups;
  IVF_ASSIGN_OR_RETURN(RoundPartial partial,
                       compute_round_partial(shard, state, params, in_ptr, &saved, &groups));
  // The bounds (or groups) first: a partial present means the worker's next rounds can read them.
  if (state.stage == RoundStage::kGroups) {
    IVF_RETURN_IF_ERROR(write_groups(plan_dir, plan, state, worker, std::move(groups)));
  }
  if (bounded) {
    IVF_RETURN_IF_ERROR(write_file_atomic(bounds_path(plan_dir, round, worker),
                                          serialize_worker_bounds(saved, plan.plan_id, worker)));
  }
  IVF_RETURN_IF_ERROR(write_file_atomic(out, serialize_round_partial(partial)));
  logger().info("round {} of plan {}, worker {}: {} rows assigned{}, objective share {:.6g} -> {}",
                round, plan.plan_id, worker, partial.rows, split_note(state), partial.objective,
                out);
  return out;
}

Result<AdvanceOutcome> advance_rounds(const std::string& plan_dir, const std::string& model_dir,
                                      bool overwrite, int num_threads) {
  const auto t_start = std::chrono::steady_clock::now();
  IVF_ASSIGN_OR_RETURN(PlanDir plan, read_plan_dir(plan_dir));
  TrainParams params = plan.params;
  params.num_threads = num_threads;
  const int workers = static_cast<int>(plan.tasks.size());
  if (const std::string why = rounds_unsupported(params); !why.empty()) {
    return gather_and_train(plan_dir, model_dir, overwrite, params,
                            why + " needs the whole sample");
  }
  const int64_t k = params.ivf.num_partitions;
  const int round = latest_round(plan_dir);
  AdvanceOutcome out;
  if (round < 0) {
    // The rounds begin: the initial centroids, read from the results by seeking.
    std::vector<uint64_t> stamps;
    IVF_ASSIGN_OR_RETURN(std::vector<SampleResult> indexes,
                         read_indexes(plan_dir, plan, nullptr, &stamps));
    IVF_RETURN_IF_ERROR(check_whole_plan(indexes, params));
    const int64_t dim = indexes.front().dim;
    IVF_RETURN_IF_ERROR(validate(params, dim));
    IVF_ASSIGN_OR_RETURN(SampleLayout layout, sample_layout(indexes));
    const int64_t rows = layout.rows();
    const std::vector<int64_t> train = ivf_training_rows(params, rows);
    const int64_t train_rows = static_cast<int64_t>(train.size());
    // What local training refuses or does without iterating is left to it, so that the
    // message or the model is the same.
    if (rows == 0 || k > rows || train_rows == k) {
      return gather_and_train(plan_dir, model_dir, overwrite, params,
                              fmt::format("{} sample rows for {} partitions", rows, k));
    }
    RoundState state;
    if (hierarchical_rounds(params)) {
      // (Its round 0 unites every worker's distinct rows for local training's distinct check.)
      // Hierarchical k-means: its coarse k-means here, on the coarse sample (at most 256 g rows)
      // read by seeking, as local training trains it.
      const std::vector<int64_t> coarse = coarse_training_rows(params, train_rows);
      std::vector<int64_t> canonical(coarse.size());
      for (size_t i = 0; i < coarse.size(); ++i)
        canonical[i] = train[static_cast<size_t>(coarse[i])];
      IVF_ASSIGN_OR_RETURN(std::vector<float> coarse_x,
                           read_canonical_rows(plan_dir, indexes, layout, canonical));
      // Local training refuses values too large for float32 before training: so does this, with
      // its sentence (the other rows are checked in round 0).
      for (size_t i = 0; i < coarse.size(); ++i) {
        double n2 = 0;
        for (int64_t j = 0; j < dim; ++j) {
          n2 += static_cast<double>(coarse_x[i * dim + j]) * coarse_x[i * dim + j];
        }
        if (!check_largest_norm(n2, 0, 0.0f).ok()) {
          return gather_and_train(plan_dir, model_dir, overwrite, params,
                                  "the sample holds values too large for float32");
        }
      }
      state = first_hierarchical_round(plan.plan_id, params, dim, std::move(layout), coarse_x);
      out.summary = fmt::format(
          "began the hierarchical k-means of plan {}: the coarse k-means of {} groups trained on "
          "{} of the {} IVF rows, read from the {} results; round 0 (sharded: each worker "
          "assigns its rows to the groups) needs a partial of each of the {} workers",
          plan.plan_id, state.coarse.size() / dim, coarse.size(), train_rows, workers, workers);
    } else {
      // Local training counts distinct rows from the first IVF rows on: the first k usually
      // settle it; otherwise the gathering path looks further (and refuses, if it must).
      const std::vector<int64_t> first_rows(train.begin(), train.begin() + k);
      IVF_ASSIGN_OR_RETURN(std::vector<float> firsts,
                           read_canonical_rows(plan_dir, indexes, layout, first_rows));
      if (count_distinct_rows(firsts.data(), k, dim, k) < k) {
        return gather_and_train(plan_dir, model_dir, overwrite, params,
                                "the first IVF rows hold duplicates");
      }
      const InitialRows init = initial_centroid_rows(params, rows);
      IVF_ASSIGN_OR_RETURN(std::vector<float> centroids,
                           read_canonical_rows(plan_dir, indexes, layout, init.rows));
      state = first_round(plan.plan_id, params, dim, std::move(layout), std::move(centroids),
                          init.rng_state);
      out.summary =
          state.stage == RoundStage::kSeed
              ? fmt::format(
                    "began the k-means|| initialisation of plan {}: its first candidate, one of "
                    "{} IVF rows of {} sample rows in {} results; round 0 (sharded: each worker "
                    "measures its rows against the candidates and offers the rows it would "
                    "draw) needs a partial of each of the {} workers",
                    plan.plan_id, train_rows, rows, workers, workers)
              : fmt::format(
                    "began the rounds of plan {}: {} initial centroids from {} IVF rows of {} "
                    "sample rows in {} results; round 0 (a scan of the rows) needs a partial of "
                    "each of the {} workers",
                    plan.plan_id, k, train_rows, rows, workers, workers);
    }
    // The stamps before the state: a state present means the rounds began with its stamps.
    IVF_RETURN_IF_ERROR(write_result_stamps(plan_dir, plan.plan_id, stamps));
    IVF_RETURN_IF_ERROR(write_round_state(plan_dir, state));
    out.round = 0;
    return out;
  }

  IVF_ASSIGN_OR_RETURN(RoundState state, read_round_state(plan_dir, round));
  const std::string state_path = (round_dir(plan_dir, round) / kRoundStateFileName).string();
  if (state.plan_id != plan.plan_id || state.params_hash != params_fingerprint(params)) {
    return Status::Corruption(fmt::format(
        "{} belongs to another plan than {} ({}); remove the round directories and advance "
        "again",
        state_path, plan_dir, plan.plan_id));
  }
  // The round's partials, merged one at a time as they are read (RoundMerger: a flat or
  // refinement round's k x dim sums are added into running totals, so advance holds one partial
  // whatever the number of workers). Every worker's file is still checked, so that all the bad
  // ones are named at once; none yet means the round is still to run.
  RoundMerger merger(state, params, workers);
  Status merged_so_far;  // the merger's first refusal
  double max_norm2 = 0;  // the largest squared norm of any sample row (round 0's check)
  std::vector<std::string> problems;
  std::vector<int> rerun;
  int present = 0;
  const uint64_t fingerprint = state.fingerprint();
  for (int w = 0; w < workers; ++w) {
    const std::string path = (round_dir(plan_dir, round) / partial_file_name(w)).string();
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      problems.push_back(fmt::format("{} is missing", path));
      rerun.push_back(w);
      continue;
    }
    ++present;
    // The file's bytes are released once parsed.
    Result<RoundPartial> p = [&]() -> Result<RoundPartial> {
      Result<std::string> bytes = read_file(path);
      if (!bytes.ok()) return bytes.status();
      return parse_round_partial(*bytes, path);
    }();
    if (!p.ok()) {
      problems.push_back(p.status().message());
      rerun.push_back(w);
    } else if (p->plan_id != state.plan_id || p->worker != w || p->round != round) {
      problems.push_back(fmt::format("{} is the partial of plan {} worker {} round {}", path,
                                     p->plan_id, p->worker, p->round));
      rerun.push_back(w);
    } else if (p->centroids_fingerprint != fingerprint || p->k != state.k || p->dim != state.dim) {
      problems.push_back(
          fmt::format("{} was computed against other centroids than {}", path, state_path));
      rerun.push_back(w);
    } else {
      max_norm2 = std::max(max_norm2, p->max_norm2);
      if (problems.empty() && merged_so_far.ok()) merged_so_far = merger.add(std::move(*p));
    }
  }
  if (present == 0) {
    out.round = round;
    out.summary = fmt::format(
        "round {} of plan {} has no partials yet; it needs a partial of "
        "each of the {} workers",
        round, plan.plan_id, workers);
    return out;
  }
  if (!problems.empty()) {
    return Status::FailedPrecondition(fmt::format(
        "{} of {} partials of round {} cannot be used ({}); rerun `ivftrain round {} --worker W` "
        "for workers {}",
        problems.size(), workers, round, fmt::join(problems, "; "), plan_dir,
        fmt::join(rerun, ", ")));
  }
  // Local training refuses values too large for float32 before training: so does this, with
  // its sentence.
  if (round == 0 && !check_largest_norm(max_norm2, 0, 0.0f).ok()) {
    return gather_and_train(plan_dir, model_dir, overwrite, params,
                            "the sample holds values too large for float32");
  }
  IVF_RETURN_IF_ERROR(merged_so_far);
  // The capping reads the few rows whose candidates were all full.
  const IvfRowsFetch fetch = [&](const std::vector<int64_t>& ivf) {
    return read_ivf_rows(plan_dir, plan, state, params, ivf);
  };
  IVF_ASSIGN_OR_RETURN(RoundMerge merged, merger.finish(fetch));
  if (state.stage == RoundStage::kSeed) {
    IVF_RETURN_IF_ERROR(write_round_state(plan_dir, merged.next));
    out.round = merged.next.round;
    out.summary = seed_summary(state, merged.next, workers);
    return out;
  }
  if (!merged.finished && merged.next.stage == RoundStage::kSplit) {
    IVF_RETURN_IF_ERROR(write_round_state(plan_dir, merged.next));
    out.round = merged.next.round;
    out.summary = split_summary(state, merged.next, workers);
    return out;
  }
  if (!merged.finished && state.work_stage() != RoundStage::kFlat) {
    IVF_RETURN_IF_ERROR(write_round_state(plan_dir, merged.next));
    out.round = merged.next.round;
    out.summary = hierarchical_summary(state, merged.next, workers);
    return out;
  }
  if (!merged.finished) {
    const KMeansIteration* last =
        merged.next.iterations.empty() ? nullptr : &merged.next.iterations.back();
    IVF_RETURN_IF_ERROR(write_round_state(plan_dir, merged.next));
    out.round = merged.next.round;
    out.summary =
        merged.next.lloyd_round() == 1
            ? fmt::format(
                  "scanned plan {}: the exact sums' grid is set; round 1 assigns the "
                  "initial centroids and needs a partial of each of the {} workers",
                  plan.plan_id, workers)
        : last ? fmt::format(
                     "merged round {} of plan {}: objective {:.6g}; {} empty clusters split "
                     "into round {}'s centroids, which need a partial of each of the {} "
                     "workers",
                     round, plan.plan_id, last->objective, merged.next.split, merged.next.round,
                     workers)
               : fmt::format(
                     "merged round {} of plan {}: initial objective {:.6g}; round {}'s "
                     "centroids need a partial of each of the {} workers",
                     round, plan.plan_id, merged.next.prev_objective, merged.next.round, workers);
    return out;
  }
  // The k-means is final: the quantizer's rows (a small set) are read by seeking, from results
  // verified when the rounds began (read through again only if they changed since).
  IVF_RETURN_IF_ERROR(check_model_dir_output(model_dir, overwrite));
  const std::vector<uint64_t> stamps = read_result_stamps(plan_dir, plan.plan_id);
  IVF_ASSIGN_OR_RETURN(std::vector<SampleResult> indexes, read_indexes(plan_dir, plan, &stamps));
  IVF_RETURN_IF_ERROR(check_whole_plan(indexes, params));
  IVF_ASSIGN_OR_RETURN(SampleLayout layout, sample_layout(indexes));
  if (layout.fragment_ids != state.layout.fragment_ids ||
      layout.fragment_rows != state.layout.fragment_rows) {
    return Status::FailedPrecondition(fmt::format(
        "the sample results of plan {} changed since the rounds began; remove the round "
        "directories and advance again",
        plan_dir));
  }
  std::vector<float> pq_rows;
  if (params.index_type == IndexType::kIvfPq) {
    IVF_ASSIGN_OR_RETURN(pq_rows, read_canonical_rows(plan_dir, indexes, layout,
                                                      pq_training_rows(params, layout.rows())));
  }
  const int iterations = static_cast<int>(merged.result.iterations.size());
  const double objective = merged.result.objective;
  IVF_ASSIGN_OR_RETURN(TrainedModels models,
                       finish_rounds(indexes, params, std::move(merged.result), state.train_rows,
                                     std::move(pq_rows)));
  models.timings.total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  IVF_RETURN_IF_ERROR(write_model_dir(models, model_dir, overwrite));
  out.model_written = true;
  out.round = round;
  out.summary =
      state.work_stage() == RoundStage::kRefine
          ? fmt::format(
                "the hierarchical k-means of plan {} ended after {} rounds (sharded: the groups "
                "trained and refined by the workers holding their rows; {} refinement "
                "iterations, objective {:.6g}); wrote {}",
                plan.plan_id, round + 1, iterations - 1, objective, model_dir)
          : fmt::format(
                "the IVF k-means of plan {} converged after {} rounds ({} iterations, objective "
                "{:.6g}); wrote {}",
                plan.plan_id, round + 1, iterations, objective, model_dir);
  return out;
}

}  // namespace ivftrain
