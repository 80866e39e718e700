// k-means|| initialisation in rounds (RoundStage::kSeed): each worker's partial of an
// oversampling round, and their merge. The decisions are init_kmeans_parallel's (kmeans/init.h):
// the same first row, the same per-row distances (KMeansParallelRows, the same batches of
// candidates), the same exact phi, the same draw (kmeans_parallel_drawn), the same weights and
// the same reduction (reduce_kmeans_parallel) from the same generator state.
#include "pipeline/seed_rounds.h"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>

#include "ivftrain/rounds.h"
#include "kmeans/exact_sum.h"
#include "kmeans/init.h"
#include "kmeans/update.h"
#include "pipeline/hier_rounds.h"
#include "train/train_on_sample.h"
#include "util/rng.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

// A worker's share of phi is at most phi, but both are sums rounded to double (ExactSum::value,
// within a few ulps of the exact sums): lowered by far more than those ulps, the share stays
// below phi, so the rows a worker draws with it are a superset of those phi draws.
constexpr double kShareMargin = 1e-9;

// The oversampling round a kSeed state is at (its batch to measure).
int seed_round(const RoundState& st) { return static_cast<int>(st.seed_ends.size()) - 1; }

int64_t batch_begin(const RoundState& st, int j) { return j > 0 ? st.seed_ends[j - 1] : 0; }

}  // namespace

uint64_t seed_candidates_hash(const RoundState& st, int64_t count) {
  XXH3_state_t* s = XXH3_createState();
  XXH3_64bits_reset(s);
  XXH3_64bits_update(s, st.candidate_rows.data(), static_cast<size_t>(count) * sizeof(int64_t));
  XXH3_64bits_update(s, st.centroids.data(), static_cast<size_t>(count * st.dim) * sizeof(float));
  const uint64_t h = XXH3_64bits_digest(s);
  XXH3_freeState(s);
  return h;
}

Result<RoundPartial> compute_seed_partial(const SampleResult& shard, const RoundState& st,
                                          const TrainParams& p, const WorkerSeed* seed_in,
                                          WorkerSeed* seed_out) {
  if (st.stage != RoundStage::kSeed || st.seed_ends.empty()) {
    return Status::InvalidArgument(
        fmt::format("round {} of plan {} is not a k-means|| round", st.round, st.plan_id));
  }
  IVF_ASSIGN_OR_RETURN(ShardIvfRows mine, shard_ivf_rows(shard, st, p));
  const int64_t d = st.dim, n = static_cast<int64_t>(mine.rows.size());
  RoundPartial out = shard_partial_header(shard, mine, st);
  // Round 0 is also the flat rounds' scan: the grid of the exact sums.
  if (st.grid_step == 0) out.max_abs = max_abs_value(n, d, mine.x.data());
  const KMeansParams kp = ivf_kmeans_params(p);
  KMeansParallelRows rows(n, d, mine.x.data(), mine.ivf.data(), resolve_threads(kp.num_threads));
  const int o = seed_round(st);
  // The batches before this round's come from the worker's own state when it is of these
  // candidates; otherwise they are measured again, batch by batch as they were (the assignment
  // kernel depends on the number of candidates measured together).
  int from = 0;
  const int64_t before = batch_begin(st, o);
  if (seed_in && o > 0 && seed_in->measured == before &&
      seed_in->nearest.size() == static_cast<size_t>(n) &&
      seed_in->label.size() == static_cast<size_t>(n) &&
      seed_in->candidates_hash == seed_candidates_hash(st, before)) {
    rows.nearest = seed_in->nearest;
    rows.label = seed_in->label;
    from = o;
  }
  for (int j = from; j <= o; ++j) {
    const int64_t begin = batch_begin(st, j), end = st.seed_ends[j];
    rows.mark_own(
        std::vector<int64_t>(st.candidate_rows.begin() + begin, st.candidate_rows.begin() + end),
        begin);
    rows.measure(begin, end - begin, st.centroids.data() + begin * d);
  }
  const ExactSum share = rows.phi();
  out.objective = share.value();
  out.objective_bins.assign(share.bins.begin(), share.bins.end());
  if (o < kKMeansParallelRounds && out.objective > 0) {
    const double lowered = out.objective * (1 - kShareMargin);
    for (int64_t i : rows.drawn(kmeans_parallel_round_seed(kp.seed, o), st.k, lowered)) {
      out.drawn_rows.push_back(mine.ivf[static_cast<size_t>(i)]);
      out.drawn_dist.push_back(rows.nearest[static_cast<size_t>(i)]);
    }
  } else {
    // The last oversampling round, or every row of this worker on a candidate (if all the
    // workers' are, phi is 0 and the rounds end here): the weights.
    out.counts = rows.counts(static_cast<int64_t>(st.candidate_rows.size()));
  }
  if (seed_out) {
    seed_out->measured = st.seed_ends[o];
    seed_out->candidates_hash = seed_candidates_hash(st, seed_out->measured);
    seed_out->nearest = std::move(rows.nearest);
    seed_out->label = std::move(rows.label);
  }
  return out;
}

Result<RoundMerge> merge_seed_round(const RoundState& st, const std::vector<RoundPartial>& partials,
                                    const TrainParams& p, const IvfRowsFetch& fetch) {
  IVF_ASSIGN_OR_RETURN(ExactSum phi_sum, merged_objective(st, partials));
  const KMeansParams kp = ivf_kmeans_params(p);
  const int64_t d = st.dim, k = st.k, m = static_cast<int64_t>(st.candidate_rows.size());
  const int o = seed_round(st);
  const auto rerun = [&](size_t w, const char* what) {
    return Status::FailedPrecondition(fmt::format(
        "the partial of worker {} holds {} of k-means|| round {} of plan {}; rerun `ivftrain "
        "round` for worker {}",
        w, what, st.round, st.plan_id, w));
  };
  const auto read_rows = [&](const std::vector<int64_t>& ivf) -> Result<std::vector<float>> {
    if (!fetch) {
      return Status::InvalidArgument(
          "the merge of a k-means|| round reads the rows it draws from the sample results; "
          "none were given");
    }
    IVF_ASSIGN_OR_RETURN(std::vector<float> vectors, fetch(ivf));
    if (vectors.size() != ivf.size() * static_cast<size_t>(st.dim)) {
      return Status::Internal(fmt::format("{} values read for {} rows of {} dimensions",
                                          vectors.size(), ivf.size(), st.dim));
    }
    return vectors;
  };
  RoundMerge merged;
  RoundState& next = merged.next;
  next = st;
  next.round = st.round + 1;
  if (st.grid_step == 0) {
    // The scan, as flat_kmeans makes the grid over its x.
    double max_abs = 0;
    for (const RoundPartial& part : partials) max_abs = std::max(max_abs, part.max_abs);
    next.grid_step = SumGrid::make(max_abs, st.train_rows, st.dim).step;
  }
  const double phi = phi_sum.value();
  if (o < kKMeansParallelRounds && phi > 0) {
    // The draw with the true phi, from the supersets the workers drew with their shares.
    const uint64_t round_seed = kmeans_parallel_round_seed(kp.seed, o);
    std::vector<int64_t> drawn;
    for (size_t w = 0; w < partials.size(); ++w) {
      const RoundPartial& part = partials[w];
      if (part.drawn_rows.size() != part.drawn_dist.size()) return rerun(w, "a malformed draw");
      for (size_t i = 0; i < part.drawn_rows.size(); ++i) {
        const int64_t row = part.drawn_rows[i];
        if (row < 0 || row >= st.train_rows) return rerun(w, "a row out of range in the draw");
        if (kmeans_parallel_drawn(round_seed, row, part.drawn_dist[i], k, phi)) {
          drawn.push_back(row);
        }
      }
    }
    // Workers hold disjoint rows, each list increasing: the union in increasing order.
    std::sort(drawn.begin(), drawn.end());
    if (std::adjacent_find(drawn.begin(), drawn.end()) != drawn.end()) {
      return Status::FailedPrecondition(fmt::format(
          "two partials of k-means|| round {} of plan {} draw the same row; rerun `ivftrain "
          "round` for every worker",
          st.round, st.plan_id));
    }
    IVF_ASSIGN_OR_RETURN(std::vector<float> vectors, read_rows(drawn));
    next.candidate_rows.insert(next.candidate_rows.end(), drawn.begin(), drawn.end());
    next.centroids.insert(next.centroids.end(), vectors.begin(), vectors.end());
    next.seed_ends.push_back(static_cast<int64_t>(next.candidate_rows.size()));
    return merged;
  }
  // The candidates are final: their weights, then the k initial centroids.
  KMeansParallelCandidates c;
  c.rows = st.candidate_rows;
  c.vectors = st.centroids;
  c.weights.assign(static_cast<size_t>(m), 0);
  for (size_t w = 0; w < partials.size(); ++w) {
    const RoundPartial& part = partials[w];
    if (part.counts.size() != static_cast<size_t>(m)) return rerun(w, "no weights");
    for (int64_t j = 0; j < m; ++j) c.weights[j] += part.counts[j];
  }
  Rng rng = Rng::from_state(st.rng_state);
  std::vector<float> centroids(static_cast<size_t>(k * d));
  const std::vector<int64_t> uniform = reduce_kmeans_parallel(
      c, d, k, st.train_rows, rng, centroids.data(), resolve_threads(kp.num_threads));
  if (!uniform.empty()) {
    IVF_ASSIGN_OR_RETURN(std::vector<float> vectors, read_rows(uniform));
    std::copy(vectors.begin(), vectors.end(), centroids.begin() + m * d);
  }
  next.stage = RoundStage::kFlat;
  next.centroids = std::move(centroids);
  next.rng_state = rng.state();
  next.candidate_rows.clear();
  next.seed_ends.clear();
  next.init_rounds = st.round;  // the next round (st.round + 1) assigns the initial centroids
  return merged;
}

}  // namespace ivftrain
