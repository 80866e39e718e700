// `ivftrain eval`: the in-memory index, its search and the report (include/ivftrain/eval.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <optional>

#include "eval/codecs.h"
#include "ivftrain/eval.h"
#include "linalg/assign.h"
#include "linalg/candidates.h"
#include "linalg/distances.h"
#include "linalg/kernels.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/status_macros.h"
#include "util/threads.h"

namespace ivftrain {
namespace {

constexpr int64_t kBaseBlockRows = 16384;  // rows read, encoded and searched exactly at a time
constexpr int64_t kQueryBlock = 4;         // queries per parallel search block
constexpr float kInf = std::numeric_limits<float>::infinity();

// Inserts (v, id) into the ascending list (vals, ids) of length t when v is below its last entry.
void insert_top(float v, int64_t id, int64_t t, float* vals, int64_t* ids) {
  if (!(v < vals[t - 1])) return;
  int64_t p = t - 1;
  while (p > 0 && v < vals[p - 1]) {
    vals[p] = vals[p - 1];
    ids[p] = ids[p - 1];
    --p;
  }
  vals[p] = v;
  ids[p] = id;
}

// Keeps finite rows (and, under cosine, non-zero ones, normalised), packed at the front of x
// with their ids; returns how many were kept.
int64_t clean_rows(int64_t n, int64_t d, bool cosine, float* x, int64_t* ids) {
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* v = x + i * d;
    double norm2 = 0;
    bool finite = true;
    for (int64_t j = 0; j < d; ++j) {
      finite = finite && std::isfinite(v[j]);
      norm2 += static_cast<double>(v[j]) * v[j];
    }
    if (!finite || !std::isfinite(norm2) || (cosine && norm2 == 0.0)) continue;
    float* dst = x + kept * d;
    if (dst != v) std::copy(v, v + d, dst);
    if (cosine) {
      const double inv = 1.0 / std::sqrt(norm2);
      for (int64_t j = 0; j < d; ++j) dst[j] = static_cast<float>(dst[j] * inv);
    }
    ids[kept++] = ids[i];
  }
  return kept;
}

// The inverted lists: each partition's codes (code_size bytes each) and global row ids. A vector
// is code_count codes of one byte, or, when `packed` (4 bits), two codes a byte.
struct Lists {
  int64_t code_count = 0, code_size = 0;
  bool packed = false;
  std::vector<std::vector<uint8_t>> codes;
  std::vector<std::vector<int64_t>> ids;
};

struct Index {
  const TrainedModels& m;
  Metric metric;
  int64_t dim, k;
  Lists lists;
  std::optional<eval::SqCodec> sq;
  // Residual PQ under l2, as FAISS's IndexIVFPQ with its precomputed tables: the distance of a
  // query q to c + r (c the partition's centroid, r the decoded residual) is
  //   ||q - c||^2 + sum_m (||r_m||^2 + 2 <c_m, r_m>) - 2 sum_m <q_m, r_m>,
  // the first term the coarse search's, the second a table per partition computed once here
  // (num_partitions x M x ksub floats), the third a table per query. Empty when that table would
  // exceed EvalOptions::precomputed_table_max_bytes: each probe then computes its table from the
  // residual q - c.
  std::vector<float> precomputed;
};

void precompute_tables(Index& index, int64_t max_bytes, int num_threads) {
  const TrainedModels& m = index.m;
  if (!m.pq || m.params.distance_type == DistanceType::kDot) return;
  const PqCodebook& cb = *m.pq;
  const int64_t msub = cb.num_sub_vectors, ksub = cb.ksub(), dsub = cb.dsub();
  if (index.k * msub * ksub * static_cast<int64_t>(sizeof(float)) > max_bytes) return;
  std::vector<float> norms(static_cast<size_t>(msub * ksub));
  for (int64_t i = 0; i < msub * ksub; ++i) norms[i] = norm_sqr(&cb.centroids[i * dsub], dsub);
  index.precomputed.resize(static_cast<size_t>(index.k * msub * ksub));
  parallel_blocks(
      index.k, 16, num_threads, Work{}, [] { return 0; },
      [&](int, int64_t, int64_t begin, int64_t end) {
        for (int64_t list = begin; list < end; ++list) {
          const float* c = m.ivf_centroids.data() + list * index.dim;
          float* t = index.precomputed.data() + list * msub * ksub;
          for (int64_t sub = 0; sub < msub; ++sub) {
            for (int64_t j = 0; j < ksub; ++j) {
              const int64_t w = sub * ksub + j;
              t[w] = norms[w] + 2 * inner_product(c + sub * dsub, &cb.centroids[w * dsub], dsub);
            }
          }
        }
      });
}

Status check_options(const TrainedModels& m, const Dataset& base, const EvalQueries& q,
                     const EvalOptions& o, std::vector<int64_t>* nprobes) {
  const int64_t k = m.params.ivf.num_partitions;
  if (base.dim() != m.dim) {
    return Status::InvalidArgument(
        fmt::format("the base {} has dimension {}, the model {}", base.path(), base.dim(), m.dim));
  }
  if (q.count < 1) return Status::InvalidArgument("there are no queries to search");
  if (static_cast<int64_t>(q.x.size()) != q.count * m.dim) {
    return Status::InvalidArgument(
        fmt::format("the queries have dimension {}, the model {}", q.x.size() / q.count, m.dim));
  }
  if (o.ks.empty()) return Status::InvalidArgument("--k names no value");
  if (!q.neighbors.empty() && (!o.fragment_ids.empty() || !o.excluded_rows.empty())) {
    // The file's ids number the rows of the whole base.
    return Status::InvalidArgument(
        "the ground truth's neighbors number the rows of the whole base: evaluate them without "
        "--fragments or --num-queries");
  }
  for (int64_t kk : o.ks) {
    if (kk < 1) return Status::InvalidArgument(fmt::format("--k {} must be at least 1", kk));
    if (!q.neighbors.empty() && kk > q.neighbors_k) {
      return Status::InvalidArgument(
          fmt::format("--k {} is more than the {} neighbors the ground truth holds per query", kk,
                      q.neighbors_k));
    }
  }
  // The base's rows before reading it (rows dropped as NaN or Inf are checked after).
  int64_t base_rows = 0;
  for (const FragmentInfo& f : base.fragments()) {
    if (o.fragment_ids.empty() ||
        std::find(o.fragment_ids.begin(), o.fragment_ids.end(), f.id) != o.fragment_ids.end()) {
      base_rows += f.num_rows;
    }
  }
  base_rows -= static_cast<int64_t>(o.excluded_rows.size());
  for (int64_t kk : o.ks) {
    if (kk > base_rows) {
      return Status::InvalidArgument(
          fmt::format("--k {} is more than the {} vectors of the base", kk, base_rows));
    }
  }
  *nprobes = o.nprobes;
  if (nprobes->empty()) {
    for (int64_t p = 1; p <= std::min<int64_t>(128, k); p *= 2) nprobes->push_back(p);
  }
  for (int64_t p : *nprobes) {
    if (p < 1 || p > k) {
      return Status::InvalidArgument(
          fmt::format("--nprobe {} is outside [1, {}]: the model has {} partitions", p, k, k));
    }
  }
  return Status::OK();
}

// Reads the base once: encodes every block into the lists, measures the quantisation and
// (when `gt_k` > 0) keeps the exact top gt_k of every query.
Status build(const Dataset& base, const EvalQueries& q, const EvalOptions& o, int64_t gt_k,
             Index& index, EvalReport& report, std::vector<float>& gt_vals,
             std::vector<int64_t>& gt_ids) {
  const TrainedModels& m = index.m;
  const int64_t d = index.dim, k = index.k;
  const bool cosine = m.params.distance_type == DistanceType::kCosine;
  const int threads = o.num_threads;
  Lists& lists = index.lists;
  lists.codes.resize(static_cast<size_t>(k));
  lists.ids.resize(static_cast<size_t>(k));
  if (m.pq) {
    lists.code_count = m.pq->num_sub_vectors;
    lists.packed = m.pq->num_bits == 4;
  } else if (m.sq) {
    lists.code_count = d;
    lists.packed = m.params.sq.num_bits == 4;
  } else {
    lists.code_count = d * static_cast<int64_t>(sizeof(float));
  }
  lists.code_size = lists.packed ? (lists.code_count + 1) / 2 : lists.code_count;

  std::vector<int64_t> excluded = o.excluded_rows;
  std::sort(excluded.begin(), excluded.end());
  // Fragments of the base and their first global row (over every fragment, in order).
  std::vector<std::pair<const FragmentInfo*, int64_t>> frags;
  int64_t offset = 0, to_read = 0;
  for (const FragmentInfo& f : base.fragments()) {
    const bool chosen =
        o.fragment_ids.empty() ||
        std::find(o.fragment_ids.begin(), o.fragment_ids.end(), f.id) != o.fragment_ids.end();
    if (chosen) frags.emplace_back(&f, offset), to_read += f.num_rows;
    offset += f.num_rows;
  }
  for (int64_t id : o.fragment_ids) {
    if (!base.find_fragment(id)) {
      return Status::InvalidArgument(
          fmt::format("--fragments: the base {} has no fragment {}", base.path(), id));
    }
  }

  std::vector<float> x(static_cast<size_t>(kBaseBlockRows * d)), work(x.size());
  std::vector<int64_t> ids(static_cast<size_t>(kBaseBlockRows));
  std::vector<int32_t> labels(static_cast<size_t>(kBaseBlockRows));
  std::vector<uint8_t> codes(static_cast<size_t>(kBaseBlockRows * lists.code_count));
  std::vector<uint8_t> packed(static_cast<size_t>(lists.code_size));
  std::vector<int32_t> cand_labels;
  std::vector<float> cand_dists;
  if (gt_k > 0) {
    gt_vals.assign(static_cast<size_t>(q.count * gt_k), kInf);
    gt_ids.assign(static_cast<size_t>(q.count * gt_k), -1);
    cand_labels.resize(static_cast<size_t>(q.count * gt_k));
    cand_dists.resize(cand_labels.size());
  }
  double error_sum = 0;
  int64_t clipped = 0, read = 0, next_log = 1 << 20;
  double gt_seconds = 0;
  const auto t_start = Clock::now();
  for (const auto& [frag, first_global] : frags) {
    for (int64_t first = 0; first < frag->num_rows; first += kBaseBlockRows) {
      const int64_t count = std::min(kBaseBlockRows, frag->num_rows - first);
      IVF_RETURN_IF_ERROR(base.read_range(frag->id, first, count, x.data()));
      read += count;
      // Held-out rows leave the block first (ids, then the rows with them).
      int64_t kept = 0;
      for (int64_t i = 0; i < count; ++i) {
        const int64_t id = first_global + first + i;
        if (std::binary_search(excluded.begin(), excluded.end(), id)) continue;
        if (kept != i) std::copy_n(x.data() + i * d, d, x.data() + kept * d);
        ids[kept++] = id;
      }
      const int64_t n = clean_rows(kept, d, cosine, x.data(), ids.data());
      report.base_rows_nonfinite += kept - n;
      if (n == 0) continue;
      // Partitions, then codes.
      assign_nearest(n, d, x.data(), nullptr, k, m.ivf_centroids.data(), index.metric,
                     AssignOutput{labels.data(), nullptr}, threads);
      if (m.pq) {
        const float* src = x.data();
        if (m.params.distance_type != DistanceType::kDot) {
          for (int64_t i = 0; i < n; ++i) {
            const float* c = m.ivf_centroids.data() + labels[i] * d;
            for (int64_t j = 0; j < d; ++j) work[i * d + j] = x[i * d + j] - c[j];
          }
          src = work.data();
        }
        pq_encode(*m.pq, n, src, codes.data(), threads);
        std::vector<float> decoded(static_cast<size_t>(n * d));
        pq_decode(*m.pq, n, codes.data(), decoded.data());
        for (int64_t i = 0; i < n * d; ++i) {
          const double e = static_cast<double>(src[i]) - decoded[i];
          error_sum += e * e;
        }
      } else if (index.sq) {
        std::vector<float> decoded(static_cast<size_t>(d));
        for (int64_t i = 0; i < n; ++i) {
          clipped += index.sq->encode(x.data() + i * d, codes.data() + i * d);
          index.sq->decode(codes.data() + i * d, decoded.data());
          for (int64_t j = 0; j < d; ++j) {
            const double e = static_cast<double>(x[i * d + j]) - decoded[j];
            error_sum += e * e;
          }
        }
      } else {
        std::memcpy(codes.data(), x.data(), static_cast<size_t>(n * d) * sizeof(float));
      }
      for (int64_t i = 0; i < n; ++i) {
        const size_t list = static_cast<size_t>(labels[i]);
        const uint8_t* c = codes.data() + i * lists.code_count;
        if (lists.packed) {
          eval::pack_nibbles(c, lists.code_count, packed.data());
          c = packed.data();
        }
        lists.codes[list].insert(lists.codes[list].end(), c, c + lists.code_size);
        lists.ids[list].push_back(ids[i]);
      }
      report.base_rows += n;
      // Exact ground truth: the block's top gt_k of every query, merged into the running lists.
      if (gt_k > 0) {
        const auto t_gt = Clock::now();
        const int64_t t = std::min(gt_k, n);
        nearest_candidates(d, q.x.data(), q.count, nullptr, n, x.data(), index.metric, t,
                           cand_labels.data(), cand_dists.data(), threads);
        for (int64_t qi = 0; qi < q.count; ++qi) {
          for (int64_t r = 0; r < t; ++r) {
            const int32_t label = cand_labels[qi * t + r];
            if (label < 0) break;
            insert_top(cand_dists[qi * t + r], ids[label], gt_k, gt_vals.data() + qi * gt_k,
                       gt_ids.data() + qi * gt_k);
          }
        }
        gt_seconds += seconds_since(t_gt);
      }
      if (read >= next_log) {
        logger().info("eval: indexed {} of {} base rows", read, to_read);
        next_log += 1 << 20;
      }
    }
  }
  report.ground_truth_seconds = gt_seconds;
  report.encode_seconds = seconds_since(t_start) - gt_seconds;
  if (report.base_rows > 0)
    report.quantization_mse = error_sum / static_cast<double>(report.base_rows);
  if (index.sq && report.base_rows > 0) {
    report.sq_clipped_fraction =
        static_cast<double>(clipped) / static_cast<double>(report.base_rows * d);
  }
  return Status::OK();
}

void partition_stats(const Lists& lists, EvalReport& r) {
  const int64_t k = static_cast<int64_t>(lists.ids.size());
  std::vector<int64_t> sizes(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) sizes[i] = static_cast<int64_t>(lists.ids[i].size());
  r.mean_partition = static_cast<double>(r.base_rows) / static_cast<double>(k);
  double var = 0;
  for (int64_t s : sizes) {
    r.largest_partition = std::max(r.largest_partition, s);
    r.empty_partitions += s == 0 ? 1 : 0;
    var += (s - r.mean_partition) * (s - r.mean_partition);
  }
  r.partition_cv = r.mean_partition > 0 ? std::sqrt(var / k) / r.mean_partition : 0;
  r.histogram_edges = {0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 4.0};
  r.histogram.assign(r.histogram_edges.size(), 0);
  for (int64_t s : sizes) {
    const double rel = r.mean_partition > 0 ? s / r.mean_partition : 0;
    size_t b = 0;
    while (b + 1 < r.histogram_edges.size() && rel >= r.histogram_edges[b + 1]) ++b;
    ++r.histogram[b];
  }
}

// Searches every query with `nprobe` probes; writes its top kmax ids and vectors scanned.
void search(const Index& index, const EvalQueries& q, const std::vector<int32_t>& coarse,
            const std::vector<float>& coarse_dist, int64_t coarse_t, int64_t nprobe, int64_t kmax,
            int threads, std::vector<int64_t>& out, std::vector<int64_t>& scanned) {
  const TrainedModels& m = index.m;
  const int64_t d = index.dim;
  const bool residual = m.pq && m.params.distance_type != DistanceType::kDot;
  const int64_t msub = m.pq ? m.pq->num_sub_vectors : 0, ksub = m.pq ? m.pq->ksub() : 0;
  const bool precomputed = residual && !index.precomputed.empty();
  struct State {
    std::vector<float> table, query_table, residual, vals;
    std::vector<uint8_t> unpacked;
  };
  const Lists& lists = index.lists;
  // Vector i's codes, one a byte.
  auto code_of = [&lists](State& s, const std::vector<uint8_t>& codes, int64_t i) {
    const uint8_t* c = codes.data() + i * lists.code_size;
    if (!lists.packed) return c;
    eval::unpack_nibbles(c, lists.code_count, s.unpacked.data());
    return static_cast<const uint8_t*>(s.unpacked.data());
  };
  auto make_state = [&] {
    return State{std::vector<float>(static_cast<size_t>(msub * ksub)),
                 std::vector<float>(static_cast<size_t>(msub * ksub)),
                 std::vector<float>(static_cast<size_t>(d)),
                 std::vector<float>(static_cast<size_t>(kmax)),
                 std::vector<uint8_t>(static_cast<size_t>(index.lists.code_count))};
  };
  auto body = [&](State& s, int64_t, int64_t begin, int64_t end) {
    for (int64_t qi = begin; qi < end; ++qi) {
      const float* query = q.x.data() + qi * d;
      float* vals = s.vals.data();
      int64_t* ids = out.data() + qi * kmax;
      std::fill(vals, vals + kmax, kInf);
      std::fill(ids, ids + kmax, -1);
      if (m.pq && !residual) {
        eval::pq_distance_table(*m.pq, Metric::kInnerProduct, query, s.table.data());
      } else if (precomputed) {
        // -<q_m, r_mj>: the per-query table (its factor 2 is applied per probe).
        eval::pq_distance_table(*m.pq, Metric::kInnerProduct, query, s.query_table.data());
      }
      int64_t seen = 0;
      for (int64_t p = 0; p < nprobe; ++p) {
        const int32_t list = coarse[qi * coarse_t + p];
        if (list < 0) break;
        const std::vector<uint8_t>& codes = index.lists.codes[list];
        const std::vector<int64_t>& list_ids = index.lists.ids[list];
        const int64_t size = static_cast<int64_t>(list_ids.size());
        seen += size;
        if (size == 0) continue;
        if (m.pq) {
          float dis0 = 0;
          if (precomputed) {
            dis0 = coarse_dist[qi * coarse_t + p];
            const float* term2 =
                index.precomputed.data() + static_cast<int64_t>(list) * msub * ksub;
            for (int64_t w = 0; w < msub * ksub; ++w) {
              s.table[w] = term2[w] + 2 * s.query_table[w];
            }
          } else if (residual) {
            const float* c = m.ivf_centroids.data() + static_cast<int64_t>(list) * d;
            for (int64_t j = 0; j < d; ++j) s.residual[j] = query[j] - c[j];
            eval::pq_distance_table(*m.pq, Metric::kL2, s.residual.data(), s.table.data());
          }
          for (int64_t i = 0; i < size; ++i) {
            insert_top(
                dis0 + eval::pq_table_distance(s.table.data(), msub, ksub, code_of(s, codes, i)),
                list_ids[i], kmax, vals, ids);
          }
        } else if (index.sq) {
          for (int64_t i = 0; i < size; ++i) {
            insert_top(index.sq->distance(index.metric, query, code_of(s, codes, i)), list_ids[i],
                       kmax, vals, ids);
          }
        } else {
          const float* v = reinterpret_cast<const float*>(codes.data());
          for (int64_t i = 0; i < size; ++i) {
            insert_top(metric_distance(index.metric, query, v + i * d, d), list_ids[i], kmax, vals,
                       ids);
          }
        }
      }
      scanned[qi] = seen;
    }
  };
  parallel_blocks(q.count, kQueryBlock, threads, Work{}, make_state, body);
}

}  // namespace

Result<EvalReport> evaluate(const TrainedModels& m, const Dataset& base, const EvalQueries& q_in,
                            const EvalOptions& o) {
  std::vector<int64_t> nprobes;
  IVF_RETURN_IF_ERROR(check_options(m, base, q_in, o, &nprobes));
  EvalQueries q = q_in;
  const int64_t d = m.dim, k = m.params.ivf.num_partitions;
  if (m.params.distance_type == DistanceType::kCosine) {
    for (int64_t i = 0; i < q.count; ++i) {
      float* v = q.x.data() + i * d;
      double norm2 = 0;
      for (int64_t j = 0; j < d; ++j) norm2 += static_cast<double>(v[j]) * v[j];
      if (norm2 > 0) {
        const double inv = 1.0 / std::sqrt(norm2);
        for (int64_t j = 0; j < d; ++j) v[j] = static_cast<float>(v[j] * inv);
      }
    }
  }
  for (float v : q.x) {
    if (!std::isfinite(v)) return Status::InvalidArgument("the queries hold NaN or Inf");
  }
  EvalReport report;
  report.dim = d;
  report.num_partitions = k;
  report.num_queries = q.count;
  report.ks = o.ks;
  report.ground_truth_from_file = !q.neighbors.empty();
  const int64_t kmax = *std::max_element(o.ks.begin(), o.ks.end());

  const Metric metric =
      m.params.distance_type == DistanceType::kDot ? Metric::kInnerProduct : Metric::kL2;
  Index index{m, metric, d, k, {}, std::nullopt, {}};
  if (m.sq) index.sq.emplace(*m.sq, m.params.sq.num_bits, d);
  const auto t_tables = Clock::now();
  precompute_tables(index, o.precomputed_table_max_bytes, o.num_threads);
  const double table_seconds = seconds_since(t_tables);
  std::vector<float> gt_vals;
  std::vector<int64_t> gt_ids;
  logger().info("eval: building the {} index over {} ({} queries)", to_string(m.params.index_type),
                base.path(), q.count);
  IVF_RETURN_IF_ERROR(
      build(base, q, o, report.ground_truth_from_file ? 0 : kmax, index, report, gt_vals, gt_ids));
  report.encode_seconds += table_seconds;
  if (kmax > report.base_rows) {
    return Status::InvalidArgument(
        fmt::format("--k {} is more than the {} vectors of the base", kmax, report.base_rows));
  }
  if (report.ground_truth_from_file) {
    gt_ids.assign(q.neighbors.begin(), q.neighbors.end());
    for (int64_t id : gt_ids) {
      if (id < 0 || id >= base.num_rows()) {
        return Status::InvalidArgument(fmt::format(
            "the ground truth names row {}, beyond the {} rows of the base", id, base.num_rows()));
      }
    }
  }
  const int64_t gt_stride = report.ground_truth_from_file ? q.neighbors_k : kmax;
  partition_stats(index.lists, report);

  const int64_t coarse_t = *std::max_element(nprobes.begin(), nprobes.end());
  std::vector<int32_t> coarse(static_cast<size_t>(q.count * coarse_t));
  std::vector<float> coarse_dist(coarse.size());
  std::vector<int64_t> found(static_cast<size_t>(q.count * kmax)), scanned(q.count);
  for (int64_t nprobe : nprobes) {
    const auto t0 = Clock::now();
    // The coarse search is part of every query's cost, as in FAISS's search().
    nearest_candidates(d, q.x.data(), q.count, nullptr, k, m.ivf_centroids.data(), index.metric,
                       coarse_t, coarse.data(), coarse_dist.data(), o.num_threads);
    search(index, q, coarse, coarse_dist, coarse_t, nprobe, kmax, o.num_threads, found, scanned);
    const double seconds = seconds_since(t0);
    EvalProbe probe;
    probe.nprobe = nprobe;
    probe.queries_per_second = seconds > 0 ? static_cast<double>(q.count) / seconds : 0;
    probe.vectors_scanned =
        static_cast<double>(std::accumulate(scanned.begin(), scanned.end(), int64_t{0})) /
        static_cast<double>(q.count);
    for (int64_t kk : o.ks) {
      int64_t hits = 0;
      for (int64_t qi = 0; qi < q.count; ++qi) {
        const int64_t* truth = gt_ids.data() + qi * gt_stride;
        const int64_t* got = found.data() + qi * kmax;
        for (int64_t a = 0; a < kk; ++a) {
          if (got[a] >= 0 && std::find(truth, truth + kk, got[a]) != truth + kk) ++hits;
        }
      }
      probe.recall.push_back(static_cast<double>(hits) / static_cast<double>(q.count * kk));
    }
    logger().info("eval: nprobe {}: recall@{} {:.4f}, {:.0f} vectors scanned per query", nprobe,
                  o.ks.front(), probe.recall.front(), probe.vectors_scanned);
    report.probes.push_back(std::move(probe));
  }
  return report;
}

}  // namespace ivftrain
