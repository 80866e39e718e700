// rebalance_centroids: rounds of cutting oversized clusters, each piece taking the centroid slot
// of a cluster that costs little to give up, with an exact but incremental reassignment after
// each round. See rebalance.h.
#include "kmeans/rebalance.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>
#include <vector>

#include "kmeans/cap_sizes.h"
#include "kmeans/lloyd.h"
#include "kmeans/update.h"
#include "linalg/assign.h"
#include "linalg/candidates.h"
#include "linalg/distances.h"
#include "util/cancel.h"
#include "util/rng.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

// Lloyd iterations of the small k-means that cuts a cluster.
constexpr int kCutIters = 10;
// Rounds without progress before giving up.
constexpr int kPatience = 4;
// Candidate donors examined per donor wanted (at least kMinDonorPool).
constexpr int64_t kDonorPool = 4;
constexpr int64_t kMinDonorPool = 32;

// What a cluster does in the current round.
enum Role : uint8_t { kFree = 0, kCut = 1, kDonor = 2 };

// A cluster to cut, and the centroid slots its pieces other than the first take.
struct Cut {
  int64_t cluster;
  std::vector<int64_t> slots;
};

bool rows_identical(int64_t d, const float* x, const int64_t* rows, int64_t count) {
  for (int64_t r = 1; r < count; ++r) {
    if (std::memcmp(x + rows[r] * d, x + rows[0] * d, sizeof(float) * d) != 0) return false;
  }
  return true;
}

class Balancer {
 public:
  Balancer(int64_t n, int64_t d, const float* x, int64_t k, double balance, uint64_t seed,
           int num_threads, float* centroids, int32_t* labels)
      : n_(n), d_(d), k_(k), x_(x), seed_(seed), threads_(resolve_threads(num_threads)),
        centroids_(centroids), labels_(labels),
        mean_(static_cast<double>(n) / static_cast<double>(k)), sizes_(static_cast<size_t>(k)),
        role_(static_cast<size_t>(k)) {
    stats_.capacity = balance_capacity(n, k, balance);
  }

  RebalanceStats run() {
    norms_.resize(static_cast<size_t>(n_));
    row_norms_sqr(n_, d_, x_, norms_.data());
    dist_.resize(static_cast<size_t>(n_));
    assign_nearest(n_, d_, x_, norms_.data(), k_, centroids_, Metric::kL2,
                   AssignOutput{labels_, dist_.data()}, threads_);
    stats_.objective_before =
        labelled_objective(n_, d_, x_, centroids_, labels_, Metric::kL2, threads_);
    stats_.largest_before = stats_.largest_after = count_sizes();
    // The best state seen (least left to do) is what is returned: rounds that stall may have
    // passed the excess around and left things worse.
    int64_t best = todo();
    std::vector<float> best_centroids;
    std::vector<int32_t> best_labels;
    int stalled = 0;
    for (int round = 0; round < kMaxRebalanceRounds && best > 0 && stalled < kPatience; ++round) {
      if (cancel_requested()) break;  // the caller returns cancelled_status()
      const std::vector<Cut> cuts = plan();
      if (cuts.empty()) break;
      if (stalled == 0) {
        best_centroids.assign(centroids_, centroids_ + k_ * d_);
        best_labels.assign(labels_, labels_ + n_);
      }
      cut(cuts, round);
      reassign(cuts);
      ++stats_.rounds;
      count_sizes();
      const int64_t t = todo();
      stalled = t < best ? 0 : stalled + 1;
      best = std::min(best, t);
    }
    if (stalled > 0) {
      std::copy(best_centroids.begin(), best_centroids.end(), centroids_);
      std::copy(best_labels.begin(), best_labels.end(), labels_);
    }
    stats_.largest_after = count_sizes();
    stats_.objective = labelled_objective(n_, d_, x_, centroids_, labels_, Metric::kL2, threads_);
    return stats_;
  }

 private:
  int64_t count_sizes() {
    std::fill(sizes_.begin(), sizes_.end(), 0);
    for (int64_t i = 0; i < n_; ++i) ++sizes_[labels_[i]];
    return *std::max_element(sizes_.begin(), sizes_.end());
  }

  // What is left to do: the rows above the cap, summed over clusters, plus the empty clusters
  // (centroids no row is nearest to: wasted).
  int64_t todo() const {
    int64_t t = 0;
    for (int64_t c = 0; c < k_; ++c) {
      t += sizes_[c] == 0 ? 1 : std::max<int64_t>(0, sizes_[c] - stats_.capacity);
    }
    return t;
  }

  const int64_t* rows_of(int64_t c) const { return members_.rows.data() + members_.offsets[c]; }

  // False for a cluster whose rows are all identical: no centroid can split them. Asked
  // afresh each round, as the rows of a cluster change.
  bool cuttable(int64_t c) const { return !rows_identical(d_, x_, rows_of(c), sizes_[c]); }

  // This round's cuts: every oversized cluster into about size / mean pieces, as far as donors
  // allow, then one more cut of the largest clusters for each empty slot left.
  std::vector<Cut> plan() {
    group_by_label(n_, k_, labels_, &members_);
    std::fill(role_.begin(), role_.end(), kFree);
    std::vector<int64_t> order(static_cast<size_t>(k_));  // decreasing size, ties by index
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return sizes_[a] > sizes_[b]; });
    std::vector<int64_t> over, pieces;
    int64_t wanted = 0;
    for (int64_t c : order) {
      if (sizes_[c] <= stats_.capacity) break;
      if (!cuttable(c)) continue;
      over.push_back(c);
      pieces.push_back(std::max<int64_t>(
          2, static_cast<int64_t>(std::ceil(static_cast<double>(sizes_[c]) / mean_))));
      wanted += pieces.back() - 1;
      role_[c] = kCut;
    }
    const std::vector<int64_t> donors = choose_donors(order, wanted);
    std::vector<Cut> cuts;
    size_t next = 0;
    for (size_t j = 0; j < over.size() && next < donors.size(); ++j) {
      Cut cut{over[j], {}};
      while (static_cast<int64_t>(cut.slots.size()) < pieces[j] - 1 && next < donors.size()) {
        cut.slots.push_back(donors[next++]);
      }
      cuts.push_back(std::move(cut));
    }
    auto largest = order.begin();
    for (auto it = order.rbegin(); it != order.rend() && sizes_[*it] == 0; ++it) {
      if (role_[*it] != kFree) continue;
      while (largest != order.end() &&
             (role_[*largest] != kFree || sizes_[*largest] < 2 || !cuttable(*largest))) {
        ++largest;
      }
      if (largest == order.end()) break;
      role_[*largest] = kCut;
      role_[*it] = kDonor;
      cuts.push_back(Cut{*largest, {*it}});
    }
    return cuts;
  }

  // Up to `wanted` clusters to give their centroid slot away, the cheapest first: a donor's cost
  // is what its rows' distances grow by when they move to their next-nearest centroid. The
  // candidates are the smallest free clusters below the mean (kDonorPool x wanted of them at
  // most). A donor's rows may not go to another donor, and a cluster that receives rows does
  // not give; donors whose rows would push a receiving cluster above the cap come only after
  // all the others (rows going to a cluster being cut are shared among its pieces).
  std::vector<int64_t> choose_donors(const std::vector<int64_t>& order, int64_t wanted) {
    if (wanted == 0) return {};
    const auto limit = static_cast<size_t>(std::max(kDonorPool * wanted, kMinDonorPool));
    std::vector<int64_t> pool, rows, first{0};
    for (auto it = order.rbegin(); it != order.rend() && pool.size() < limit; ++it) {
      if (static_cast<double>(sizes_[*it]) >= mean_) break;
      if (role_[*it] != kFree) continue;
      pool.push_back(*it);
      rows.insert(rows.end(), rows_of(*it), rows_of(*it) + sizes_[*it]);
      first.push_back(static_cast<int64_t>(rows.size()));
    }
    const auto count = static_cast<int64_t>(rows.size());
    std::vector<int32_t> cand(static_cast<size_t>(count * 2));
    std::vector<float> cand_dist(static_cast<size_t>(count * 2));
    nearest_candidates(d_, x_, count, rows.data(), k_, centroids_, Metric::kL2, 2, cand.data(),
                       cand_dist.data(), threads_);
    std::vector<int32_t> alt(static_cast<size_t>(count));  // where each row would go
    std::vector<std::pair<double, size_t>> ranked;         // (cost, index into pool)
    for (size_t j = 0; j < pool.size(); ++j) {
      double cost = 0;
      for (int64_t r = first[j]; r < first[j + 1]; ++r) {
        const int slot = cand[r * 2] == pool[j] ? 1 : 0;
        alt[r] = cand[r * 2 + slot];
        cost += double(cand_dist[r * 2 + slot]) - cand_dist[r * 2];
      }
      ranked.emplace_back(cost, j);
    }
    std::stable_sort(ranked.begin(), ranked.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<int64_t> projected = sizes_, donors;
    std::vector<std::pair<int32_t, int64_t>> moves;  // (receiving cluster, rows)
    for (const bool strict : {true, false}) {
      for (const auto& [cost, j] : ranked) {
        if (static_cast<int64_t>(donors.size()) == wanted) break;
        const int64_t c = pool[j];
        if (role_[c] == kDonor || projected[c] != sizes_[c]) continue;
        moves.clear();
        bool ok = true;
        for (int64_t r = first[j]; r < first[j + 1] && ok; ++r) {
          ok = alt[r] >= 0 && role_[alt[r]] != kDonor;
          auto m = std::find_if(moves.begin(), moves.end(),
                                [&](const auto& mv) { return mv.first == alt[r]; });
          if (m == moves.end()) {
            moves.emplace_back(alt[r], 1);
          } else {
            ++m->second;
          }
        }
        for (const auto& [to, rows_in] : moves) {
          if (!ok || !strict) break;
          ok = role_[to] == kCut || projected[to] + rows_in <= stats_.capacity;
        }
        if (!ok) continue;
        for (const auto& [to, rows_in] : moves) projected[to] += rows_in;
        role_[c] = kDonor;
        donors.push_back(c);
      }
    }
    return donors;
  }

  // Each cut is a k-means over the cluster's rows: its first centroid stays in the cluster's
  // slot, the others go to the donated slots. Cuts run in parallel, each single-threaded with a
  // seed of its own.
  void cut(const std::vector<Cut>& cuts, int round) {
    const int threads =
        static_cast<int>(std::clamp<int64_t>(static_cast<int64_t>(cuts.size()), 1, threads_));
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
      std::vector<float> rows_x;
#pragma omp for schedule(dynamic, 1)
      for (size_t j = 0; j < cuts.size(); ++j) {
        const Cut& cut = cuts[j];
        const int64_t c = cut.cluster, size = sizes_[c];
        rows_x.resize(static_cast<size_t>(size * d_));
        gather_rows(d_, x_, rows_of(c), size, rows_x.data());
        KMeansParams p;
        p.max_iters = kCutIters;
        p.tolerance = 0;
        p.seed = derive_seed(
            seed_, kSeedBalanceCut,
            static_cast<uint64_t>(round) * static_cast<uint64_t>(k_) + static_cast<uint64_t>(c));
        p.num_threads = 1;
        p.relocate = false;  // pieces of one cluster: Lloyd's cut, not a search for structure
        KMeansLog log_as;
        log_as.label = "balance";
        log_as.warn_few_rows = false;
        const int64_t pieces_k = static_cast<int64_t>(cut.slots.size()) + 1;
        const std::vector<float> pieces =
            flat_kmeans(size, d_, rows_x.data(), pieces_k, p, log_as).result.centroids;
        std::memcpy(centroids_ + c * d_, pieces.data(), sizeof(float) * d_);
        for (size_t s = 0; s < cut.slots.size(); ++s) {
          std::memcpy(centroids_ + cut.slots[s] * d_, pieces.data() + (s + 1) * d_,
                      sizeof(float) * d_);
        }
      }
    }
    for (const Cut& cut : cuts) stats_.slots_given += static_cast<int64_t>(cut.slots.size());
    stats_.clusters_split += static_cast<int64_t>(cuts.size());
  }

  // Exact reassignment after a round. A row of an unchanged cluster had its nearest centroid
  // among the unchanged ones, so only the changed centroids can beat it; the rows of changed
  // clusters are compared with all k.
  void reassign(const std::vector<Cut>& cuts) {
    std::vector<int64_t> changed;
    for (const Cut& cut : cuts) {
      changed.push_back(cut.cluster);
      changed.insert(changed.end(), cut.slots.begin(), cut.slots.end());
    }
    std::sort(changed.begin(), changed.end());
    const auto q = static_cast<int64_t>(changed.size());
    std::vector<float> changed_x(static_cast<size_t>(q * d_));
    for (int64_t j = 0; j < q; ++j) {
      std::memcpy(changed_x.data() + j * d_, centroids_ + changed[j] * d_, sizeof(float) * d_);
    }
    std::vector<int32_t> label(static_cast<size_t>(n_));
    std::vector<float> dist(static_cast<size_t>(n_));
    assign_nearest(n_, d_, x_, norms_.data(), q, changed_x.data(), Metric::kL2,
                   AssignOutput{label.data(), dist.data()}, threads_);
    std::vector<int64_t> orphans;
    for (int64_t i = 0; i < n_; ++i) {
      if (std::binary_search(changed.begin(), changed.end(), labels_[i])) {
        orphans.push_back(i);
      } else if (dist[i] < dist_[i]) {
        labels_[i] = static_cast<int32_t>(changed[label[i]]);
        dist_[i] = dist[i];
      }
    }
    const auto count = static_cast<int64_t>(orphans.size());
    label.resize(static_cast<size_t>(count));
    dist.resize(static_cast<size_t>(count));
    nearest_candidates(d_, x_, count, orphans.data(), k_, centroids_, Metric::kL2, 1, label.data(),
                       dist.data(), threads_);
    for (int64_t r = 0; r < count; ++r) {
      labels_[orphans[r]] = label[r];
      dist_[orphans[r]] = dist[r];
    }
  }

  const int64_t n_, d_, k_;
  const float* x_;
  const uint64_t seed_;
  const int threads_;
  float* centroids_;
  int32_t* labels_;
  const double mean_;
  RebalanceStats stats_;
  std::vector<float> norms_, dist_;  // per row: norm_sqr; squared distance to its centroid
  std::vector<int64_t> sizes_;
  std::vector<uint8_t> role_;
  ClusterMembers members_;  // of the labels at the start of the round
};

}  // namespace

RebalanceStats rebalance_centroids(int64_t n, int64_t d, const float* x, int64_t k, double balance,
                                   uint64_t seed, int num_threads, float* centroids,
                                   int32_t* labels) {
  return Balancer(n, d, x, k, balance, seed, num_threads, centroids, labels).run();
}

}  // namespace ivftrain
