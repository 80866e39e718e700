#include "kmeans/cap_sizes.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <tuple>
#include <vector>

#include "kmeans/update.h"
#include "linalg/candidates.h"
#include "linalg/distances.h"
#include "linalg/metric.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

// Next-nearest centroids computed per row to move; rows needing more fall back to a full scan.
constexpr int64_t kCandidates = 8;
constexpr int64_t kObjectiveBlockRows = 4096;

// A possible move of `row` to its candidate number `slot`, `cost` being the distance it adds.
struct Move {
  double cost;
  int64_t row;
  int64_t slot;
  bool operator>(const Move& o) const {
    return std::tie(cost, row, slot) > std::tie(o.cost, o.row, o.slot);
  }
};

}  // namespace

double labelled_objective(int64_t n, int64_t d, const float* x, const float* centroids,
                          const int32_t* labels, Metric metric, int num_threads) {
  return parallel_blocks(n, kObjectiveBlockRows, num_threads, Work{},
                         [&](int64_t, int64_t begin, int64_t end) {
                           double s = 0;
                           for (int64_t i = begin; i < end; ++i) {
                             s += metric_distance(metric, x + i * d, centroids + labels[i] * d, d);
                           }
                           return s;
                         });
}

int64_t balance_capacity(int64_t n, int64_t k, double balance) {
  const int64_t fit = (n + k - 1) / k;
  const auto cap =
      static_cast<int64_t>(std::floor(balance * static_cast<double>(n) / static_cast<double>(k)));
  return std::max(fit, cap);
}

CapStats cap_cluster_sizes(int64_t n, int64_t d, const float* x, int64_t k, double balance,
                           Metric metric, int num_threads, float* centroids, int32_t* labels) {
  CapStats stats;
  stats.capacity = balance_capacity(n, k, balance);
  std::vector<int64_t> sizes(static_cast<size_t>(k), 0);
  for (int64_t i = 0; i < n; ++i) ++sizes[labels[i]];
  stats.largest_before = *std::max_element(sizes.begin(), sizes.end());

  if (stats.largest_before > stats.capacity) {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < n; ++i) {
      if (sizes[labels[i]] > stats.capacity) rows.push_back(i);
    }
    const auto count = static_cast<int64_t>(rows.size());
    const int64_t t = std::min(kCandidates, k);
    std::vector<int32_t> cand(static_cast<size_t>(count * t));
    std::vector<float> cand_dist(static_cast<size_t>(count * t));
    nearest_candidates(d, x, count, rows.data(), k, centroids, metric, t, cand.data(),
                       cand_dist.data(), num_threads);
    std::vector<float> own(static_cast<size_t>(count));
    for (int64_t r = 0; r < count; ++r) {
      own[r] = metric_distance(metric, x + rows[r] * d, centroids + labels[rows[r]] * d, d);
    }
    // Moves in increasing added distance; `r` indexes `rows` (increasing row order).
    std::priority_queue<Move, std::vector<Move>, std::greater<Move>> heap;
    auto push_next = [&](int64_t r, int64_t slot) {
      for (; slot < t; ++slot) {
        const int32_t c = cand[r * t + slot];
        if (c < 0) break;
        if (c != labels[rows[r]]) {
          heap.push(Move{double(cand_dist[r * t + slot]) - own[r], r, slot});
          return true;
        }
      }
      return false;
    };
    std::vector<int64_t> exhausted;
    for (int64_t r = 0; r < count; ++r) {
      if (!push_next(r, 0)) exhausted.push_back(r);
    }
    while (!heap.empty()) {
      const Move m = heap.top();
      heap.pop();
      const int64_t i = rows[m.row];
      const int32_t src = labels[i];
      if (sizes[src] <= stats.capacity) continue;
      const int32_t dst = cand[m.row * t + m.slot];
      if (sizes[dst] < stats.capacity) {
        labels[i] = dst;
        --sizes[src];
        ++sizes[dst];
        ++stats.rows_moved;
      } else if (!push_next(m.row, m.slot + 1)) {
        exhausted.push_back(m.row);
      }
    }
    // Rows whose candidates were all full: the nearest cluster with room, by a full scan.
    std::sort(exhausted.begin(), exhausted.end());
    for (int64_t r : exhausted) {
      const int64_t i = rows[r];
      const int32_t src = labels[i];
      if (sizes[src] <= stats.capacity) continue;
      float best = std::numeric_limits<float>::infinity();
      int32_t best_c = -1;
      for (int64_t c = 0; c < k; ++c) {
        if (sizes[c] >= stats.capacity) continue;
        const float dist = metric_distance(metric, x + i * d, centroids + c * d, d);
        if (best_c < 0 || dist < best) {
          best = dist;
          best_c = static_cast<int32_t>(c);
        }
      }
      if (best_c < 0) break;  // cannot happen: capacity * k >= n
      labels[i] = best_c;
      --sizes[src];
      ++sizes[best_c];
      ++stats.rows_moved;
    }
    ClusterMembers members;
    group_by_label(n, k, labels, &members);
    update_centroids(d, x, k, &members, centroids, num_threads);
  }
  stats.largest_after = *std::max_element(sizes.begin(), sizes.end());
  stats.objective = labelled_objective(n, d, x, centroids, labels, metric, num_threads);
  return stats;
}

}  // namespace ivftrain
