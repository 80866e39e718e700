#include "kmeans/cap_sizes.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <queue>
#include <tuple>
#include <vector>

#include "kmeans/shard.h"
#include "kmeans/update.h"
#include "linalg/distances.h"
#include "linalg/kernels.h"
#include "linalg/metric.h"
#include "util/status_macros.h"
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

namespace {

// The rows of over-full clusters and what the capping decides from: each row's global index,
// its cluster, its distance to it and its t nearest centroids.
struct CapRows {
  int64_t t = 0;
  std::vector<int64_t> rows;     // global indices, increasing
  std::vector<int32_t> labels;   // the row's cluster
  std::vector<float> own;        // its distance to that cluster
  std::vector<int32_t> cand;     // t per row, nearest first (ties: smaller index); -1 past k
  std::vector<float> cand_dist;  // t per row

  int64_t size() const { return static_cast<int64_t>(rows.size()); }
};

// The CapRows of the local rows whose cluster holds more than `capacity` rows (`sizes` over all
// shards). Distances one at a time: their bits depend on the row and the centroid alone.
CapRows over_full_rows(int64_t n, int64_t d, const float* x, int64_t k, const float* centroids,
                       Metric metric, const int32_t* labels, const std::vector<int64_t>& sizes,
                       int64_t capacity, const int64_t* global_rows, int num_threads,
                       std::vector<int64_t>* local) {
  CapRows c;
  c.t = std::min(kCandidates, k);
  for (int64_t i = 0; i < n; ++i) {
    if (sizes[labels[i]] > capacity) local->push_back(i);
  }
  const auto count = static_cast<int64_t>(local->size());
  const int64_t t = c.t;
  c.rows.resize(static_cast<size_t>(count));
  c.labels.resize(static_cast<size_t>(count));
  c.own.resize(static_cast<size_t>(count));
  c.cand.assign(static_cast<size_t>(count * t), -1);
  c.cand_dist.assign(static_cast<size_t>(count * t), std::numeric_limits<float>::infinity());
  parallel_blocks(count, kObjectiveBlockRows, num_threads, Work{count * k * d, 1 << 16},
                  [&](int64_t, int64_t begin, int64_t end) {
                    for (int64_t r = begin; r < end; ++r) {
                      const int64_t i = (*local)[r];
                      const float* xi = x + i * d;
                      c.rows[r] = global_rows ? global_rows[i] : i;
                      c.labels[r] = labels[i];
                      c.own[r] = metric_distance(metric, xi, centroids + labels[i] * d, d);
                      for (int64_t j = 0; j < k; ++j) {
                        kernels::insert_sorted(metric_distance(metric, xi, centroids + j * d, d),
                                               static_cast<int32_t>(j), t, &c.cand_dist[r * t],
                                               &c.cand[r * t]);
                      }
                    }
                  });
  return c;
}

// The added distance of a row's first possible move (+inf when it has none): no move of the row
// costs less. Rows are gathered in increasing (first cost, global row).
double first_cost(const CapRows& c, int64_t r) {
  for (int64_t slot = 0; slot < c.t; ++slot) {
    const int32_t to = c.cand[r * c.t + slot];
    if (to < 0) break;
    if (to != c.labels[r]) return double(c.cand_dist[r * c.t + slot]) - c.own[r];
  }
  return std::numeric_limits<double>::infinity();
}

using Key = std::pair<double, int64_t>;  // (added distance, global row)

// The moves, decided in one sequence from the CapRows of all the rows (see cap_cluster_sizes):
// updates labels (one per CapRows row) and sizes, returns the rows moved. `fetch(exhausted,
// out)` writes the vectors of the rows (indices into c) whose candidates were all full, for a
// scan of all k centroids.
//
// With a `limit`, c holds only the rows whose first cost key is at most *limit: the moves up to
// the limit are those the sequence over all the rows takes (no other row has one). When no
// cluster is over capacity after them, the rest of the sequence changes nothing and the result
// is final; otherwise returns nullopt (more rows are needed).
using FetchRows = std::function<void(const std::vector<int64_t>&, std::vector<float>*)>;
std::optional<int64_t> decide_moves(const CapRows& c, int64_t d, int64_t k, const float* centroids,
                                    Metric metric, int64_t capacity, const FetchRows& fetch,
                                    std::vector<int32_t>* labels, std::vector<int64_t>* sizes,
                                    const Key* limit = nullptr) {
  const int64_t t = c.t;
  auto& label = *labels;
  auto& size = *sizes;
  int64_t moved = 0;
  // Moves in increasing added distance; `r` indexes c's rows (increasing global order).
  std::priority_queue<Move, std::vector<Move>, std::greater<Move>> heap;
  auto push_next = [&](int64_t r, int64_t slot) {
    for (; slot < t; ++slot) {
      const int32_t to = c.cand[r * t + slot];
      if (to < 0) break;
      if (to != label[r]) {
        heap.push(Move{double(c.cand_dist[r * t + slot]) - c.own[r], r, slot});
        return true;
      }
    }
    return false;
  };
  std::vector<int64_t> exhausted;
  for (int64_t r = 0; r < c.size(); ++r) {
    if (!push_next(r, 0)) exhausted.push_back(r);
  }
  while (!heap.empty()) {
    const Move m = heap.top();
    if (limit && Key(m.cost, c.rows[m.row]) > *limit) break;
    heap.pop();
    const int32_t src = label[m.row];
    if (size[src] <= capacity) continue;
    const int32_t dst = c.cand[m.row * t + m.slot];
    if (size[dst] < capacity) {
      label[m.row] = dst;
      --size[src];
      ++size[dst];
      ++moved;
    } else if (!push_next(m.row, m.slot + 1)) {
      exhausted.push_back(m.row);
    }
  }
  if (limit) {
    const bool settled =
        std::all_of(size.begin(), size.end(), [&](int64_t n) { return n <= capacity; });
    return settled ? std::optional<int64_t>(moved) : std::nullopt;
  }
  // Rows whose candidates were all full: the nearest cluster with room, by a full scan.
  std::sort(exhausted.begin(), exhausted.end());
  std::erase_if(exhausted, [&](int64_t r) { return size[label[r]] <= capacity; });
  if (exhausted.empty()) return moved;
  std::vector<float> vectors;
  fetch(exhausted, &vectors);
  for (size_t e = 0; e < exhausted.size(); ++e) {
    const int64_t r = exhausted[e];
    const int32_t src = label[r];
    if (size[src] <= capacity) continue;
    float best = std::numeric_limits<float>::infinity();
    int32_t best_c = -1;
    for (int64_t j = 0; j < k; ++j) {
      if (size[j] >= capacity) continue;
      const float dist = metric_distance(metric, vectors.data() + e * d, centroids + j * d, d);
      if (best_c < 0 || dist < best) {
        best = dist;
        best_c = static_cast<int32_t>(j);
      }
    }
    if (best_c < 0) break;  // cannot happen: capacity * k >= n
    label[r] = best_c;
    --size[src];
    ++size[best_c];
    ++moved;
  }
  return moved;
}

}  // namespace

CapStats cap_cluster_sizes(int64_t n, int64_t d, const float* x, int64_t k, double balance,
                           Metric metric, int num_threads, float* centroids, int32_t* labels) {
  CapStats stats;
  stats.capacity = balance_capacity(n, k, balance);
  std::vector<int64_t> sizes(static_cast<size_t>(k), 0);
  for (int64_t i = 0; i < n; ++i) ++sizes[labels[i]];
  stats.largest_before = *std::max_element(sizes.begin(), sizes.end());

  if (stats.largest_before > stats.capacity) {
    std::vector<int64_t> local;
    const CapRows c = over_full_rows(n, d, x, k, centroids, metric, labels, sizes, stats.capacity,
                                     nullptr, num_threads, &local);
    std::vector<int32_t> moved_to = c.labels;
    stats.rows_moved = *decide_moves(
        c, d, k, centroids, metric, stats.capacity,
        [&](const std::vector<int64_t>& rows, std::vector<float>* out) {
          out->resize(rows.size() * static_cast<size_t>(d));
          for (size_t e = 0; e < rows.size(); ++e) {
            std::copy_n(x + c.rows[rows[e]] * d, d, out->data() + e * d);
          }
        },
        &moved_to, &sizes);
    for (size_t r = 0; r < local.size(); ++r) labels[local[r]] = moved_to[r];
    ClusterMembers members;
    group_by_label(n, k, labels, &members);
    update_centroids(d, x, k, &members, centroids, num_threads);
  }
  stats.largest_after = *std::max_element(sizes.begin(), sizes.end());
  stats.objective = labelled_objective(n, d, x, centroids, labels, metric, num_threads);
  return stats;
}

namespace {

// CapRows as int64 words for a shard collective: per row its index, (label, own) and t
// (candidate, distance) pairs.
int64_t pair_word(int32_t a, float b) {
  uint64_t w = static_cast<uint32_t>(a);
  w |= static_cast<uint64_t>(std::bit_cast<uint32_t>(b)) << 32;
  return static_cast<int64_t>(w);
}
void unpair(int64_t word, int32_t* a, float* b) {
  const auto w = static_cast<uint64_t>(word);
  *a = static_cast<int32_t>(static_cast<uint32_t>(w));
  *b = std::bit_cast<float>(static_cast<uint32_t>(w >> 32));
}

std::vector<int64_t> pack(const CapRows& c) {
  std::vector<int64_t> words;
  words.reserve(static_cast<size_t>(c.size() * (2 + c.t)));
  for (int64_t r = 0; r < c.size(); ++r) {
    words.push_back(c.rows[r]);
    words.push_back(pair_word(c.labels[r], c.own[r]));
    for (int64_t s = 0; s < c.t; ++s) {
      words.push_back(pair_word(c.cand[r * c.t + s], c.cand_dist[r * c.t + s]));
    }
  }
  return words;
}

// Every shard's rows, in increasing global order.
CapRows unpack_sorted(const std::vector<std::vector<int64_t>>& parts, int64_t t) {
  const int64_t w = 2 + t;
  std::vector<const int64_t*> at;
  for (const auto& part : parts) {
    for (size_t i = 0; i < part.size(); i += static_cast<size_t>(w)) at.push_back(&part[i]);
  }
  std::sort(at.begin(), at.end(), [](const int64_t* a, const int64_t* b) { return *a < *b; });
  CapRows c;
  c.t = t;
  const auto count = static_cast<int64_t>(at.size());
  c.rows.resize(static_cast<size_t>(count));
  c.labels.resize(static_cast<size_t>(count));
  c.own.resize(static_cast<size_t>(count));
  c.cand.resize(static_cast<size_t>(count * t));
  c.cand_dist.resize(static_cast<size_t>(count * t));
  for (int64_t r = 0; r < count; ++r) {
    c.rows[r] = at[r][0];
    unpair(at[r][1], &c.labels[r], &c.own[r]);
    for (int64_t s = 0; s < t; ++s) {
      unpair(at[r][2 + s], &c.cand[r * t + s], &c.cand_dist[r * t + s]);
    }
  }
  return c;
}

// The rows of over-full clusters gathered from the shards in rounds, in increasing (first cost,
// global row): the capping's sequence up to a key needs only the rows whose first cost key is at
// most that key, and once no cluster is over capacity after that prefix the sequence is decided.
// Each round a shard sends its next `batch` rows (the batch doubles every round), and the limit
// is the smallest last key sent by a shard that has rows left (none left: no limit).
class GatheredCapRows {
 public:
  GatheredCapRows(const CapRows& mine, const std::vector<int64_t>& sizes, int64_t capacity,
                  KMeansShard& shard)
      : mine_(mine), shard_(shard), order_(static_cast<size_t>(mine.size())) {
    std::vector<Key> keys(static_cast<size_t>(mine.size()));
    for (int64_t r = 0; r < mine.size(); ++r) keys[r] = Key(first_cost(mine, r), mine.rows[r]);
    std::iota(order_.begin(), order_.end(), 0);
    std::sort(order_.begin(), order_.end(),
              [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
    keys_.resize(keys.size());
    for (size_t i = 0; i < order_.size(); ++i) keys_[i] = keys[order_[i]];
    int64_t excess = 0;
    for (int64_t s : sizes) excess += std::max<int64_t>(0, s - capacity);
    batch_ = std::max<int64_t>(kMinBatch, 2 * excess / shard.shard_count() + 1);
  }

  // Gathers the next round; returns the limit up to which the rows gathered are complete.
  std::optional<Key> next_round() {
    const int64_t take = std::min(batch_, mine_.size() - sent_);
    CapRows part;
    part.t = mine_.t;
    for (int64_t i = sent_; i < sent_ + take; ++i) {
      const int64_t r = order_[i];
      part.rows.push_back(mine_.rows[r]);
      part.labels.push_back(mine_.labels[r]);
      part.own.push_back(mine_.own[r]);
      const int32_t* cand = mine_.cand.data() + r * mine_.t;
      const float* dist = mine_.cand_dist.data() + r * mine_.t;
      part.cand.insert(part.cand.end(), cand, cand + mine_.t);
      part.cand_dist.insert(part.cand_dist.end(), dist, dist + mine_.t);
    }
    sent_ += take;
    std::vector<int64_t> words = pack(part);
    // The shard's last key sent when it has rows left: (1, cost bits, row); else (0, 0, 0).
    const bool more = sent_ < mine_.size();
    words.push_back(more ? 1 : 0);
    words.push_back(more ? std::bit_cast<int64_t>(keys_[sent_ - 1].first) : 0);
    words.push_back(more ? keys_[sent_ - 1].second : 0);
    std::optional<Key> limit;
    for (std::vector<int64_t>& got : shard_.all_gather(words)) {
      if (got[got.size() - 3] != 0) {
        const Key last(std::bit_cast<double>(got[got.size() - 2]), got.back());
        if (!limit || last < *limit) limit = last;
      }
      got.resize(got.size() - 3);
      parts_.push_back(std::move(got));
    }
    batch_ *= 2;
    ++rounds_;
    return limit;
  }
  CapRows rows() const { return unpack_sorted(parts_, mine_.t); }
  int64_t rounds() const { return rounds_; }

 private:
  static constexpr int64_t kMinBatch = 64;
  const CapRows& mine_;
  KMeansShard& shard_;
  std::vector<int64_t> order_;  // mine's rows by key
  std::vector<Key> keys_;       // their keys, in that order
  int64_t sent_ = 0, batch_ = 0, rounds_ = 0;
  std::vector<std::vector<int64_t>> parts_;  // what every shard sent, every round
};

}  // namespace

int64_t cap_record_words(int64_t k) { return 2 + std::min(kCandidates, k); }

std::vector<int64_t> cap_records(int64_t n, int64_t d, const float* x, int64_t k,
                                 const float* centroids, Metric metric, const int32_t* labels,
                                 const std::vector<int64_t>& sizes, int64_t capacity,
                                 const int64_t* global_rows, int num_threads) {
  std::vector<int64_t> local;
  return pack(over_full_rows(n, d, x, k, centroids, metric, labels, sizes, capacity, global_rows,
                             num_threads, &local));
}

Result<CapMoves> decide_cap_moves(const std::vector<std::vector<int64_t>>& records, int64_t d,
                                  int64_t k, const float* centroids, Metric metric,
                                  int64_t capacity, std::vector<int64_t>* sizes,
                                  const CapFetch& fetch) {
  const int64_t words = cap_record_words(k);
  for (const std::vector<int64_t>& part : records) {
    if (static_cast<int64_t>(part.size()) % words != 0) {
      return Status::InvalidArgument(fmt::format(
          "capping records of {} words are not whole records of {} words", part.size(), words));
    }
  }
  const CapRows all = unpack_sorted(records, words - 2);
  for (int64_t r = 0; r < all.size(); ++r) {
    bool ok = all.labels[r] >= 0 && all.labels[r] < k && (r == 0 || all.rows[r] > all.rows[r - 1]);
    for (int64_t s = 0; s < all.t; ++s) ok = ok && all.cand[r * all.t + s] < k;
    if (!ok) {
      return Status::InvalidArgument(fmt::format(
          "the capping record of row {} names a cluster outside 0 to {} or a row given twice",
          all.rows[r], k - 1));
    }
  }
  std::vector<int32_t> moved_to = all.labels;
  Status fetched;
  decide_moves(
      all, d, k, centroids, metric, capacity,
      [&](const std::vector<int64_t>& rows, std::vector<float>* out) {
        std::vector<int64_t> ids(rows.size());
        for (size_t e = 0; e < rows.size(); ++e) ids[e] = all.rows[rows[e]];
        Result<std::vector<float>> got = fetch(ids);
        if (got.ok() && got->size() == rows.size() * static_cast<size_t>(d)) {
          *out = std::move(*got);
        } else {
          if (fetched.ok()) {
            fetched = got.ok() ? Status::Internal("the rows fetched for the capping are short")
                               : got.status();
          }
          out->assign(rows.size() * static_cast<size_t>(d), 0.0f);
        }
      },
      &moved_to, sizes);
  IVF_RETURN_IF_ERROR(fetched);
  CapMoves moves;
  moves.records = all.size();
  for (int64_t r = 0; r < all.size(); ++r) {
    if (moved_to[r] != all.labels[r]) {
      moves.rows.push_back(all.rows[r]);
      moves.to.push_back(moved_to[r]);
    }
  }
  return moves;
}

CapStats cap_cluster_sizes_sharded(int64_t n, int64_t d, const float* x, int64_t k, double balance,
                                   Metric metric, int num_threads, float* centroids,
                                   int32_t* labels, KMeansShard& shard) {
  CapStats stats;
  const int64_t total = shard.total_rows();
  stats.capacity = balance_capacity(total, k, balance);
  std::vector<int64_t> sizes(static_cast<size_t>(k), 0);
  for (int64_t i = 0; i < n; ++i) ++sizes[labels[i]];
  shard.combine_counts(sizes);
  stats.largest_before = *std::max_element(sizes.begin(), sizes.end());

  if (stats.largest_before > stats.capacity) {
    const int64_t* global = shard.global_rows();
    std::vector<int64_t> local;
    const CapRows mine = over_full_rows(n, d, x, k, centroids, metric, labels, sizes,
                                        stats.capacity, global, num_threads, &local);
    GatheredCapRows gathered(mine, sizes, stats.capacity, shard);
    CapRows all;
    std::vector<int32_t> moved_to;
    std::vector<int64_t> sizes_after;
    for (;;) {
      const std::optional<Key> limit = gathered.next_round();
      all = gathered.rows();
      moved_to = all.labels;
      sizes_after = sizes;
      const std::optional<int64_t> moved = decide_moves(
          all, d, k, centroids, metric, stats.capacity,
          [&](const std::vector<int64_t>& rows, std::vector<float>* out) {
            std::vector<int64_t> ids(rows.size());
            for (size_t e = 0; e < rows.size(); ++e) ids[e] = all.rows[rows[e]];
            out->resize(rows.size() * static_cast<size_t>(d));
            shard.fetch_rows(ids, d, x, out->data());
          },
          &moved_to, &sizes_after, limit ? &*limit : nullptr);
      if (moved) {
        stats.rows_moved = *moved;
        break;
      }
    }
    sizes = std::move(sizes_after);
    stats.rows_gathered = all.size();
    stats.gather_rounds = gathered.rounds();
    // Labels change only for rows in `all` (in increasing order, as in `mine`).
    for (size_t r = 0, a = 0; r < local.size(); ++r) {
      while (a < all.rows.size() && all.rows[a] < mine.rows[r]) ++a;
      if (a < all.rows.size() && all.rows[a] == mine.rows[r]) labels[local[r]] = moved_to[a];
    }
    // The means of the capped clusters, as update_centroids computes them over all the rows.
    ClusterMembers members;
    group_by_label(n, k, labels, &members);
    const SumGrid grid = SumGrid::make(shard.max_over_shards(max_abs_value(n, d, x)), total, d);
    ClusterSums sums = cluster_sums(d, x, k, members, grid, num_threads, global);
    shard.combine(sums);
    centroids_from_sums(sums, centroids);
  }
  stats.largest_after = *std::max_element(sizes.begin(), sizes.end());
  return stats;
}

}  // namespace ivftrain
