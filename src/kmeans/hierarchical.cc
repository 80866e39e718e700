// Hierarchical k-means for large k (thousands of centroids):
//
// 1. coarse k-means into g = round(sqrt(k)) groups, trained on at most 256 g sampled rows, then
//    every row assigned to its group, and groups balanced to at most kHierCoarseBalance times the
//    mean size;
// 2. inside each group, a flat k-means with a share of k proportional to the group's size
//    (share_centroids); groups run in parallel, each single-threaded with its own derived seed,
//    so the result does not depend on which thread runs which group;
// 3. kHierRefineIters Lloyd iterations over all k centroids in which each row is compared with the
//    centroids of its group's kNeighbourGroups nearest groups only (its own included), which
//    costs about kNeighbourGroups / g of a full assignment and fixes the rows the grouping cut
//    off from their best centroid.
//
// Work: a flat iteration compares n rows with k centroids; here each group iteration compares
// n rows with about sqrt(k) centroids, and each refinement iteration with about
// kNeighbourGroups sqrt(k). For k = 16384 that is 128 times less per group iteration.
//
// Iterations reported: the first entry is the objective after step 2 (with the refined
// assignment), then one per refinement iteration. Steps 1 and 2 each run up to max_iters
// iterations with the caller's tolerance.
//
// Sharded (docs/sharded.md, "Hierarchical k-means"): step 1 is flat_kmeans over the shards'
// rows in the coarse sample, the assignment and capping of each shard's rows (the capping's
// sequential decisions taken on every shard from the gathered rows of over-full groups); then
// every row moves to the shard that owns its group, which trains its groups as above (same rows
// in the same order, same seeds), the groups' centroids are gathered, and step 3 runs sharded,
// each shard assigning the rows it now holds. Checkpoints (the runner's --checkpoint) save the
// state once the groups are trained and after every refinement iteration, in flat k-means'
// KMeansState: a resumed run redoes step 1 (cheap, and it places the rows), skips step 2 and
// continues step 3.
//
// Through files (pipeline/hier_rounds.cc), the same steps run as rounds of the plan directory,
// from the pieces hierarchical.h exposes (coarse sample and k-means, plan_groups, train_groups,
// NeighbourGroupAssigner, and the capping's records, kmeans/cap_sizes.h).
#include "kmeans/hierarchical.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>

#include "kmeans/assigner.h"
#include "kmeans/cap_sizes.h"
#include "kmeans/lloyd.h"
#include "kmeans/shard.h"
#include "kmeans/update.h"
#include "linalg/assign.h"
#include "linalg/candidates.h"
#include "linalg/distances.h"
#include "util/log.h"
#include "util/rng.h"
#include "util/sampling.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

constexpr int64_t kNeighbourGroups = 8;
constexpr int64_t kCoarseSampleRate = 256;

}  // namespace

std::vector<int64_t> share_centroids(const std::vector<int64_t>& sizes, int64_t k) {
  const auto g = static_cast<int64_t>(sizes.size());
  const int64_t n = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
  std::vector<int64_t> share(static_cast<size_t>(g), 0);
  std::vector<int64_t> remainder(static_cast<size_t>(g), 0);
  int64_t given = 0;
  for (int64_t i = 0; i < g; ++i) {
    const __uint128_t q = static_cast<__uint128_t>(k) * static_cast<uint64_t>(sizes[i]);
    share[i] = static_cast<int64_t>(q / static_cast<uint64_t>(n));
    remainder[i] = static_cast<int64_t>(q % static_cast<uint64_t>(n));
    given += share[i];
  }
  std::vector<int64_t> order(static_cast<size_t>(g));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return remainder[a] > remainder[b]; });
  for (int64_t i = 0; given < k; ++i, ++given) ++share[order[i]];
  // Exact share minus the integer one: positive means the group got less than its due.
  auto deficit = [&](int64_t i) {
    return static_cast<double>(k) * static_cast<double>(sizes[i]) / static_cast<double>(n) -
           static_cast<double>(share[i]);
  };
  for (int64_t i = 0; i < g; ++i) {
    if (sizes[i] > 0 && share[i] == 0) {
      share[i] = 1;
      ++given;
    }
    if (share[i] > sizes[i]) {
      given -= share[i] - sizes[i];
      share[i] = sizes[i];
    }
  }
  while (given > k) {  // take from the group most above its due that can spare one
    int64_t best = -1;
    for (int64_t i = 0; i < g; ++i) {
      if (share[i] > 1 && (best < 0 || deficit(i) < deficit(best))) best = i;
    }
    if (best < 0) break;  // more non-empty groups than k: outside the contract
    --share[best];
    --given;
  }
  while (given < k) {  // give to the group most below its due that has room
    int64_t best = -1;
    for (int64_t i = 0; i < g; ++i) {
      if (share[i] < sizes[i] && (best < 0 || deficit(i) > deficit(best))) best = i;
    }
    if (best < 0) break;  // fewer rows than k: outside the contract
    ++share[best];
    ++given;
  }
  return share;
}

int64_t hierarchical_group_count(int64_t k) {
  return std::min<int64_t>(k, std::llround(std::sqrt(static_cast<double>(k))));
}

std::vector<int64_t> coarse_sample_rows(int64_t total, int64_t g, const KMeansParams& params) {
  const int64_t rows = std::min(total, kCoarseSampleRate * g);
  if (rows == total) return {};
  Rng rng(derive_seed(params.seed, kSeedCoarseSample, 0));
  return choose_sorted(rng, total, rows);
}

std::vector<float> train_coarse(int64_t m, int64_t d, const float* x, int64_t g,
                                const KMeansParams& params, const KMeansLog& log_as,
                                KMeansShard* shard) {
  KMeansParams cp = params;
  cp.algorithm = KMeansAlgorithm::kFlat;
  cp.balance = 0;
  cp.seed = derive_seed(params.seed, kSeedCoarse, 0);
  KMeansLog coarse_log;
  coarse_log.label = log_as.label + "/coarse";
  coarse_log.warn_few_rows = false;
  return std::move(flat_kmeans(m, d, x, g, cp, coarse_log, shard).result.centroids);
}

HierGroups plan_groups(std::vector<float> coarse, std::vector<int64_t> sizes, int64_t k, int shards,
                       int me, int threads) {
  HierGroups groups;
  const auto g = static_cast<int64_t>(sizes.size());
  groups.g = g;
  groups.centroids = std::move(coarse);
  groups.sizes = std::move(sizes);
  const std::vector<int64_t> share = share_centroids(groups.sizes, k);
  groups.first.assign(static_cast<size_t>(g + 1), 0);
  for (int64_t i = 0; i < g; ++i) groups.first[i + 1] = groups.first[i] + share[i];
  IVF_DCHECK(groups.first[g] == k, "the groups' shares must add up to k");
  groups.order.resize(static_cast<size_t>(g));
  std::iota(groups.order.begin(), groups.order.end(), 0);
  std::stable_sort(groups.order.begin(), groups.order.end(),
                   [&](int64_t a, int64_t b) { return groups.sizes[a] > groups.sizes[b]; });
  // Dealt largest first, each to the shard with the fewest rows so far (ties: the lower index).
  std::vector<int64_t> load(static_cast<size_t>(shards), 0);
  groups.owner.assign(static_cast<size_t>(g), 0);
  for (int64_t gi : groups.order) {
    const int to = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    groups.owner[gi] = to;
    load[to] += groups.sizes[gi];
    if (to == me) groups.jobs.push_back(gi);
  }
  groups.threads = clamp_threads(threads, g);
  return groups;
}

namespace {

// The coarse k-means' shard: the rows of `parent` sampled for it. Its rows' indices are their
// places in the sample (`chosen`, global indices of the parent, increasing); fetching a row
// fetches the parent's row from the parent's rows `parent_x`.
class SubsetShard final : public KMeansShard {
 public:
  SubsetShard(KMeansShard& parent, const float* parent_x, std::vector<int64_t> chosen,
              std::vector<int64_t> positions)
      : parent_(parent), parent_x_(parent_x), chosen_(std::move(chosen)),
        positions_(std::move(positions)) {}
  int64_t total_rows() const override { return static_cast<int64_t>(chosen_.size()); }
  const int64_t* global_rows() const override { return positions_.data(); }
  float max_over_shards(float local) override { return parent_.max_over_shards(local); }
  void combine(ClusterSums& sums) override { parent_.combine(sums); }
  void combine(ExactSum& objective) override { parent_.combine(objective); }
  void combine_counts(std::vector<int64_t>& counts) override { parent_.combine_counts(counts); }
  std::vector<int64_t> gather_rows(const std::vector<int64_t>& mine) override {
    return parent_.gather_rows(mine);
  }
  void fetch_rows(const std::vector<int64_t>& rows, int64_t d, const float*, float* out) override {
    std::vector<int64_t> parent_rows(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) parent_rows[i] = chosen_[rows[i]];
    parent_.fetch_rows(parent_rows, d, parent_x_, out);
  }
  int shard_count() const override { return parent_.shard_count(); }
  int shard_index() const override { return parent_.shard_index(); }
  std::vector<std::vector<int64_t>> all_gather(const std::vector<int64_t>& mine) override {
    return parent_.all_gather(mine);
  }
  void exchange_rows(int64_t d, int64_t m, const std::vector<int64_t>& counts, const float* rows,
                     const int64_t* meta, std::vector<float>* rows_in,
                     std::vector<int64_t>* meta_in) override {
    parent_.exchange_rows(d, m, counts, rows, meta, rows_in, meta_in);
  }

 private:
  KMeansShard& parent_;
  const float* parent_x_;
  std::vector<int64_t> chosen_, positions_;
};

// The coarse centroids, trained on at most kCoarseSampleRate g rows chosen by global index
// (sharded: each shard its rows among them).
std::vector<float> coarse_centroids(int64_t n, int64_t d, const float* x, int64_t g,
                                    const KMeansParams& params, const KMeansLog& log_as,
                                    KMeansShard* shard) {
  const int64_t total = shard ? shard->total_rows() : n;
  std::vector<int64_t> chosen = coarse_sample_rows(total, g, params);
  if (chosen.empty()) return train_coarse(n, d, x, g, params, log_as, shard);
  const auto rows = static_cast<int64_t>(chosen.size());
  std::vector<int64_t> picked, positions;  // local rows in the sample, and their places in it
  if (!shard) {
    picked = chosen;
  } else {
    const int64_t* global = shard->global_rows();
    for (int64_t i = 0, at = 0; i < n; ++i) {
      while (at < rows && chosen[at] < global[i]) ++at;
      if (at < rows && chosen[at] == global[i]) picked.push_back(i), positions.push_back(at);
    }
  }
  const auto m = static_cast<int64_t>(picked.size());
  std::vector<float> sample(static_cast<size_t>(m * d));
  gather_rows(d, x, picked.data(), m, sample.data());
  if (!shard) return train_coarse(m, d, sample.data(), g, params, log_as);
  SubsetShard subset(*shard, x, std::move(chosen), std::move(positions));
  return train_coarse(m, d, sample.data(), g, params, log_as, &subset);
}

HierGroups coarse_groups(int64_t n, int64_t d, const float* x, int64_t k, int64_t g,
                         const KMeansParams& params, const KMeansLog& log_as, int threads,
                         KMeansShard* shard, std::vector<int32_t>* group) {
  std::vector<float> centroids = coarse_centroids(n, d, x, g, params, log_as, shard);
  group->resize(static_cast<size_t>(n));
  assign_nearest(n, d, x, nullptr, g, centroids.data(), params.metric,
                 AssignOutput{group->data(), nullptr}, threads);
  // Work in a group grows with its size squared (rows times its share of k), so one large
  // group would dominate: cap the group sizes. Rows moved to a neighbouring group find their
  // best centroid again in the refinement, which looks into neighbouring groups.
  const CapStats cap =
      shard ? cap_cluster_sizes_sharded(n, d, x, g, kHierCoarseBalance, params.metric, threads,
                                        centroids.data(), group->data(), *shard)
            : cap_cluster_sizes(n, d, x, g, kHierCoarseBalance, params.metric, threads,
                                centroids.data(), group->data());
  if (cap.rows_moved > 0) {
    logger().log(log_as.verbose ? spdlog::level::info : spdlog::level::debug,
                 "{}: groups capped at {} rows: {} rows moved{}", log_as.label, cap.capacity,
                 cap.rows_moved,
                 shard ? fmt::format(" ({} rows of over-full groups gathered in {} rounds)",
                                     cap.rows_gathered, cap.gather_rounds)
                       : "");
  }
  std::vector<int64_t> sizes(static_cast<size_t>(g), 0);
  for (int32_t l : *group) ++sizes[l];
  if (shard) shard->combine_counts(sizes);
  return plan_groups(std::move(centroids), std::move(sizes), k, shard ? shard->shard_count() : 1,
                     shard ? shard->shard_index() : 0, threads);
}

// Sharded: every row moves to the shard that owns its group (one exchange, each sender's rows in
// global order), and the rows received are put in global order, so that each group's rows are
// those, in the order, local training gives it.
HeldRows move_rows(int64_t n, int64_t d, const float* x, const std::vector<int32_t>& group,
                   const HierGroups& groups, KMeansShard& shard,
                   const std::function<void()>& release_x) {
  const int shards = shard.shard_count();
  const int64_t* global = shard.global_rows();
  std::vector<int64_t> counts(static_cast<size_t>(shards), 0), at(static_cast<size_t>(shards), 0);
  for (int64_t i = 0; i < n; ++i) ++counts[groups.owner[group[i]]];
  for (int s = 1; s < shards; ++s) at[s] = at[s - 1] + counts[s - 1];
  std::vector<float> rows_in;
  std::vector<int64_t> meta_in;
  {
    std::vector<float> out(static_cast<size_t>(n * d));
    std::vector<int64_t> meta(static_cast<size_t>(2 * n));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t o = at[groups.owner[group[i]]]++;
      std::copy_n(x + i * d, d, out.data() + o * d);
      meta[2 * o] = global[i];
      meta[2 * o + 1] = group[i];
    }
    if (release_x)
      release_x();  // x is read no more: its rows, their copy and the rows received
                    // are never held together
    shard.exchange_rows(d, 2, counts, out.data(), meta.data(), &rows_in, &meta_in);
  }
  HeldRows held;
  held.n = static_cast<int64_t>(meta_in.size() / 2);
  std::vector<int64_t> perm(static_cast<size_t>(held.n));
  std::iota(perm.begin(), perm.end(), 0);
  std::sort(perm.begin(), perm.end(),
            [&](int64_t a, int64_t b) { return meta_in[2 * a] < meta_in[2 * b]; });
  held.storage.resize(static_cast<size_t>(held.n * d));
  held.global.resize(static_cast<size_t>(held.n));
  std::vector<int32_t> labels(static_cast<size_t>(held.n));
  for (int64_t j = 0; j < held.n; ++j) {
    const int64_t p = perm[j];
    std::copy_n(rows_in.data() + p * d, d, held.storage.data() + j * d);
    held.global[j] = meta_in[2 * p];
    labels[j] = static_cast<int32_t>(meta_in[2 * p + 1]);
  }
  std::vector<float>().swap(rows_in);
  held.x = held.storage.data();
  group_by_label(held.n, groups.g, labels.data(), &held.members);
  return held;
}

// Floats as int64 words (two a word, the last padded) for a shard collective.
std::vector<int64_t> to_words(const std::vector<float>& v) {
  std::vector<int64_t> words((v.size() + 1) / 2, 0);
  if (!v.empty()) std::memcpy(words.data(), v.data(), v.size() * sizeof(float));
  return words;
}

// Sharded: the centroids of every group, from the shard that trained it, on every shard.
void share_fine_centroids(int64_t d, const HierGroups& groups, KMeansShard& shard,
                          float* centroids) {
  auto owned_by = [&](int s) {
    std::vector<int64_t> list;
    for (int64_t gi = 0; gi < groups.g; ++gi) {
      if (groups.owner[gi] == s) list.push_back(gi);
    }
    return list;
  };
  std::vector<float> mine;
  for (int64_t gi : owned_by(shard.shard_index())) {
    mine.insert(mine.end(), centroids + groups.first[gi] * d, centroids + groups.first[gi + 1] * d);
  }
  const std::vector<std::vector<int64_t>> all = shard.all_gather(to_words(mine));
  for (int s = 0; s < shard.shard_count(); ++s) {
    size_t at = 0;  // bytes read from shard s's words
    for (int64_t gi : owned_by(s)) {
      const size_t bytes = static_cast<size_t>(groups.share(gi) * d) * sizeof(float);
      if (bytes == 0) continue;  // an empty group (its shard may have sent nothing at all)
      std::memcpy(centroids + groups.first[gi] * d,
                  reinterpret_cast<const char*>(all[s].data()) + at, bytes);
      at += bytes;
    }
  }
}

}  // namespace

void train_groups(int64_t d, const HeldRows& held, const HierGroups& groups,
                  const KMeansParams& params, const KMeansLog& log_as, float* centroids,
                  int32_t* labels) {
  KMeansParams gp = params;
  gp.algorithm = KMeansAlgorithm::kFlat;
  gp.balance = 0;
  gp.num_threads = 1;
  KMeansLog group_log;
  group_log.warn_few_rows = false;
  // One job per group, largest first; each job is the same whatever thread runs it.
  parallel_blocks(
      static_cast<int64_t>(groups.jobs.size()), 1, groups.threads, Work{},
      [] { return std::vector<float>(); },
      [&](std::vector<float>& rows_x, int64_t o, int64_t, int64_t) {
        const int64_t gi = groups.jobs[o];
        if (groups.share(gi) == 0) return;
        const int64_t size = groups.sizes[gi];
        const int64_t* rows = held.rows(gi);
        rows_x.resize(static_cast<size_t>(size * d));
        gather_rows(d, held.x, rows, size, rows_x.data());
        KMeansParams p = gp;
        p.seed = derive_seed(params.seed, kSeedGroup, static_cast<uint64_t>(gi));
        KMeansLog l = group_log;
        l.label = fmt::format("{}/group[{}]", log_as.label, gi);
        const KMeansRun r = flat_kmeans(size, d, rows_x.data(), groups.share(gi), p, l);
        std::copy(r.result.centroids.begin(), r.result.centroids.end(),
                  centroids + groups.first[gi] * d);
        for (int64_t j = 0; j < size; ++j) {
          labels[rows[j]] = static_cast<int32_t>(groups.first[gi] + r.labels[j]);
        }
      });
}

NeighbourGroupAssigner::NeighbourGroupAssigner(int64_t d, const HeldRows& held,
                                               const HierGroups& groups, Metric metric, int threads,
                                               int64_t total_rows, KMeansShard* shard)
    : d_(d), held_(held), groups_(groups), metric_(metric), total_rows_(total_rows), shard_(shard),
      neighbours_(static_cast<size_t>(groups.g)), sums_(static_cast<size_t>(groups.g)) {
  const int64_t g = groups.g, p = std::min(kNeighbourGroups, g);
  std::vector<int64_t> all_groups(static_cast<size_t>(g));
  std::iota(all_groups.begin(), all_groups.end(), 0);
  std::vector<int32_t> near(static_cast<size_t>(g * p));
  std::vector<float> near_dist(static_cast<size_t>(g * p));
  nearest_candidates(d, groups.centroids.data(), g, all_groups.data(), g, groups.centroids.data(),
                     metric, p, near.data(), near_dist.data(), threads);
  for (int64_t i = 0; i < g; ++i) {
    std::vector<int32_t> nb(near.begin() + i * p, near.begin() + (i + 1) * p);
    if (std::find(nb.begin(), nb.end(), static_cast<int32_t>(i)) == nb.end()) {
      nb.back() = static_cast<int32_t>(i);
    }
    std::sort(nb.begin(), nb.end());
    neighbours_[i] = std::move(nb);
  }
}

double NeighbourGroupAssigner::assign(const float* centroids, int32_t* labels) {
  const HierGroups& gr = groups_;
  const int64_t d = d_;
  struct Scratch {
    std::vector<float> rows_x, cand;
    std::vector<int32_t> cand_ids, local;
  };
  std::fill(sums_.begin(), sums_.end(), 0.0);
  // One job per group, largest first. The objective is added in group order below, not in
  // job order, as it always was.
  parallel_blocks(
      static_cast<int64_t>(gr.jobs.size()), 1, gr.threads, Work{}, [] { return Scratch{}; },
      [&](Scratch& sc, int64_t o, int64_t, int64_t) {
        auto& [rows_x, cand, cand_ids, local] = sc;
        const int64_t gi = gr.jobs[o];
        const int64_t size = gr.sizes[gi];
        if (size == 0) return;
        const int64_t* rows = held_.rows(gi);
        rows_x.resize(static_cast<size_t>(size * d));
        gather_rows(d, held_.x, rows, size, rows_x.data());
        cand.clear();
        cand_ids.clear();
        for (int32_t h : neighbours_[gi]) {
          cand.insert(cand.end(), centroids + gr.first[h] * d, centroids + gr.first[h + 1] * d);
          for (int64_t c = gr.first[h]; c < gr.first[h + 1]; ++c) {
            cand_ids.push_back(static_cast<int32_t>(c));
          }
        }
        local.resize(static_cast<size_t>(size));
        sums_[gi] =
            assign_nearest(size, d, rows_x.data(), nullptr, static_cast<int64_t>(cand_ids.size()),
                           cand.data(), metric_, AssignOutput{local.data(), nullptr}, 1);
        for (int64_t j = 0; j < size; ++j) labels[rows[j]] = cand_ids[local[j]];
      });
  if (shard_) {
    // Each group's sum comes from its owner, +0.0 (all bits zero) from the others: summing
    // the bit patterns as integers gives every shard the owner's double, bit for bit.
    std::vector<int64_t> bits(sums_.size());
    std::memcpy(bits.data(), sums_.data(), bits.size() * sizeof(int64_t));
    shard_->combine_counts(bits);
    std::memcpy(sums_.data(), bits.data(), bits.size() * sizeof(int64_t));
  }
  double total = 0;
  for (double s : sums_) total += s;  // group order: independent of the threads and shards
  return total;
}

KMeansRun hierarchical_kmeans(int64_t n, int64_t d, const float* x, int64_t k,
                              const KMeansParams& params, const KMeansLog& log_as,
                              KMeansShard* shard, const std::function<void()>& release_x,
                              const KMeansCheckpoints* checkpoints) {
  const int64_t g = hierarchical_group_count(k);
  const int64_t total = shard ? shard->total_rows() : n;
  if (g < 2 || total == k) return flat_kmeans(n, d, x, k, params, log_as, shard, checkpoints);
  const auto start = Clock::now();
  const int threads = resolve_threads(params.num_threads);
  const auto level = log_as.verbose ? spdlog::level::info : spdlog::level::debug;

  std::vector<int32_t> group;
  const HierGroups groups = coarse_groups(n, d, x, k, g, params, log_as, threads, shard, &group);
  logger().log(level, "{}: hierarchical k-means: {} groups of {} to {} rows ({:.3f} s)",
               log_as.label, g, *std::min_element(groups.sizes.begin(), groups.sizes.end()),
               *std::max_element(groups.sizes.begin(), groups.sizes.end()), seconds_since(start));
  HeldRows held;
  if (shard) {
    held = move_rows(n, d, x, group, groups, *shard, release_x);
    x = nullptr;  // released
    logger().log(level, "{}: {} groups of {} rows trained on shard {} of {}", log_as.label,
                 groups.jobs.size(), held.n, shard->shard_index(), shard->shard_count());
  } else {
    held.n = n;
    held.x = x;
    group_by_label(n, g, group.data(), &held.members);
  }
  std::vector<int32_t>().swap(group);

  KMeansRun run;
  KMeansResult& result = run.result;
  result.k = k;
  result.d = d;
  result.centroids.resize(static_cast<size_t>(k * d));
  run.labels.resize(static_cast<size_t>(held.n));
  Rng rng(derive_seed(params.seed, kSeedRefine, 0));
  // A saved state (after the groups were trained, or after a refinement iteration) replaces the
  // groups' training: the rows' labels come from the assignment below.
  const KMeansState* resume = checkpoints ? checkpoints->resume : nullptr;
  if (resume) {
    IVF_DCHECK(resume->centroids.size() == result.centroids.size() && !resume->iterations.empty(),
               "a checkpoint of this run");
    restore_state(*resume, result.centroids.data(), rng, result.iterations);
    logger().log(level, "{}: resumed after the groups' training and {} refinement iterations",
                 log_as.label, resume->iterations.size() - 1);
  } else {
    train_groups(d, held, groups, params, log_as, result.centroids.data(), run.labels.data());
    if (shard) share_fine_centroids(d, groups, *shard, result.centroids.data());
  }

  // Step 3: refinement, the one Lloyd loop with the neighbouring groups' centroids only.
  NeighbourGroupAssigner assigner(d, held, groups, params.metric, threads, total, shard);
  const auto t_assign = Clock::now();
  double objective = assigner.assign(result.centroids.data(), run.labels.data());
  if (resume) {
    objective = resume->objective;  // the same value, as in flat_kmeans
  } else {
    logger().log(
        level, "{}: groups trained: objective {:.6g} ({:.3f} s)", log_as.label, objective,
        result.iterations.emplace_back(iteration_record(objective, start, t_assign, 0)).seconds);
    if (checkpoints && checkpoints->save) {
      checkpoints->save(checkpoint_state(result.centroids.data(), k, d, rng, objective,
                                         result.iterations, false));
    }
  }
  LloydLoop loop;
  // The first record is the groups' one; the others are refinement iterations.
  loop.max_iters = resume && resume->finished
                       ? 0
                       : kHierRefineIters - static_cast<int>(result.iterations.size() - 1);
  loop.tolerance = params.tolerance;
  loop.num_threads = threads;
  loop.step = "refinement";
  const float max_abs = max_abs_value(held.n, d, held.x);
  loop.grid = SumGrid::make(shard ? shard->max_over_shards(max_abs) : max_abs, total, d);
  if (shard) {
    loop.combine = [shard](ClusterSums& sums) { shard->combine(sums); };
    loop.combine_farthest = [shard](FarthestRows& far) { combine_farthest(*shard, far); };
    loop.global_rows = held.global.data();
  }
  save_after_iterations(checkpoints, k, d, result.iterations, loop);
  result.objective = loop.max_iters > 0 ? run_lloyd(held.n, d, held.x, k, loop, assigner, rng,
                                                    result.centroids.data(), run.labels.data(),
                                                    objective, &result.iterations, log_as)
                                        : objective;
  logger().log(level,
               "{}: hierarchical k-means of {} x {} rows into {} centroids: objective {:.6g}, "
               "{:.2f} s",
               log_as.label, total, d, k, result.objective, seconds_since(start));
  // Sharded, the labels are those of the rows moved here, not of x's: none are returned.
  if (shard) run.labels.clear();
  return run;
}

}  // namespace ivftrain
