#include "kmeans/update.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "linalg/distances.h"
#include "linalg/gemm_tiles.h"
#include "linalg/kernels.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {

namespace {

// N of SumGrid: 2^N >= rows, at least 4.
int grid_bits(int64_t rows) {
  return std::bit_width(static_cast<uint64_t>(std::max<int64_t>(rows, 4) - 1));
}

// |row|^2 on the norm grid (rounded as add_rows rounds the values).
double grid_norm2(int64_t d, const float* row, double norm_magic) {
  return (row_norm2(d, row) + norm_magic) - norm_magic;
}

}  // namespace

void group_by_label(int64_t n, int64_t k, const int32_t* labels, ClusterMembers* members) {
  std::vector<int64_t>& offsets = members->offsets;
  offsets.assign(static_cast<size_t>(k + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    IVF_DCHECK(labels[i] >= 0 && labels[i] < k, "every row must have a centroid");
    ++offsets[labels[i] + 1];
  }
  for (int64_t c = 0; c < k; ++c) offsets[c + 1] += offsets[c];
  members->rows.resize(static_cast<size_t>(n));
  // A second cursor array would be the textbook way; walking offsets[c] forward and shifting
  // back afterwards avoids it.
  for (int64_t i = 0; i < n; ++i) members->rows[offsets[labels[i]]++] = i;
  for (int64_t c = k; c > 0; --c) offsets[c] = offsets[c - 1];
  offsets[0] = 0;
}

SumGrid SumGrid::make(double max_abs, int64_t rows, int64_t d) {
  if (!(max_abs > 0) || !std::isfinite(max_abs)) {
    return of_step(1.0, rows, d);  // all zeros: any grid is exact
  }
  int e = 0;
  std::frexp(max_abs, &e);  // max_abs < 2^e
  return of_step(std::ldexp(1.0, e + grid_bits(rows) - 53), rows, d);
}

SumGrid SumGrid::of_step(double step, int64_t rows, int64_t d) {
  // step = 2^(E + N - 53), so norm_step = 2^(2E + D + N - 53) = step^2 2^(53 - N + D).
  const int n = grid_bits(rows);
  const int dim_bits = std::bit_width(static_cast<uint64_t>(std::max<int64_t>(d, 1) - 1));
  SumGrid g;
  g.step = step;
  g.norm_step = std::ldexp(step * step, 53 - n + dim_bits);
  return g;
}

double row_norm2(int64_t d, const float* row) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= d; j += 8) {
    for (int l = 0; l < 8; ++l) a[l] += static_cast<double>(row[j + l]) * row[j + l];
  }
  for (int l = 0; j + l < d; ++l) a[l] += static_cast<double>(row[j + l]) * row[j + l];
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

float max_abs_value(int64_t n, int64_t d, const float* x) {
  // |v|'s bits order as the values do (for all but NaN): an integer max, which vectorises.
  uint32_t m = 0;
  for (int64_t i = 0; i < n * d; ++i) {
    m = std::max(m, std::bit_cast<uint32_t>(x[i]) & 0x7fffffffu);
  }
  return std::bit_cast<float>(m);
}

void ClusterSums::merge(const ClusterSums& other) {
  IVF_DCHECK(other.k == k && other.d == d, "merging statistics of different shapes");
  IVF_DCHECK(other.grid == grid, "merging statistics on different grids");
  for (int64_t c = 0; c < k; ++c) {
    const int64_t oc = other.counts[c];
    if (oc == 0) continue;
    const float* of = other.first.data() + c * d;
    float* f = first.data() + c * d;
    if (counts[c] == 0) {
      std::memcpy(f, of, sizeof(float) * d);
      identical[c] = other.identical[c];
      first_row[c] = other.first_row[c];
    } else {
      identical[c] =
          identical[c] && other.identical[c] && std::memcmp(f, of, sizeof(float) * d) == 0;
      if (other.first_row[c] < first_row[c]) {
        std::memcpy(f, of, sizeof(float) * d);
        first_row[c] = other.first_row[c];
      }
    }
    counts[c] += oc;
    norms[c] += other.norms[c];
    for (int64_t j = 0; j < d; ++j) sums[c * d + j] += other.sums[c * d + j];
  }
}

namespace {

// Cluster c's size, first row and whether its rows are all that one (c not empty).
void describe_cluster(int64_t c, int64_t d, const float* x, const ClusterMembers& m,
                      const int64_t* global_rows, ClusterSums& s) {
  const int64_t begin = m.offsets[c], end = m.offsets[c + 1];
  const int64_t first_local = m.rows[begin];
  const float* first = x + first_local * d;
  bool same = true;
  for (int64_t r = begin + 1; same && r < end; ++r) {
    same = std::memcmp(x + m.rows[r] * d, first, sizeof(float) * d) == 0;
  }
  s.counts[c] = end - begin;
  s.identical[c] = same ? 1 : 0;
  std::memcpy(s.first.data() + c * d, first, sizeof(float) * d);
  s.first_row[c] = global_rows ? global_rows[first_local] : first_local;
}

}  // namespace

ClusterSums cluster_sums(int64_t d, const float* x, int64_t k, const ClusterMembers& m,
                         const SumGrid& grid, int num_threads, const int64_t* global_rows) {
  ClusterSums s;
  s.k = k;
  s.d = d;
  s.grid = grid;
  s.sums.assign(static_cast<size_t>(k * d), 0.0);
  s.norms.assign(static_cast<size_t>(k), 0.0);
  s.counts.assign(static_cast<size_t>(k), 0);
  s.identical.assign(static_cast<size_t>(k), 0);
  s.first.assign(static_cast<size_t>(k * d), 0.0f);
  s.first_row.assign(static_cast<size_t>(k), std::numeric_limits<int64_t>::max());
  const double magic = grid.magic(), norm_magic = grid.norm_magic();
  // Clusters are handed out 4 at a time; small updates are not worth waking threads for (the
  // result is the same either way).
  constexpr int64_t kClustersPerBlock = 4;
  parallel_blocks(k, kClustersPerBlock, num_threads, Work{m.offsets[k] * d, int64_t{1} << 16},
                  [&](int64_t, int64_t first_cluster, int64_t last_cluster) {
                    for (int64_t c = first_cluster; c < last_cluster; ++c) {
                      const int64_t begin = m.offsets[c], end = m.offsets[c + 1];
                      if (begin == end) continue;
                      kernels::add_rows(d, x, m.rows.data() + begin, end - begin, magic,
                                        s.sums.data() + c * d, norm_magic, &s.norms[c]);
                      describe_cluster(c, d, x, m, global_rows, s);
                    }
                  });
  return s;
}

bool update_cluster_sums(int64_t n, int64_t d, const float* x, int64_t k, const SumGrid& grid,
                         int num_threads, const int64_t* global_rows, const int32_t* previous,
                         const int32_t* labels, ClusterMembers* members, ClusterSums* s) {
  std::vector<int64_t> moved;
  if (s->k == k && s->d == d && s->grid == grid) {
    for (int64_t i = 0; i < n; ++i) {
      if (previous[i] != labels[i]) moved.push_back(i);
    }
  }
  // One thread moves a row in about the time the threads add two afresh: past n / 8 moved
  // rows (always in the first iterations), summing afresh is as fast.
  if (s->k != k || s->d != d || !(s->grid == grid) || static_cast<int64_t>(moved.size()) > n / 8) {
    group_by_label(n, k, labels, members);
    *s = cluster_sums(d, x, k, *members, grid, num_threads, global_rows);
    return false;
  }
  const double magic = grid.magic(), norm_magic = grid.norm_magic();
  for (const int64_t i : moved) {
    const float* row = x + i * d;
    const double norm = grid_norm2(d, row, norm_magic);
    s->norms[previous[i]] -= norm;
    s->norms[labels[i]] += norm;
    double* from = s->sums.data() + previous[i] * d;
    double* to = s->sums.data() + labels[i] * d;
    for (int64_t j = 0; j < d; ++j) {
      const double q = (static_cast<double>(row[j]) + magic) - magic;  // as add_rows rounds
      from[j] -= q;
      to[j] += q;
    }
  }
  // Each cluster's size, first row (its lowest) and whether its rows are all that one, as
  // describe_cluster finds them, from one pass over the labels in row order: no grouping of the
  // rows (whose scattered writes cost as much as the rest of PQ's update). A cluster's rows are
  // compared with its first only until one differs.
  std::vector<int64_t> first(static_cast<size_t>(k), -1);
  std::vector<uint8_t> same(static_cast<size_t>(k), 1);
  std::fill(s->counts.begin(), s->counts.end(), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t c = labels[i];
    ++s->counts[c];
    if (first[c] < 0) {
      first[c] = i;
    } else if (same[c] && std::memcmp(x + i * d, x + first[c] * d,
                                      sizeof(float) * static_cast<size_t>(d)) != 0) {
      same[c] = 0;
    }
  }
  for (int64_t c = 0; c < k; ++c) {
    if (first[c] >= 0) {
      s->identical[c] = same[c];
      std::memcpy(s->first.data() + c * d, x + first[c] * d, sizeof(float) * d);
      s->first_row[c] = global_rows ? global_rows[first[c]] : first[c];
      continue;
    }
    // Empty: as cluster_sums leaves it (the exact sum of no rows is 0).
    std::fill_n(s->sums.data() + c * d, d, 0.0);
    s->norms[c] = 0.0;
    std::fill_n(s->first.data() + c * d, d, 0.0f);
    s->identical[c] = 0;
    s->first_row[c] = std::numeric_limits<int64_t>::max();
  }
  return true;
}

void centroids_from_sums(const ClusterSums& s, float* centroids) {
  const int64_t d = s.d;
  for (int64_t c = 0; c < s.k; ++c) {
    if (s.counts[c] == 0) continue;
    const double inv = 1.0 / static_cast<double>(s.counts[c]);
    const double* sum = s.sums.data() + c * d;
    float* out = centroids + c * d;
    for (int64_t j = 0; j < d; ++j) out[j] = static_cast<float>(sum[j] * inv);
  }
}

void update_centroids(int64_t d, const float* x, int64_t k, ClusterMembers* members,
                      float* centroids, int num_threads) {
  const int64_t n = members->offsets[k];
  const SumGrid grid = SumGrid::make(max_abs_value(n, d, x), n, d);
  ClusterSums sums = cluster_sums(d, x, k, *members, grid, num_threads);
  centroids_from_sums(sums, centroids);
  members->identical = std::move(sums.identical);
}

double split_distance(int64_t d, const float* row, const float* centroid) {
  double e = 0;
  for (int64_t j = 0; j < d; ++j) {
    const double v = static_cast<double>(row[j]) - centroid[j];
    e += v * v;
  }
  return e;
}

std::vector<double> cluster_errors(const ClusterSums& s, const float* centroids) {
  const int64_t d = s.d;
  std::vector<double> errors(static_cast<size_t>(s.k), 0.0);
  for (int64_t c = 0; c < s.k; ++c) {
    if (s.counts[c] == 0) continue;
    // sum |x - c|^2 = Q - 2 c.S + n |c|^2 = Q + sum_j c_j (n c_j - 2 S_j).
    const auto n = static_cast<double>(s.counts[c]);
    const double* sum = s.sums.data() + c * d;
    const float* centroid = centroids + c * d;
    double e = 0;
    for (int64_t j = 0; j < d; ++j) {
      const double v = centroid[j];
      e += v * (n * v - 2 * sum[j]);
    }
    errors[c] = s.norms[c] + e;
  }
  return errors;
}

std::vector<int64_t> split_donors(const std::vector<double>& errors,
                                  const std::vector<uint8_t>& identical,
                                  const std::vector<int64_t>& sizes) {
  // Each cluster's squared error, exact (issue 15): a cluster that covers two separate groups of
  // rows has an error many times that of one that covers one group, which its size alone does
  // not show. Clusters of identical rows, and clusters already split in this update, weigh 0:
  // their halves would be equidistant from every row, or the next assignment must first show
  // whether the halves need splitting again.
  const auto k = static_cast<int64_t>(sizes.size());
  std::vector<double> weight(static_cast<size_t>(k), 0.0);
  for (int64_t c = 0; c < k; ++c) {
    if (sizes[c] < 2 || identical[c] || !(errors[c] > 0)) continue;
    weight[c] = errors[c];
  }
  std::vector<int64_t> donors;
  for (int64_t empty = 0; empty < k; ++empty) {
    if (sizes[empty] != 0) continue;
    // The cluster with the largest error (the lower index on a tie): a deterministic choice
    // (issue 15). Drawn in proportion to an estimate, as before, which donor the draws hit
    // decided the result from one start to the next (and FAISS's draws were sometimes luckier).
    int64_t chosen = k;
    for (int64_t c = 0; c < k; ++c) {
      if (weight[c] > 0 && (chosen == k || weight[c] > weight[chosen])) chosen = c;
    }
    if (chosen == k) break;  // the errors ran out: split_empty_clusters draws the rest
    donors.push_back(chosen);
    weight[chosen] = 0;
  }
  return donors;
}

bool has_empty_cluster(const ClusterSums& sums) {
  return std::any_of(sums.counts.begin(), sums.counts.end(), [](int64_t c) { return c == 0; });
}

std::vector<int64_t> split_donors(const ClusterSums& sums, const float* centroids) {
  if (!has_empty_cluster(sums)) return {};
  return split_donors(cluster_errors(sums, centroids), sums.identical, sums.counts);
}

namespace {

// The merge costs' search (plan_splits): for each centroid a (a row of the block), the
// neighbour b minimising Ward's cost w_ab |c_a - c_b|^2 with w_ab = n_a n_b / (n_a + n_b), over
// the non-empty clusters b != a. SGEMM's scores (of the centroids less their mean: smaller
// values, smaller rounding) only choose which pairs to price: each price is l2_sqr of the
// centroids themselves, a function of the two centroids alone, and every pair whose score
// cannot rule it out (margin below) is priced, so the minimum and its neighbour (the lower index
// on a tie) are the ones a scan of every pair with l2_sqr would find, on any CPU and SIMD level.
struct MergeCostSelector {
  int64_t d;
  const float* centroids;       // k x d, as they are
  const float* centered_norms;  // k: |c - mean|^2 of the centered copy SGEMM reads
  const int64_t* counts;
  double* cost;
  int64_t* partner;

  // The distance from SGEMM's score is within margin x (|a'|^2 + |b'|^2 + the distance) of
  // l2_sqr's: 2^-20 max(d, 4) is 16 times the worst rounding of a d-term dot product in float
  // (d 2^-24) and covers the centering's and l2_sqr's own, which are smaller.
  double margin() const { return 0x1p-20 * static_cast<double>(std::max<int64_t>(d, 4)); }

  struct State {
    std::vector<double> weight;
    int64_t begin = 0;  // the block's first centroid
  };
  State make_state() const { return {}; }
  void start(State& st, int64_t begin, int64_t) const { st.begin = begin; }
  void select(State& st, int64_t rows, const tiles::Tile& t) const {
    st.weight.resize(static_cast<size_t>(t.size));
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t a = st.begin + r;
      if (counts[a] == 0) continue;
      const auto na = static_cast<double>(counts[a]);
      const float* ca = centroids + a * d;
      // The cheapest pair by the scores, priced.
      int64_t best = -1;
      double best_score = std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < t.size; ++j) {
        const int64_t b = t.base + j;
        const auto nb = static_cast<double>(counts[b]);
        st.weight[j] = b == a || counts[b] == 0 ? 0.0 : na * nb / (na + nb);
        if (st.weight[j] == 0) continue;
        const double score =
            st.weight[j] * std::max(0.0, double(centered_norms[a]) + double(t.score(r, j)));
        if (score < best_score) {
          best_score = score;
          best = b;
        }
      }
      if (best < 0) continue;
      double price = st.weight[best - t.base] * l2_sqr(ca, centroids + best * d, d);
      // Every other pair whose score, less its margin, is not above that price.
      for (int64_t j = 0; j < t.size; ++j) {
        const int64_t b = t.base + j;
        if (st.weight[j] == 0 || b == best) continue;
        const double dist = double(centered_norms[a]) + double(t.score(r, j));
        const double low =
            dist - margin() * (double(centered_norms[a]) + centered_norms[b] + std::abs(dist));
        if (st.weight[j] * low > price) continue;
        const double p = st.weight[j] * l2_sqr(ca, centroids + b * d, d);
        if (p < price || (p == price && b < best)) {
          price = p;
          best = b;
        }
      }
      cost[a] = price;
      partner[a] = best;
    }
  }
  double finish(State&, int64_t, int64_t, const float*) const { return 0; }
};

}  // namespace

void merge_costs(const ClusterSums& s, const float* centroids, int num_threads,
                 std::vector<double>* cost, std::vector<int64_t>* partner) {
  const int64_t k = s.k, d = s.d;
  cost->assign(static_cast<size_t>(k), std::numeric_limits<double>::infinity());
  partner->assign(static_cast<size_t>(k), -1);
  // The centroids less their mean, for SGEMM (the mean in double, in index order).
  std::vector<double> mean(static_cast<size_t>(d), 0.0);
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < d; ++j) mean[j] += centroids[c * d + j];
  }
  std::vector<float> centered(static_cast<size_t>(k * d));
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < d; ++j) {
      centered[c * d + j] = static_cast<float>(centroids[c * d + j] - mean[j] / k);
    }
  }
  std::vector<float> norms(static_cast<size_t>(k));
  row_norms_sqr(k, d, centered.data(), norms.data());
  const MergeCostSelector selector{
      d, centroids, norms.data(), s.counts.data(), cost->data(), partner->data()};
  // All of a centroid's scores in one tile: its cheapest pair is priced before the others.
  tiles::run_tiles(Metric::kL2, tiles::RowSource{d, centered.data()}, k, 16, k, centered.data(),
                   selector, num_threads, k);
}

std::vector<int64_t> plan_splits(ClusterSums& sums, const float* centroids, bool relocate,
                                 int num_threads) {
  if (!relocate) return split_donors(sums, centroids);
  const int64_t k = sums.k, d = sums.d;
  const std::vector<double> errors = cluster_errors(sums, centroids);
  std::vector<int64_t> donors;
  if (has_empty_cluster(sums)) donors = split_donors(errors, sums.identical, sums.counts);
  const auto empty = std::count(sums.counts.begin(), sums.counts.end(), int64_t{0});
  if (static_cast<int64_t>(donors.size()) < empty) return donors;  // no cluster left to split
  // Clusters worth a split: two rows or more, and an error above what the rounding of the exact
  // statistics makes of identical rows (whose flags a sharded run combines only when a cluster
  // is empty, so they are not read): each row's |x|^2 on the norm grid, each sum's rounding on
  // the grid times 2 |c_j|, and the formula's cancellation.
  std::vector<int64_t> splits;
  for (int64_t c = 0; c < k; ++c) {
    if (sums.counts[c] < 2) continue;
    double abs_sum = 0;
    for (int64_t j = 0; j < d; ++j) abs_sum += std::abs(double(centroids[c * d + j]));
    const double n = static_cast<double>(sums.counts[c]);
    const double rounding =
        n * (sums.grid.norm_step + sums.grid.step * abs_sum) + 0x1p-50 * sums.norms[c];
    if (errors[c] > rounding) splits.push_back(c);
  }
  if (splits.empty()) return donors;
  std::vector<double> cost;
  std::vector<int64_t> partner;
  merge_costs(sums, centroids, num_threads, &cost, &partner);
  // Candidates: centroids by merge cost (cheapest first), clusters by error (largest first).
  std::vector<int64_t> movers;
  for (int64_t c = 0; c < k; ++c) {
    if (partner[c] >= 0) movers.push_back(c);
  }
  std::sort(movers.begin(), movers.end(), [&](int64_t a, int64_t b) {
    return cost[a] < cost[b] || (cost[a] == cost[b] && a < b);
  });
  std::sort(splits.begin(), splits.end(), [&](int64_t a, int64_t b) {
    return errors[a] > errors[b] || (errors[a] == errors[b] && a < b);
  });
  enum : uint8_t { kMoved = 1, kSplit = 2, kAbsorbs = 4 };
  std::vector<uint8_t> role(static_cast<size_t>(k), 0);
  for (int64_t c = 0; c < k; ++c) role[c] = sums.counts[c] == 0 ? kMoved : 0;
  for (int64_t c : donors) role[c] |= kSplit;
  const double gain = kRelocationGain / static_cast<double>(std::max<int64_t>(d, 1));
  std::vector<int64_t> donor_of(static_cast<size_t>(k), -1);
  int64_t moved = 0;
  for (size_t a = 0, b = 0; a < movers.size() && b < splits.size();) {
    const int64_t m = movers[a], c = splits[b];
    if (role[c] & (kMoved | kSplit)) {
      ++b;
    } else if (m == c || role[m] != 0 || (role[partner[m]] & kMoved)) {
      ++a;  // it splits, absorbs a moved centroid's rows, or its rows' neighbour moved
    } else if (cost[m] < gain * errors[c]) {
      role[m] = kMoved;
      role[c] |= kSplit;
      role[partner[m]] |= kAbsorbs;
      donor_of[m] = c;
      ++moved;
      ++a;
      ++b;
    } else {
      break;  // the cheapest centroid left is worth more than the largest split left
    }
  }
  if (moved == 0) return donors;
  // split_empty_clusters refills the empty clusters in index order: the moved ones among them.
  std::vector<int64_t> all;
  all.reserve(donors.size() + static_cast<size_t>(moved));
  size_t next = 0;
  for (int64_t c = 0; c < k; ++c) {
    if (sums.counts[c] == 0) {
      all.push_back(donors[next++]);
    } else if (donor_of[c] >= 0) {
      all.push_back(donor_of[c]);
      sums.counts[c] = 0;
    }
  }
  return all;
}

namespace {

// Whether the row `row` at `distance` beats `best_row` at `best_distance` as a donor's farthest:
// farther, or as far and lower (the one order of FarthestRows, within a shard and across).
bool farther(double distance, int64_t row, double best_distance, int64_t best_row) {
  return distance > best_distance || (distance == best_distance && row < best_row);
}

}  // namespace

void FarthestRows::merge(const FarthestRows& other) {
  IVF_DCHECK(other.d == d && other.row.size() == row.size(),
             "merging farthest rows of other donors");
  for (size_t i = 0; i < row.size(); ++i) {
    if (farther(other.distance[i], other.row[i], distance[i], row[i])) {
      distance[i] = other.distance[i];
      row[i] = other.row[i];
      if (!values.empty()) std::copy_n(other.values.data() + i * d, d, values.data() + i * d);
    }
  }
}

FarthestRows farthest_rows(int64_t n, int64_t d, const float* x, const int32_t* labels,
                           const int64_t* global_rows, const std::vector<int64_t>& donors,
                           const float* donor_centroids) {
  FarthestRows far;
  far.d = d;
  far.distance.assign(donors.size(), -1.0);
  far.row.assign(donors.size(), std::numeric_limits<int64_t>::max());
  far.values.assign(donors.size() * static_cast<size_t>(d), 0.0f);
  if (donors.empty()) return far;
  // Each label's place among the donors (-1: not a donor).
  std::vector<int32_t> slot(
      static_cast<size_t>(*std::max_element(donors.begin(), donors.end()) + 1), -1);
  for (size_t i = 0; i < donors.size(); ++i) slot[donors[i]] = static_cast<int32_t>(i);
  std::vector<int64_t> best(donors.size(), -1);
  // A tie goes to the lowest global row (a shard's rows need not be in global order: the
  // groups of hierarchical k-means move between shards).
  for (int64_t r = 0; r < n; ++r) {
    const int64_t c = labels[r];
    if (c >= static_cast<int64_t>(slot.size()) || slot[c] < 0) continue;
    const int32_t i = slot[c];
    const double e = split_distance(d, x + r * d, donor_centroids + i * d);
    const int64_t g = global_rows ? global_rows[r] : r;
    if (farther(e, g, far.distance[i], far.row[i])) {
      far.distance[i] = e;
      far.row[i] = g;
      best[i] = r;
    }
  }
  for (size_t i = 0; i < donors.size(); ++i) {
    if (best[i] >= 0) std::copy_n(x + best[i] * d, d, far.values.data() + i * d);
  }
  return far;
}

int64_t split_empty_clusters(int64_t d, int64_t k, const float* rows,
                             const std::vector<int64_t>& donors, const float* toward,
                             std::vector<uint8_t>* identical_ptr, std::vector<int64_t>* sizes_ptr,
                             float* centroids, Rng& rng) {
  constexpr float kEps = 1.0f / 1024.0f;
  std::vector<int64_t>& sizes = *sizes_ptr;
  std::vector<uint8_t>& identical = *identical_ptr;
  std::vector<float> step(static_cast<size_t>(d));
  // The first row a drawn donor splits along: a refilled cluster has no row of its own yet.
  std::vector<int64_t> row_of(static_cast<size_t>(k));
  for (int64_t c = 0; c < k; ++c) row_of[c] = c;
  size_t next_donor = 0;
  int64_t refilled = 0;
  for (int64_t empty = 0; empty < k; ++empty) {
    if (sizes[empty] != 0) continue;
    int64_t chosen = 0;
    const float* row = nullptr;
    if (next_donor < donors.size()) {
      chosen = donors[next_donor];
      row = toward + next_donor * d;
      ++next_donor;
    } else {
      // No cluster with an error to split (every row alone, or on its cluster's mean): as FAISS
      // does, a cluster chosen with probability proportional to (size - 1), leaving out clusters
      // of identical rows unless nothing else is left.
      int64_t total = 0, total_identical = 0;
      for (int64_t c = 0; c < k; ++c) {
        const int64_t w = std::max<int64_t>(sizes[c] - 1, 0);
        (identical[c] ? total_identical : total) += w;
      }
      const bool use_identical = total == 0;
      if (use_identical) total = total_identical;
      if (total == 0) break;  // every cluster holds at most one row: nothing to split
      int64_t r = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(total)));
      for (chosen = 0; chosen < k; ++chosen) {
        if (identical[chosen] && !use_identical) continue;
        r -= std::max<int64_t>(sizes[chosen] - 1, 0);
        if (r < 0) break;
      }
      row = rows + row_of[chosen] * d;
    }
    float* src = centroids + chosen * d;
    float* dst = centroids + empty * d;
    bool along_row = false;
    for (int64_t j = 0; j < d; ++j) {
      step[j] = row[j] - src[j];
      along_row = along_row || step[j] != 0;
    }
    if (!along_row) {
      // The row is the centroid (a cluster of identical rows, or a row on its mean): step along
      // a random direction from the seed instead, on the scale of the centroid's components.
      double scale2 = 0;
      for (int64_t j = 0; j < d; ++j) scale2 += double(src[j]) * src[j];
      const double unit = scale2 > 0 ? std::sqrt(scale2 / static_cast<double>(d)) : 1.0;
      for (int64_t j = 0; j < d; ++j) step[j] = static_cast<float>(rng.normal() * unit);
    }
    // A step of 1/1024 may round away next to a large centroid: double it until the two
    // centroids differ, at most up to the row (the cut through the donor's centroid is the same
    // whatever the step).
    float scale = kEps;
    for (;;) {
      bool differ = false;
      for (int64_t j = 0; j < d; ++j) {
        const float a = src[j] + scale * step[j], b = src[j] - scale * step[j];
        differ = differ || a != b;
      }
      if (differ || scale >= 1.0f) break;
      scale *= 2;
    }
    for (int64_t j = 0; j < d; ++j) {
      const float v = src[j];
      dst[j] = v + scale * step[j];
      src[j] = v - scale * step[j];
    }
    sizes[empty] = sizes[chosen] / 2;
    sizes[chosen] -= sizes[empty];
    identical[empty] = identical[chosen];
    row_of[empty] = row_of[chosen];
    ++refilled;
  }
  IVF_DCHECK(next_donor == donors.size(), "every donor refills an empty cluster");
  return refilled;
}

}  // namespace ivftrain
