#include "kmeans/bounded_assign.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "linalg/assign.h"
#include "linalg/distances.h"
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
// Centroids whose distance to every row is measured exactly rather than bounded.
constexpr int64_t kMovers = 16;

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
    // lower the bound by the largest move among the others only.
    const int64_t movers = std::min(kMovers, k);
    std::vector<int64_t> order(static_cast<size_t>(k));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + movers, order.end(),
                      [&](int64_t a, int64_t b) {
                        return drift[a] > drift[b] || (drift[a] == drift[b] && a < b);
                      });
    double rest = 0;  // largest move outside the movers (a bound on every other centroid's)
    for (int64_t r = movers; r < k; ++r) rest = std::max(rest, drift[order[r]]);
    // The largest move of all, and the largest but the first's: a row's bound lowered by the
    // largest move among the centroids other than its own needs no mover measured. Late in a
    // run, when every centroid moves about as little, that settles most rows at the cost of
    // the one distance the objective needs anyway.
    const double top = drift[order[0]], second = k > 1 ? drift[order[1]] : 0;
    const double max_c_norm = *std::max_element(c_norms.begin(), c_norms.end());
    const double margin_scale = kMarginPerDim * static_cast<double>(d);
    parallel_blocks(n, kBlockRows, threads_, Work{}, [&](int64_t, int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const int32_t a = labels[i];
        IVF_DCHECK(a >= 0 && a < k, "labels are those the previous call wrote");
        const float* xi = x_ + i * d;
        const float e = l2_sqr(xi, centroids + a * d, d);
        const double margin = margin_scale * (double(x_norms_[i]) + max_c_norm);
        const double at_once = lower_[i] - (a == order[0] ? second : top);
        if (at_once > 0 && double(e) + margin < at_once * at_once) {
          skip_[i] = 1;
          dist_[i] = e;
          lower_[i] = at_once;
          continue;
        }
        double lower = lower_[i] - rest;
        bool keep = lower > 0 && double(e) + margin < lower * lower;
        if (keep) {
          for (int64_t r = 0; r < movers; ++r) {
            const int64_t c = order[r];
            if (c == a) continue;
            const double dc = l2_sqr(xi, centroids + c * d, d);
            lower = std::min(lower, std::sqrt(dc));
            if (!(double(e) + margin < dc)) {
              keep = false;
              break;
            }
          }
        }
        skip_[i] = keep ? 1 : 0;
        if (keep) {
          dist_[i] = e;
          lower_[i] = lower;
        }
      }
    });
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
