#include "kmeans/bounded_assign.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "linalg/assign.h"
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
// The fewest centroids whose distance to the rows is measured exactly rather than bounded.
constexpr int64_t kMovers = 16;
// What a row's score against one mover costs, in scores of the full assignment: both are
// SGEMM scores (W1 at AVX2, 1.0 and 1.5 measured alike; 3 computed a third more rows).
constexpr double kMoverCost = 1.0;

constexpr int64_t kMoverBlock = 512;

// The selector (linalg/gemm_tiles.h) that checks rows whose bound holds against every centroid
// but the movers: a row keeps its label when every mover other than its own centroid is
// further than its own by more than the margin and the SGEMM score's rounding (both within
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
      const int64_t i = rows[s.begin + r];
      const double margin = margin_scale * (double(x_norms[i]) + max_c_norm);
      const bool own = mover_id[s.nearest[r]] == labels[i];
      const double dc = double(x_norms[i]) + double(own ? s.second[r] : s.best[r]);
      const bool keep = double(dist[i]) + 2 * margin < dc;
      skip[i] = keep;
      if (keep) lower[i] = std::min(lower[i] - rest, std::sqrt(dc - margin));
    }
  }
  double finish(State&, int64_t, int64_t, const float*) const { return 0; }
};

}  // namespace

bool BoundedAssigner::worthwhile(int64_t k, int64_t d) {
  return k >= 64 && !assign_uses_direct_kernel(k, d);
}

BoundedAssigner::BoundedAssigner(int64_t n, int64_t d, const float* x, const float* x_norms,
                                 int64_t k, int num_threads, int64_t prune)
    : n_(n), d_(d), k_(k), x_(x), x_norms_(x_norms), threads_(resolve_threads(num_threads)),
      lower_(static_cast<size_t>(n)), dist_(static_cast<size_t>(n)),
      second_(static_cast<size_t>(n)), skip_(static_cast<size_t>(n)),
      prune_dims_(prune < 0 ? prune_dims(n, d, k) : prune) {}

int64_t BoundedAssigner::choose_movers(const std::vector<double>& drift,
                                       const std::vector<int64_t>& order, int64_t most) const {
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
                        static_cast<double>(pass) * static_cast<double>(m) * kMoverCost;
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
    const double margin_scale = kMarginPerDim * static_cast<double>(d);
    const auto row_margin = [&](int64_t i) {
      return margin_scale * (double(x_norms_[i]) + max_c_norm);
    };
    // First the rows the largest move leaves settled; each other row's slack, the largest
    // move of the others its bound can take (-inf: none).
    slack_.resize(static_cast<size_t>(n));
    parallel_blocks(n, kBlockRows, threads_, Work{}, [&](int64_t, int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int32_t a = labels[i];
        IVF_DCHECK(a >= 0 && a < k, "labels are those the previous call wrote");
        const float e = l2_sqr(x_ + i * d, centroids + a * d, d);
        const double margin = row_margin(i);
        const double at_once = lower_[i] - (a == order[0] ? second : top);
        dist_[i] = e;
        skip_[i] = at_once > 0 && double(e) + margin < at_once * at_once;
        if (skip_[i]) {
          lower_[i] = at_once;
          slack_[i] = -std::numeric_limits<float>::infinity();
        } else {
          slack_[i] = static_cast<float>(lower_[i] - std::sqrt(double(e) + margin));
        }
      }
    });
    const int64_t movers = choose_movers(drift, order, most_movers);
    const double rest = drift[order[movers]];  // the largest move of the other centroids
    // The rows whose bound, lowered by the largest move of the others, still holds are measured
    // against the movers (SGEMM of those rows and the movers); the rest are computed in full.
    std::vector<int64_t> checked;
    for (int64_t i = 0; i < n; ++i) {
      if (skip_[i]) continue;
      const double lower = lower_[i] - rest;
      skip_[i] = lower > 0 && double(dist_[i]) + row_margin(i) < lower * lower;
      if (skip_[i]) checked.push_back(i);
    }
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
      tiles::run_tiles(Metric::kL2, tiles::RowSource{d, x_, checked.data()},
                       static_cast<int64_t>(checked.size()), kMoverBlock, movers, mover_c.data(),
                       check, threads_, movers);
    }
    for (int64_t i = 0; i < n; ++i) {
      if (!skip_[i]) rows_.push_back(i);
    }
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
    two_nearest(d, x_, x_norms_, rows_computed_, rows_.data(), k, centroids, labels, dist_.data(),
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
