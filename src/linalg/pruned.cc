#include "linalg/pruned.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

#include "linalg/distances.h"
#include "linalg/gemm_tiles.h"
#include "linalg/two_nearest.h"
#include "util/status_macros.h"
#include "util/threads.h"

// LAPACK's symmetric eigensolver (OpenBLAS ships LAPACK; Debian has no LAPACKE header for it
// by default). Fortran calling convention: every argument by address, then the lengths of the
// character arguments.
extern "C" void dsyevr_(const char* jobz, const char* range, const char* uplo, const int* n,
                        double* a, const int* lda, const double* vl, const double* vu,
                        const int* il, const int* iu, const double* abstol, int* m, double* w,
                        double* z, const int* ldz, int* isuppz, double* work, const int* lwork,
                        int* iwork, const int* liwork, int* info, size_t jobz_len, size_t range_len,
                        size_t uplo_len);

namespace ivftrain {
namespace {

using tiles::kInf;

constexpr int64_t kFitRows = 8192;
constexpr int64_t kBlockRows = 512;
constexpr int64_t kRotateBlock = 256;
// Centroids per partial product: up to this many, all of a row's partial scores are in one tile
// and the centroid measured first (without a hint) is the row's smallest partial score of all.
constexpr int64_t kPrunedTile = 4096;
// Rows of a call probed for whether pruning pays.
constexpr int64_t kProbeRows = PrunedSearch::kMinRows / 4;
// The cost of a centroid measured in full (l2_sqr of d values, the centroid read from cache)
// against SGEMM's 2 d flops of one (row, centroid) pair: about 4 times as much per flop.
constexpr double kMeasureCost = 4.0;
// Pruning is kept while it costs less than this share of the plain search.
constexpr double kWorthwhile = 0.85;

// The first p eigenvectors (largest eigenvalues first) of the symmetric d x d matrix `cov`
// (both triangles filled), as the columns of a d x p row-major matrix; empty if LAPACK fails.
std::vector<float> top_eigenvectors(int64_t d, std::vector<double> cov, int64_t p) {
  const int n = static_cast<int>(d), il = static_cast<int>(d - p + 1), iu = n;
  const double unused = 0, abstol = 0;
  int found = 0, info = 0, lwork = -1, liwork = -1, iwork_size = 0;
  double work_size = 0;
  std::vector<double> w(static_cast<size_t>(d)), z(static_cast<size_t>(d * p));
  std::vector<int> isuppz(static_cast<size_t>(2 * p));
  dsyevr_("V", "I", "L", &n, cov.data(), &n, &unused, &unused, &il, &iu, &abstol, &found, w.data(),
          z.data(), &n, isuppz.data(), &work_size, &lwork, &iwork_size, &liwork, &info, 1, 1, 1);
  if (info != 0) return {};
  lwork = static_cast<int>(work_size);
  liwork = iwork_size;
  std::vector<double> work(static_cast<size_t>(std::max(lwork, 1)));
  std::vector<int> iwork(static_cast<size_t>(std::max(liwork, 1)));
  dsyevr_("V", "I", "L", &n, cov.data(), &n, &unused, &unused, &il, &iu, &abstol, &found, w.data(),
          z.data(), &n, isuppz.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1, 1);
  if (info != 0 || found != p) return {};
  // z is column-major, eigenvalues ascending: column c is the (p - c)th largest.
  std::vector<float> axes(static_cast<size_t>(d * p));
  for (int64_t c = 0; c < p; ++c) {
    for (int64_t j = 0; j < d; ++j) axes[j * p + (p - 1 - c)] = static_cast<float>(z[c * d + j]);
  }
  return axes;
}

// The selection over the partial distances: the tiles are those of the rotated rows against the
// rotated centroids, scores ||c'||^2 - 2 y.c' (the row's ||y||^2 is added to the limit instead).
// A row's limit is the largest partial score a centroid may have and still be as near as the
// row's nearest so far: every centroid under it is measured in full, and the smallest score
// over it gives a lower bound on the distance to all the others (the second-nearest's bound).
struct PrunedSelector {
  int64_t d, k;
  const float* x;
  const int64_t* rows;
  const float* centroids;
  const int32_t* hint;  // each row's previous centroid, or null
  // A row that needs more than `cap` centroids measured in full is given up (its partial
  // distances prune too little) and flagged in `abandoned`, for the plain selection.
  int32_t cap;
  uint8_t* abandoned;
  const float* y_norm;
  const float* spread;
  // The margins (see limit()).
  double sigma, rho, kappa, gemm_scale, c_spread_max, c_norm_max;
  int32_t* labels;
  float* best;
  float* second;

  struct State {
    std::vector<float> best, second, limit, pruned_min;
    std::vector<int32_t> label, first, count;
    int64_t begin = 0, measured = 0;
  };
  State make_state() const {
    const auto n = static_cast<size_t>(kBlockRows);
    return State{std::vector<float>(n),  std::vector<float>(n),   std::vector<float>(n),
                 std::vector<float>(n),  std::vector<int32_t>(n), std::vector<int32_t>(n),
                 std::vector<int32_t>(n)};
  }
  void start(State& s, int64_t begin, int64_t end) const {
    const auto n = static_cast<size_t>(end - begin);
    std::fill_n(s.best.begin(), n, kInf);
    std::fill_n(s.second.begin(), n, kInf);
    std::fill_n(s.limit.begin(), n, kInf);
    std::fill_n(s.pruned_min.begin(), n, kInf);
    std::fill_n(s.label.begin(), n, 0);
    std::fill_n(s.count.begin(), n, 0);
    s.begin = begin;
  }

  // A computed partial distance P bounds the full distance e of the same centroid:
  // sqrt(e) >= (sqrt(P - g) - kappa (||x - mean|| + ||c - mean||)) / sigma, where g bounds the
  // SGEMM's rounding of P, kappa that of the rotation and the centring (per unit of spread),
  // sigma the float axes' largest stretch; rho covers l2_sqr's own rounding of e.
  double slack(int64_t i) const { return kappa * (double(spread[i]) + c_spread_max); }
  double gemm_error(int64_t i) const { return gemm_scale * (double(y_norm[i]) + c_norm_max); }
  // The largest partial score whose centroid may have a full distance (as l2_sqr computes it)
  // of at most `dist`.
  float limit(int64_t i, float dist) const {
    const double reach = sigma * std::sqrt(double(dist) * (1 + rho)) + slack(i);
    const double p_max = reach * reach + gemm_error(i);
    return std::nextafter(static_cast<float>(p_max - double(y_norm[i])), kInf);
  }
  // A lower bound on the full distance (as l2_sqr computes it) of every centroid whose partial
  // score is at least `score`.
  float lower_bound(int64_t i, float score) const {
    if (score == kInf) return kInf;
    const double root =
        std::sqrt(std::max(0.0, double(score) + double(y_norm[i]) - gemm_error(i))) - slack(i);
    if (root <= 0) return 0;
    const double lb = root * root / (sigma * sigma) * (1 - rho);
    return std::nextafter(static_cast<float>(lb), 0.0f);
  }

  void measure(State& s, size_t r, const float* xi, int64_t i, int32_t c) const {
    if (++s.count[r] > cap) {
      s.limit[r] = -kInf;  // given up: nothing more is measured
      return;
    }
    const float e = l2_sqr(xi, centroids + int64_t{c} * d, d);
    ++s.measured;
    if (e < s.best[r] || (e == s.best[r] && c < s.label[r])) {
      const bool lower = e < s.best[r];
      s.second[r] = s.best[r];
      s.best[r] = e;
      s.label[r] = c;
      if (lower) s.limit[r] = limit(i, e);
    } else if (e < s.second[r]) {
      s.second[r] = e;
    }
  }

  void select(State& s, int64_t n, const tiles::Tile& tile) const {
    for (int64_t r = 0; r < n; ++r) {
      const auto u = static_cast<size_t>(r);
      const int64_t i = rows[s.begin + r];
      const float* xi = x + i * d;
      const float* sc = tile.dots + r * tile.ld;
      int64_t seed = -1;  // the centroid measured first, as an index into the tile
      if (s.best[u] == kInf) {
        // Nothing measured yet (the first tile): the row's previous centroid when known (most
        // often still its nearest), else the tile's smallest partial score, measured first to
        // set the limit that prunes the rest.
        int64_t first = -1;
        if (hint != nullptr) {
          first = hint[i];
        } else {
          float v_min = kInf;
          for (int64_t j = 0; j < tile.size; ++j) {
            const float v = sc[j] + tile.bias[j];
            if (v < v_min) v_min = v, first = tile.base + j;
          }
        }
        if (first >= 0) measure(s, u, xi, i, static_cast<int32_t>(first));
        s.first[u] = static_cast<int32_t>(first);
      }
      seed = s.first[u] - tile.base;
      float pruned_min = s.pruned_min[u];
      for (int64_t j = 0; j < tile.size; ++j) {
        const float v = sc[j] + tile.bias[j];
        if (j == seed) continue;
        if (v <= s.limit[u]) {
          measure(s, u, xi, i, static_cast<int32_t>(tile.base + j));
        } else {
          pruned_min = std::min(pruned_min, v);
        }
      }
      s.pruned_min[u] = pruned_min;
    }
  }

  double finish(State& s, int64_t begin, int64_t end, const float*) const {
    for (int64_t r = 0; r < end - begin; ++r) {
      const auto u = static_cast<size_t>(r);
      const int64_t i = rows[begin + r];
      abandoned[i] = s.count[u] > cap ? 1 : 0;
      if (abandoned[i]) continue;
      labels[i] = s.label[u];
      best[i] = s.best[u];
      second[i] = std::min(s.second[u], lower_bound(i, s.pruned_min[u]));
    }
    const auto measured = static_cast<double>(s.measured);
    s.measured = 0;
    return measured;
  }
};

}  // namespace

int64_t prune_dims(int64_t n, int64_t d, int64_t k) {
  if (const char* v = std::getenv("IVFTRAIN_PRUNE_DIMS"); v != nullptr && *v != '\0') {
    const long long p = std::strtoll(v, nullptr, 10);
    return p > 0 && p < d ? p : 0;
  }
  // Pruning pays when a full product is long (d) and wide (k), and the rows are many enough
  // for the fit (a PCA of up to kFitRows of them) and the rotation to be repaid.
  // A third of the dimensions, in multiples of 32: on workload 2's 768-dimension mixture (whose
  // variance is spread evenly), 256 left about 18 centroids of 1,024 to measure per row after
  // two iterations, against 56 at 192 and 3.5 at 384 (for twice the partial product).
  if (d < 256 || k < 256 || n < 4 * kFitRows) return 0;
  return (d / 3 + 31) / 32 * 32;
}

PrunedSearch::PrunedSearch(int64_t n, int64_t d, const float* x, const float* x_norms, int64_t p)
    : d_(d), p_(p), x_(x), x_norms_(x_norms) {
  IVF_DCHECK(p >= 1 && p < d && n >= 1, "1 <= p < d rotated dimensions of at least one row");
  // The fit: the mean and covariance of rows taken at a fixed stride.
  const int64_t m = std::min(n, kFitRows);
  std::vector<double> mean(static_cast<size_t>(d), 0.0);
  std::vector<float> sample(static_cast<size_t>(m * d));
  for (int64_t s = 0; s < m; ++s) {
    const float* row = x + (s * n / m) * d;
    std::copy(row, row + d, sample.begin() + s * d);
    for (int64_t j = 0; j < d; ++j) mean[j] += row[j];
  }
  mean_.resize(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) mean_[j] = static_cast<float>(mean[j] / double(m));
  for (int64_t s = 0; s < m; ++s) {
    for (int64_t j = 0; j < d; ++j) sample[s * d + j] -= mean_[j];
  }
  std::vector<float> gram(static_cast<size_t>(d * d), 0.0f);
  {
    const SingleThreadedBlas blas;
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(d), static_cast<int>(m),
                1.0f, sample.data(), static_cast<int>(d), 0.0f, gram.data(), static_cast<int>(d));
  }
  std::vector<double> cov(static_cast<size_t>(d * d));
  for (int64_t a = 0; a < d; ++a) {
    for (int64_t b = a; b < d; ++b) cov[a * d + b] = cov[b * d + a] = gram[a * d + b];
  }
  axes_ = top_eigenvectors(d, std::move(cov), p);
  if (axes_.empty()) {
    p_ = 0;  // LAPACK failed: the plain selection
    return;
  }
  y_.resize(static_cast<size_t>(n * p));
  y_norm_.resize(static_cast<size_t>(n));
  spread_.resize(static_cast<size_t>(n));
  rotated_.assign(static_cast<size_t>(n), 0);
  abandoned_.assign(static_cast<size_t>(n), 0);
}

void PrunedSearch::project(int64_t count, float* rows, float* spread, float* out) const {
  const int64_t d = d_, p = p_;
  for (int64_t r = 0; r < count; ++r) {
    float* row = rows + r * d;
    for (int64_t j = 0; j < d; ++j) row[j] -= mean_[j];
    spread[r] = std::sqrt(norm_sqr(row, d));
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(count),
              static_cast<int>(p), static_cast<int>(d), 1.0f, rows, static_cast<int>(d),
              axes_.data(), static_cast<int>(p), 0.0f, out, static_cast<int>(p));
}

void PrunedSearch::rotate(int64_t count, const int64_t* rows, int num_threads) {
  std::vector<int64_t> todo;
  for (int64_t r = 0; r < count; ++r) {
    if (!rotated_[rows[r]]) todo.push_back(rows[r]);
  }
  const int64_t d = d_, p = p_;
  auto make_state = [&] {
    return std::make_pair(std::vector<float>(static_cast<size_t>(kRotateBlock * d)),
                          std::vector<float>(static_cast<size_t>(kRotateBlock * p)));
  };
  const SingleThreadedBlas blas;
  parallel_blocks(static_cast<int64_t>(todo.size()), kRotateBlock, num_threads,
                  Work{static_cast<int64_t>(todo.size()) * 2 * d * p, tiles::kMinFlopsPerThread},
                  make_state, [&](auto& s, int64_t, int64_t begin, int64_t end) {
                    const int64_t b = end - begin;
                    gather_rows(d, x_, todo.data() + begin, b, s.first.data());
                    float spread[kRotateBlock];
                    project(b, s.first.data(), spread, s.second.data());
                    for (int64_t r = 0; r < b; ++r) {
                      const int64_t i = todo[begin + r];
                      spread_[i] = spread[r];
                      std::copy_n(s.second.data() + r * p, p, y_.data() + i * p);
                      y_norm_[i] = norm_sqr(y_.data() + i * p, p);
                      rotated_[i] = 1;
                    }
                    return 0.0;
                  });
}

void PrunedSearch::two_nearest(int64_t count, const int64_t* rows, int64_t k,
                               const float* centroids, const int32_t* hint, int32_t* labels,
                               float* best, float* second, int num_threads) {
  measured_ = 0;
  pruned_rows_ = 0;
  if (count <= 0 || k <= 0) return;
  auto plain = [&](int64_t c, const int64_t* r) {
    ivftrain::two_nearest(d_, x_, x_norms_, c, r, k, centroids, labels, best, second, num_threads);
  };
  if (p_ == 0 || count < kMinRows) return plain(count, rows);
  const int64_t d = d_, p = p_;
  // The centroids rotated as the rows, and their largest spread and rotated norm.
  std::vector<float> centred(centroids, centroids + k * d), c_spread(static_cast<size_t>(k));
  std::vector<float> rotated(static_cast<size_t>(k * p));
  {
    const SingleThreadedBlas blas;
    project(k, centred.data(), c_spread.data(), rotated.data());
  }
  const double c_spread_max = *std::max_element(c_spread.begin(), c_spread.end());
  std::vector<float> c_norms(static_cast<size_t>(k));
  row_norms_sqr(k, p, rotated.data(), c_norms.data());
  const double u = 0x1p-24, dp = static_cast<double>(p), dd = static_cast<double>(d);
  // A row is given up once measuring costs as much as the d - p dimensions left out.
  const auto cap = static_cast<int32_t>(std::max(4.0, double(k) * (dd - dp) / (dd * kMeasureCost)));
  const PrunedSelector selector{
      d, k, x_, nullptr, centroids, hint, cap, abandoned_.data(), y_norm_.data(), spread_.data(),
      // sigma: the float axes' columns, orthonormal in double, stretch by at most u sqrt(p).
      1 + 2 * u * std::sqrt(dp),
      // rho: l2_sqr's rounding, (d + 2) u relative on each side.
      4 * (dd + 2) * u,
      // kappa: the rotation's SGEMM of depth d and the centring, per coordinate (d + 2) u
      // times the spread, over p coordinates.
      2 * (dd + 2) * u * std::sqrt(dp),
      // the partial scores' SGEMM of depth p plus the additions, as nearest_is_certain's.
      4 * (dp + 4) * u, c_spread_max, *std::max_element(c_norms.begin(), c_norms.end()), labels,
      best, second};
  // Rows searched with pruning; those given up are searched again plainly. Returns the cost,
  // in plain searches of one row, of what the pruned search did.
  auto pruned = [&](int64_t c, const int64_t* r) {
    rotate(c, r, num_threads);
    PrunedSelector sel = selector;
    sel.rows = r;
    const auto m = static_cast<int64_t>(
        tiles::run_tiles(Metric::kL2, tiles::RowSource{p, y_.data(), r}, c, kBlockRows, k,
                         rotated.data(), sel, num_threads, kPrunedTile));
    std::vector<int64_t> again;
    for (int64_t t = 0; t < c; ++t) {
      if (abandoned_[r[t]]) again.push_back(r[t]);
    }
    plain(static_cast<int64_t>(again.size()), again.data());
    measured_ += m;
    pruned_rows_ += c - static_cast<int64_t>(again.size());
    return double(c) * double(p) / double(d) + double(m) * kMeasureCost / double(k) +
           static_cast<double>(again.size());
  };
  // A probe of rows spread over the call decides whether the others are searched with pruning
  // (it pays when the partial products, the centroids measured in full and the rows given up
  // cost less than the plain search) or plainly.
  std::vector<int64_t> probe, rest;
  const int64_t step = count / kProbeRows;
  for (int64_t r = 0; r < count; ++r) {
    (r % step == 0 && r / step < kProbeRows ? probe : rest).push_back(rows[r]);
  }
  const double probe_cost = pruned(static_cast<int64_t>(probe.size()), probe.data());
  if (probe_cost < kWorthwhile * static_cast<double>(probe.size())) {
    pruned(static_cast<int64_t>(rest.size()), rest.data());
  } else {
    plain(static_cast<int64_t>(rest.size()), rest.data());
  }
}

}  // namespace ivftrain
