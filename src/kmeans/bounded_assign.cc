#include "kmeans/bounded_assign.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

#include "linalg/assign.h"
#include "linalg/direct.h"
#include "linalg/distances.h"
#include "linalg/gemm_tiles.h"
#include "linalg/kernels.h"
#include "linalg/two_nearest.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

constexpr int64_t kBlockRows = 4096;
// SGEMM distances ||x||^2 + ||c||^2 - 2 x.c carry a rounding error up to about
// d 2^-24 (||x||^2 + ||c||^2); a row skips only when its bound clears it by this relative
// margin, so rounding never decides a label the full assignment could decide otherwise.
constexpr double kMarginPerDim = 0x1p-22;
// The direct kernel's scores (PQ sub-spaces: few dimensions) round once per dimension into a sum
// that can reach ||x||^2 + 2 ||c||^2, and its init ||c||^2 carries a rounding of its own: in all,
// under about 3 (d + 1) 2^-24 (||x||^2 + ||c||^2) per distance. The margin, 2^-20 max(d, 4)
// (||x||^2 + max ||c||^2), covers four such errors for any d (max(d, 4) for d <= 3): two
// distances compared, each against a bound computed in an earlier call.
constexpr double kDirectMarginPerDim = 0x1p-20;
// The fewest centroids for which bounds pay with the direct kernel, whose full assignment of a
// row is cheap (256 x 8 multiply-adds for PQ's sub-spaces), and the widest vectors: at AVX-512
// the kernel scores a row's 256 centroids in about the time the bounds' bookkeeping takes for
// it (W3 on model 167, two threads, three alternated pairs: 1.27-1.53 s with bounds against
// 0.95-1.31 s without; at AVX2, 1.69 against 1.88 s, medians of five).
constexpr int64_t kDirectMinK = 128;
constexpr int64_t kDirectMaxLanes = 8;
// The fewest centroids whose distance to the rows is measured exactly rather than bounded.
constexpr int64_t kMovers = 16;
// What a row's score against one mover costs, in scores of the full assignment: both are
// SGEMM scores (W1 at AVX2, 1.0 and 1.5 measured alike; 3 computed a third more rows). With the
// direct kernel a row's pass over a few movers carries the per-row cost of a whole one (its
// reduction, the decision) over fewer scores: about two (PQ, W3's sub-spaces at AVX2: costs 1,
// 2 and 4 with at most k/8, k/4 or k/2 movers gave the same assignment time within the host's
// noise; 2 took half the time of 1 in the movers' check, the full assignment a little more).
constexpr double kMoverCost = 1.0;
constexpr double kDirectMoverCost = 2.0;

constexpr int64_t kMoverBlock = 512;

// The selector (linalg/gemm_tiles.h) that checks rows whose bound holds against every centroid
// but the movers: a row keeps its label when every mover other than its own centroid is
// further than its own by more than the margin and the kernel score's rounding (both within
// `margin`), and its bound becomes the nearest mover's distance less that rounding, if lower.
struct MoverCheck {
  const int64_t* rows;
  const int32_t* labels;
  const float* x_norms;
  const float* dist;
  const int32_t* mover_id;
  double rest, margin_scale, max_c_norm;
  double* lower;
  uint8_t* skip;

  struct State {
    int64_t begin = 0;
    std::vector<float> best, second;
    std::vector<int32_t> nearest;  // place among the movers
  };
  State make_state() const {
    const auto n = static_cast<size_t>(kMoverBlock);
    return {0, std::vector<float>(n), std::vector<float>(n), std::vector<int32_t>(n)};
  }
  void start(State& s, int64_t begin, int64_t end) const {
    s.begin = begin;
    const auto n = static_cast<size_t>(end - begin);
    std::fill_n(s.best.begin(), n, tiles::kInf);
    std::fill_n(s.second.begin(), n, tiles::kInf);
    std::fill_n(s.nearest.begin(), n, 0);
  }
  // The movers come in one tile: each row's two nearest movers, then the nearest but its own.
  void select(State& s, int64_t n, const tiles::Tile& tile) const {
    kernels::tile_two_min(n, tile.dots, tile.ld, tile.bias, tile.size, tile.base, s.best.data(),
                          s.nearest.data(), s.second.data());
    for (int64_t r = 0; r < n; ++r) {
      decide(rows[s.begin + r], s.nearest[r], s.best[r], s.second[r]);
    }
  }
  // Row i's nearest mover (its place among them), and the two smallest scores of the movers.
  void decide(int64_t i, int32_t nearest, float best, float second) const {
    const double margin = margin_scale * (double(x_norms[i]) + max_c_norm);
    const bool own = mover_id[nearest] == labels[i];
    const double dc = double(x_norms[i]) + double(own ? second : best);
    const bool keep = double(dist[i]) + 2 * margin < dc;
    skip[i] = keep;
    if (keep) lower[i] = std::min(lower[i] - rest, std::sqrt(dc - margin));
  }
  // The same check with the direct kernel (few, short centroids).
  void run_direct(int64_t count, int64_t d, const float* x, int64_t movers, const float* mover_c,
                  int threads) const {
    const DirectCentroids direct(Metric::kL2, movers, d, mover_c);
    parallel_blocks(
        count, kMoverBlock, threads, Work{}, [this] { return make_state(); },
        [&](State& s, int64_t, int64_t begin, int64_t end) {
          direct.two_min(end - begin, x, rows + begin, s.best.data(), s.nearest.data(),
                         s.second.data());
          for (int64_t r = begin; r < end; ++r) {
            const auto u = static_cast<size_t>(r - begin);
            decide(rows[r], s.nearest[u], s.best[u], s.second[u]);
          }
        });
  }
  double finish(State&, int64_t, int64_t, const float*) const { return 0; }
};

}  // namespace

bool BoundedAssigner::worthwhile(int64_t k, int64_t d) {
  return k >= 64 && !assign_uses_direct_kernel(k, d);
}

bool BoundedAssigner::pays_here(int64_t k, int64_t d) {
  if (!assign_uses_direct_kernel(k, d)) return worthwhile(k, d);
  return k >= kDirectMinK && kernels::float_lanes() <= kDirectMaxLanes;
}

BoundedAssigner::BoundedAssigner(int64_t n, int64_t d, const float* x, const float* x_norms,
                                 int64_t k, int num_threads, int64_t prune)
    : n_(n), d_(d), k_(k), x_(x), x_norms_(x_norms), threads_(resolve_threads(num_threads)),
      lower_(static_cast<size_t>(n)), dist_(static_cast<size_t>(n)),
      second_(static_cast<size_t>(n)), skip_(static_cast<size_t>(n)),
      // The pruned search is SGEMM's (its labels and l2_sqr distances): none on the direct
      // kernel's shapes, whose labels and distances are that kernel's.
      prune_dims_(assign_uses_direct_kernel(k, d) ? 0
                  : prune < 0                     ? prune_dims(n, d, k)
                                                  : prune) {}

int64_t BoundedAssigner::choose_movers(const std::vector<double>& drift,
                                       const std::vector<int64_t>& order, int64_t most,
                                       double mover_cost) const {
  // Rows the largest move leaves undecided pass the bound of the others when their slack
  // exceeds the largest move outside the movers; they then cost a score per mover, the rows
  // that fail k scores. Deterministic: a function of the rows' bounds.
  int64_t best = std::min(kMovers, most), open = 0;
  for (int64_t i = 0; i < n_; ++i) open += skip_[i] == 0;
  double best_cost = std::numeric_limits<double>::infinity();
  for (int64_t m = best;; m = std::min(2 * m, most)) {
    const auto rest = static_cast<float>(drift[order[m]]);
    int64_t pass = 0;  // settled rows have slack -inf
    for (int64_t i = 0; i < n_; ++i) pass += slack_[i] > rest;
    const double cost = static_cast<double>(open - pass) * static_cast<double>(k_) +
                        static_cast<double>(pass) * static_cast<double>(m) * mover_cost;
    if (cost < best_cost) best_cost = cost, best = m;
    if (m == most) break;
  }
  return best;
}

double BoundedAssigner::assign(const float* centroids, int32_t* labels) {
  const int64_t n = n_, d = d_, k = k_;
  rows_.clear();
  if (first_) {
    rows_.resize(static_cast<size_t>(n));
    std::iota(rows_.begin(), rows_.end(), 0);
  } else {
    // How far each centroid moved; a row's bound drops by the largest move of the others.
    std::vector<double> drift(static_cast<size_t>(k));
    std::vector<float> c_norms(static_cast<size_t>(k));
    row_norms_sqr(k, d, centroids, c_norms.data());
    for (int64_t c = 0; c < k; ++c) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) {
        const double t = double(centroids[c * d + j]) - previous_[c * d + j];
        s += t * t;
      }
      drift[c] = std::sqrt(s);
    }
    // The centroids that moved most (splits of empty clusters, a cluster losing half its rows)
    // would drag every bound down: measure each row's distance to them exactly instead, and
    // lower the bound by the largest move among the others only. How many such movers pays
    // is chosen below from the rows' own bounds.
    const int64_t most_movers = std::min(k - 1, std::max<int64_t>(kMovers, k / 4));
    std::vector<int64_t> order(static_cast<size_t>(k));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + most_movers + 1, order.end(),
                      [&](int64_t a, int64_t b) {
                        return drift[a] > drift[b] || (drift[a] == drift[b] && a < b);
                      });
    // The largest move of all, and the largest but the first's: a row's bound lowered by the
    // largest move among the centroids other than its own needs no mover measured. Late in a
    // run, when every centroid moves about as little, that settles most rows at the cost of
    // the one distance the objective needs anyway.
    const double top = drift[order[0]], second = k > 1 ? drift[order[1]] : 0;
    const double max_c_norm = *std::max_element(c_norms.begin(), c_norms.end());
    // The kernel of the full assignment (assign_nearest's for the shape): a row's distance to
    // its own centroid is computed as that kernel computes it, so that the objective does not
    // depend on which rows the bounds settled.
    std::optional<DirectCentroids> direct;
    if (assign_uses_direct_kernel(k, d)) direct.emplace(Metric::kL2, k, d, centroids);
    const double margin_scale =
        direct ? kDirectMarginPerDim * static_cast<double>(std::max<int64_t>(d, 4))
               : kMarginPerDim * static_cast<double>(d);
    // The per-row arrays through local pointers: the stores to skip_ (bytes, which may alias
    // anything) would otherwise make the compiler reload every member's data pointer per row.
    const float* x_norms = x_norms_;
    double* lower_of = lower_.data();
    float* dist = dist_.data();
    uint8_t* skip = skip_.data();
    const auto row_margin = [=](int64_t i) {
      return margin_scale * (double(x_norms[i]) + max_c_norm);
    };
    // First the rows the largest move leaves settled; each other row's slack, the largest
    // move of the others its bound can take (-inf: none).
    slack_.resize(static_cast<size_t>(n));
    float* slack_of = slack_.data();
    const int64_t first_mover = order[0];
    const float* x = x_;
    // By value: a closure's references are reloaded after every byte store.
    parallel_blocks(
        n, kBlockRows, threads_, Work{}, [=, &direct](int64_t, int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) {
            IVF_DCHECK(labels[i] >= 0 && labels[i] < k, "labels are those the previous call wrote");
          }
          if (direct) direct->scores(end - begin, x + begin * d, labels + begin, dist + begin);
          for (int64_t i = begin; i < end; ++i) {
            const int32_t a = labels[i];
            // A score that is not a number (a row or centroid of NaN or inf) never settles: the
            // full kernel's NaN never wins, and clamping it would give a distance of 0.
            const bool finite = !direct || (std::isfinite(dist[i]) && std::isfinite(x_norms[i]));
            const float e = !finite  ? std::numeric_limits<float>::infinity()
                            : direct ? score_to_distance(Metric::kL2, x_norms[i], dist[i])
                                     : l2_sqr(x + i * d, centroids + a * d, d);
            const double margin = row_margin(i), lower = lower_of[i];
            const double at_once = lower - (a == first_mover ? second : top);
            // Without branches (here and in the two loops below): which rows settle follows no
            // pattern a branch predictor could learn.
            const bool settled = (at_once > 0) & (double(e) + margin < at_once * at_once);
            // In float: the slack only chooses how many movers to measure (choose_movers).
            const float slack =
                static_cast<float>(lower) - std::sqrt(static_cast<float>(double(e) + margin));
            dist[i] = e;
            skip[i] = settled;
            lower_of[i] = settled ? at_once : lower;
            slack_of[i] = settled ? -std::numeric_limits<float>::infinity() : slack;
          }
        });
    const int64_t movers =
        choose_movers(drift, order, most_movers, direct ? kDirectMoverCost : kMoverCost);
    const double rest = drift[order[movers]];  // the largest move of the other centroids
    // The rows whose bound, lowered by the largest move of the others, still holds are measured
    // against the movers (the kernel of those rows and the movers); the rest are computed in full.
    std::vector<int64_t>& checked = checked_;
    checked.resize(static_cast<size_t>(n));
    int64_t* checked_at = checked.data();
    int64_t num_checked = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double lower = lower_of[i] - rest;
      const bool pass =
          (skip[i] == 0) & (lower > 0) & (double(dist[i]) + row_margin(i) < lower * lower);
      checked_at[num_checked] = i;
      num_checked += pass;
      skip[i] |= static_cast<uint8_t>(pass);
    }
    checked.resize(static_cast<size_t>(num_checked));
    if (movers > 0 && !checked.empty()) {
      std::vector<float> mover_c(static_cast<size_t>(movers * d));
      std::vector<int32_t> mover_id(static_cast<size_t>(movers));
      for (int64_t r = 0; r < movers; ++r) {
        mover_id[r] = static_cast<int32_t>(order[r]);
        std::copy_n(centroids + order[r] * d, d, mover_c.data() + r * d);
      }
      const MoverCheck check{checked.data(),  labels,      x_norms_,     dist_.data(),
                             mover_id.data(), rest,        margin_scale, max_c_norm,
                             lower_.data(),   skip_.data()};
      if (direct) {
        check.run_direct(static_cast<int64_t>(checked.size()), d, x_, movers, mover_c.data(),
                         threads_);
      } else {
        tiles::run_tiles(Metric::kL2, tiles::RowSource{d, x_, checked.data()},
                         static_cast<int64_t>(checked.size()), kMoverBlock, movers, mover_c.data(),
                         check, threads_, movers);
      }
    }
    rows_.resize(static_cast<size_t>(n));
    int64_t* rows_at = rows_.data();
    int64_t num_rows = 0;
    for (int64_t i = 0; i < n; ++i) {
      rows_at[num_rows] = i;
      num_rows += skip[i] == 0;
    }
    rows_.resize(static_cast<size_t>(num_rows));
  }
  rows_computed_ = static_cast<int64_t>(rows_.size());
  // The fit waits for a call with rows enough to prune (a worker of the file protocol, which
  // starts afresh every round, fits only in the rounds that compute many rows).
  if (prune_dims_ > 0 && prune_dims_ < d && (pruned_ || rows_computed_ >= PrunedSearch::kMinRows)) {
    if (!pruned_) pruned_.emplace(n, d, x_, x_norms_, prune_dims_);
    pruned_->two_nearest(rows_computed_, rows_.data(), k, centroids, first_ ? nullptr : labels,
                         labels, dist_.data(), second_.data(), threads_);
    rows_pruned_ = pruned_->pruned_rows();
  } else {
    rows_pruned_ = 0;
    // assign_nearest's kernel for the shape: labels and distances are a full assignment's.
    const auto nearest = assign_uses_direct_kernel(k, d) ? two_nearest_direct : two_nearest;
    nearest(d, x_, x_norms_, rows_computed_, rows_.data(), k, centroids, labels, dist_.data(),
            second_.data(), threads_);
  }
  // two_nearest reports each row's distance computed from the row and its centroid alone, as
  // for the skipped rows: the objective does not depend on which rows were computed together.
  for (int64_t i : rows_) lower_[i] = std::sqrt(double(second_[i]));
  previous_.assign(centroids, centroids + k * d);
  first_ = false;

  // The objective, summed exactly (one thread: a sum of n floats is not worth more).
  sum_ = ExactSum{};
  sum_.add(dist_.data(), n);
  return sum_.value();
}

}  // namespace ivftrain
