// Highway compiles this file once per target (foreach_target.h re-includes it); HWY_ONCE marks
// the part compiled once: the dispatch tables and the entry points of kernels.h.

// The SVE targets are disabled for the whole project (CMakeLists.txt): scalable vectors cannot
// be held in arrays or structs, as the register blocking below does; NEON serves on aarch64.
#ifndef HWY_DISABLED_TARGETS
#error "HWY_DISABLED_TARGETS must come from the build (CMakeLists.txt)"
#endif

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "linalg/kernels.cc"
#include "linalg/kernels.h"

#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

HWY_BEFORE_NAMESPACE();
namespace ivftrain::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::ScalableTag<float>;
using DI = hn::RebindToSigned<DF>;
using VF = hn::Vec<DF>;
using VI = hn::Vec<DI>;

constexpr float kInf = std::numeric_limits<float>::infinity();

// Accumulator vectors of the direct kernel kept in registers at once: half the register file,
// leaving room for the broadcast row value, the loaded centroid vector and the running argmin.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL || HWY_TARGET == HWY_NEON
constexpr int kMaxVectors = 16;  // 32 registers
#else
constexpr int kMaxVectors = 8;  // 16 registers (AVX2, SSE4, SSSE3), or the scalar target
#endif

// The smallest lane of v, in every lane. Highway 1.0's emulated target (emu128, which clang builds
// compile where GCC builds compile the scalar one) starts its MinOfLanes from the largest finite
// float, not +inf: lanes that all hold +inf (a row whose scores were all NaN) would reduce to that
// float, which no lane equals, and the row's label would be INT32_MAX.
HWY_INLINE VF MinLane(VF v) {
#if HWY_TARGET == HWY_EMU128
  const DF df;
  HWY_ALIGN float lanes[hn::MaxLanes(df)];
  hn::Store(v, df, lanes);
  float m = kInf;
  for (const float x : lanes) m = x < m ? x : m;
  return hn::Set(df, m);
#else
  return hn::MinOfLanes(DF(), v);
#endif
}

// `a < b ? a : b` and `a > b ? a : b` per lane, NaN and signed zeros included (a NaN a gives b).
// AVX2 and AVX-512's min and max are exactly these: one instruction instead of a compare and a
// blend (two instructions on many Intel cores).
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
HWY_INLINE VF Select(VF a, VF b) { return hn::Min(a, b); }
HWY_INLINE VF SelectGreater(VF a, VF b) { return hn::Max(a, b); }
#else
HWY_INLINE VF Select(VF a, VF b) { return hn::IfThenElse(hn::Lt(a, b), a, b); }
HWY_INLINE VF SelectGreater(VF a, VF b) { return hn::IfThenElse(hn::Gt(a, b), a, b); }
#endif

// Per lane: the smallest score seen and the first index where it was seen. Strict < against
// the running value, so NaN never enters and earlier indices win ties.
struct ArgMin {
  VF value;
  VI index;

  // Written out: an implicit constructor would not be compiled for the target.
  HWY_INLINE ArgMin() : value(hn::Set(DF(), kInf)), index(hn::Zero(DI())) {}

  HWY_INLINE void Update(VF v, VI idx) {
    const auto lt = hn::Lt(v, value);
    value = Select(v, value);
    index = hn::IfThenElse(hn::RebindMask(DI(), lt), idx, index);
  }
  // The smallest value over the lanes, and the smallest index among the lanes holding it.
  HWY_INLINE void Reduce(float* best, int32_t* label) const {
    const VF m = MinLane(value);
    const auto tied = hn::RebindMask(DI(), hn::Eq(value, m));
    const VI idx = hn::MinOfLanes(DI(), hn::IfThenElse(tied, index, hn::Set(DI(), INT32_MAX)));
    *best = hn::GetLane(m);
    *label = hn::GetLane(idx);
  }
};

// The smallest value per lane with its first index, and the second smallest per lane (the
// smallest again when a lane saw it twice). Values never hold NaN: only a value that compares
// below another enters.
struct TwoMin {
  VF m1, m2;
  VI i1;

  HWY_INLINE TwoMin() : m1(hn::Set(DF(), kInf)), m2(hn::Set(DF(), kInf)), i1(hn::Zero(DI())) {}

  // The second smallest becomes the smaller of itself and the larger of v and m1, written so
  // that a NaN v changes nothing: SelectGreater(m1, v) is then v, and Select(NaN, m2) is m2.
  // Min/max form: five instructions at AVX2 where the blends took eight.
  HWY_INLINE void Update(VF v, VI idx) {
    const auto lt1 = hn::Lt(v, m1);
    m2 = Select(SelectGreater(m1, v), m2);
    i1 = hn::IfThenElse(hn::RebindMask(DI(), lt1), idx, i1);
    m1 = Select(v, m1);
  }
  // Lane by lane, the pair of the values both chains saw: the same as one chain over them.
  HWY_INLINE void Merge(const TwoMin& o) {
    const auto take =
        hn::Or(hn::Lt(o.m1, m1), hn::And(hn::Eq(o.m1, m1), hn::RebindMask(DF(), hn::Lt(o.i1, i1))));
    m2 = hn::Min(hn::Min(m2, o.m2), hn::IfThenElse(take, m1, o.m1));
    i1 = hn::IfThenElse(hn::RebindMask(DI(), take), o.i1, i1);
    m1 = hn::IfThenElse(take, o.m1, m1);
  }
  // Lanes to scalars: the smallest, its first index, and the second smallest (the smallest
  // again when two lanes hold it).
  HWY_INLINE void Reduce(float* best, int32_t* label, float* second) const {
    const DF df;
    const DI di;
    const VF b = MinLane(m1);
    const auto tied = hn::Eq(m1, b);
    *best = hn::GetLane(b);
    *label = hn::GetLane(
        hn::MinOfLanes(di, hn::IfThenElse(hn::RebindMask(di, tied), i1, hn::Set(di, INT32_MAX))));
    const float sv = hn::GetLane(MinLane(m2));
    const float other = hn::CountTrue(df, tied) >= 2
                            ? *best
                            : hn::GetLane(MinLane(hn::IfThenElse(tied, hn::Set(df, kInf), m1)));
    *second = other < sv ? other : sv;
  }
};

// Keeps v in a register on the x86 targets with 16 vector registers: GCC otherwise folds a
// centroid vector's load into each row's FMA, loading it R times, and the direct kernel waited on
// the load ports (llvm-mca, Ice Lake, AVX2: 50 cycles a pass, 44 with the vector loaded once).
// Not at AVX-512, where the extra register made GCC spill an accumulator instead (no gain).
HWY_INLINE void InRegister(VF& v) {
#if HWY_ARCH_X86 &&                                                                  \
    (HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3) && \
    (defined(__GNUC__) || defined(__clang__))
  asm("" : "+x"(v.raw));
#else
  (void)v;
#endif
}

// One pass of the direct kernel for R rows (x: alpha times the rows, d floats each) over NV vectors
// of centroids starting at column `col`: each centroid vector loaded once serves the R rows. Each
// row's scores and selection are computed exactly as they would be alone.
template <int R, int NV, class Sel>
HWY_INLINE void DirectPass(const float* HWY_RESTRICT x, int64_t d, const float* HWY_RESTRICT ct,
                           int64_t kp, const float* HWY_RESTRICT init, int64_t col, Sel* am) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  VF acc[R][NV];
  for (int v = 0; v < NV; ++v) {
    const VF start = hn::LoadU(df, init + col + v * n);
    for (int r = 0; r < R; ++r) acc[r][v] = start;
  }
  for (int64_t j = 0; j < d; ++j) {
    VF xj[R];
    for (int r = 0; r < R; ++r) xj[r] = hn::Set(df, x[r * d + j]);
    const float* HWY_RESTRICT row = ct + j * kp + col;
    for (int v = 0; v < NV; ++v) {
      VF c = hn::LoadU(df, row + v * n);
      InRegister(c);
      for (int r = 0; r < R; ++r) acc[r][v] = hn::MulAdd(xj[r], c, acc[r][v]);
    }
  }
  const VI lanes = hn::Iota(DI(), 0);
  for (int v = 0; v < NV; ++v) {
    const VI idx = hn::Add(lanes, hn::Set(DI(), static_cast<int32_t>(col + v * n)));
    for (int r = 0; r < R; ++r) am[r].Update(acc[r][v], idx);
  }
}

// Rows two at a time (kPassVectors vectors of centroids per pass, the accumulators of both rows in
// registers), the last odd row alone: full passes, then one of kRest vectors. Sharing the loads
// made PQ training (W3) about 10% faster at AVX2; the scalar target, whose registers the two
// rows overflow, keeps one row at a time.
#if HWY_TARGET == HWY_SCALAR || HWY_TARGET == HWY_EMU128
constexpr int kRowsAtOnce = 1;
#else
constexpr int kRowsAtOnce = 2;
#endif
constexpr int kPassVectors = kMaxVectors / kRowsAtOnce;

// Sel is ArgMin, or TwoMin when `second` is wanted. x[r] is row r's d floats.
template <int R, int kRest, class Sel>
HWY_INLINE void DirectRows(const float* const* x, int64_t d, const float* HWY_RESTRICT ct,
                           int64_t kp, const float* HWY_RESTRICT init, float alpha,
                           float* HWY_RESTRICT best, int32_t* HWY_RESTRICT labels,
                           float* HWY_RESTRICT second) {
  const int64_t n = static_cast<int64_t>(hn::Lanes(DF()));
  const int64_t full = kp / n / kPassVectors;
  // alpha x once per row, not once per pass: the scalar products ran on the FMA ports (a fifth
  // of their work at AVX2), and the passes now broadcast straight from memory.
  float xs[R * kDirectMaxD];
  for (int r = 0; r < R; ++r) {
    for (int64_t j = 0; j < d; ++j) xs[r * d + j] = alpha * x[r][j];
  }
  Sel am[R];
  for (int64_t p = 0; p < full; ++p) {
    DirectPass<R, kPassVectors>(xs, d, ct, kp, init, p * kPassVectors * n, am);
  }
  if constexpr (kRest > 0) DirectPass<R, kRest>(xs, d, ct, kp, init, full * kPassVectors * n, am);
  for (int r = 0; r < R; ++r) {
    if constexpr (std::is_same_v<Sel, TwoMin>) {
      am[r].Reduce(&best[r], &labels[r], &second[r]);
    } else {
      am[r].Reduce(&best[r], &labels[r]);
    }
  }
}

// Rows ids[r] of x (r when ids is null), results at r.
template <int kRest, class Sel>
void DirectRowsT(int64_t rows, int64_t d, const float* HWY_RESTRICT x, const int64_t* ids,
                 int64_t kp, const float* HWY_RESTRICT ct, const float* HWY_RESTRICT init,
                 float alpha, float* HWY_RESTRICT best, int32_t* HWY_RESTRICT labels,
                 float* HWY_RESTRICT second) {
  constexpr bool kSecond = std::is_same_v<Sel, TwoMin>;  // else second is null
  const auto row = [&](int64_t r) { return x + (ids ? ids[r] : r) * d; };
  int64_t i = 0;
  for (; i + kRowsAtOnce <= rows; i += kRowsAtOnce) {
    const float* xr[kRowsAtOnce];
    for (int r = 0; r < kRowsAtOnce; ++r) xr[r] = row(i + r);
    DirectRows<kRowsAtOnce, kRest, Sel>(xr, d, ct, kp, init, alpha, best + i, labels + i,
                                        kSecond ? second + i : nullptr);
  }
  if (i < rows) {
    const float* xr[1] = {row(i)};
    DirectRows<1, kRest, Sel>(xr, d, ct, kp, init, alpha, best + i, labels + i,
                              kSecond ? second + i : nullptr);
  }
}

using DirectFn = void (*)(int64_t, int64_t, const float*, const int64_t*, int64_t, const float*,
                          const float*, float, float*, int32_t*, float*);

template <class Sel, int... R>
constexpr auto MakeDirectTable(std::integer_sequence<int, R...>) {
  return std::array<DirectFn, sizeof...(R)>{&DirectRowsT<R, Sel>...};
}

template <class Sel>
void DirectSelect(int64_t rows, int64_t d, const float* x, const int64_t* ids, int64_t kp,
                  const float* ct, const float* init, float alpha, float* best, int32_t* labels,
                  float* second) {
  static constexpr auto kTable =
      MakeDirectTable<Sel>(std::make_integer_sequence<int, kPassVectors>{});
  const int64_t n = static_cast<int64_t>(hn::Lanes(DF()));
  kTable[static_cast<size_t>(kp / n % kPassVectors)](rows, d, x, ids, kp, ct, init, alpha, best,
                                                     labels, second);
}

void DirectArgmin(int64_t rows, int64_t d, const float* x, int64_t kp, const float* ct,
                  const float* init, float alpha, float* best, int32_t* labels) {
  DirectSelect<ArgMin>(rows, d, x, nullptr, kp, ct, init, alpha, best, labels, nullptr);
}

void DirectTwoMin(int64_t rows, int64_t d, const float* x, const int64_t* ids, int64_t kp,
                  const float* ct, const float* init, float alpha, float* best, int32_t* labels,
                  float* second) {
  DirectSelect<TwoMin>(rows, d, x, ids, kp, ct, init, alpha, best, labels, second);
}

// Four rows at a time: each score is a chain of d dependent multiply-adds, and four chains
// side by side keep the FMA units busy where one waited on each result.
void DirectScores(int64_t rows, int64_t d, const float* HWY_RESTRICT x,
                  const int32_t* HWY_RESTRICT columns, const float* HWY_RESTRICT c,
                  const float* HWY_RESTRICT init, float alpha, float* HWY_RESTRICT out) {
  constexpr int64_t kChains = 4;
  const auto step = [alpha](float xv, float cv, float s) {
    const float a = alpha * xv;
#if HWY_NATIVE_FMA
    return std::fma(a, cv, s);
#else
    return a * cv + s;  // the build never fuses: the product rounded first, as the kernel does
#endif
  };
  int64_t i = 0;
  for (; i + kChains <= rows; i += kChains) {
    const float* HWY_RESTRICT ci[kChains];
    float s[kChains];
    for (int64_t q = 0; q < kChains; ++q) {
      ci[q] = c + int64_t{columns[i + q]} * d;
      s[q] = init[columns[i + q]];
    }
    for (int64_t j = 0; j < d; ++j) {
      for (int64_t q = 0; q < kChains; ++q) s[q] = step(x[(i + q) * d + j], ci[q][j], s[q]);
    }
    for (int64_t q = 0; q < kChains; ++q) out[i + q] = s[q];
  }
  for (; i < rows; ++i) {
    const float* HWY_RESTRICT ci = c + int64_t{columns[i]} * d;
    float s = init[columns[i]];
    for (int64_t j = 0; j < d; ++j) s = step(x[i * d + j], ci[j], s);
    out[i] = s;
  }
}

void TileArgmin(int64_t rows, const float* dots, int64_t ld, const float* bias, int64_t size,
                int32_t base, float* best, int32_t* labels) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const VI lanes = hn::Iota(DI(), 0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* HWY_RESTRICT row = dots + r * ld;
    // Two independent chains (even and odd vectors) hide the compare-select latency; their
    // results merge exactly as one chain's would (smallest value, then smallest index).
    ArgMin a, b;
    int64_t j = 0;
    for (; j + 2 * n <= size; j += 2 * n) {
      const VI idx = hn::Add(lanes, hn::Set(DI(), static_cast<int32_t>(j)));
      a.Update(hn::Add(hn::LoadU(df, row + j), hn::LoadU(df, bias + j)), idx);
      b.Update(hn::Add(hn::LoadU(df, row + j + n), hn::LoadU(df, bias + j + n)),
               hn::Add(idx, hn::Set(DI(), static_cast<int32_t>(n))));
    }
    for (; j + n <= size; j += n) {
      a.Update(hn::Add(hn::LoadU(df, row + j), hn::LoadU(df, bias + j)),
               hn::Add(lanes, hn::Set(DI(), static_cast<int32_t>(j))));
    }
    float bv, bv2;
    int32_t bi, bi2;
    a.Reduce(&bv, &bi);
    b.Reduce(&bv2, &bi2);
    if (bv2 < bv || (bv2 == bv && bi2 < bi)) {
      bv = bv2;
      bi = bi2;
    }
    for (; j < size; ++j) {
      const float v = row[j] + bias[j];
      if (v < bv) {
        bv = v;
        bi = static_cast<int32_t>(j);
      }
    }
    if (bv < best[r]) {
      best[r] = bv;
      labels[r] = base + bi;
    }
  }
}

void TileTwoMin(int64_t rows, const float* dots, int64_t ld, const float* bias, int64_t size,
                int32_t base, float* best, int32_t* labels, float* second) {
  const DF df;
  const DI di;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  const VI lanes = hn::Iota(di, 0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* HWY_RESTRICT row = dots + r * ld;
    // Two independent chains (even and odd vectors) hide the compare-select latency, as in
    // TileArgmin.
    TwoMin even, odd;
    int64_t j = 0;
    for (; j + 2 * n <= size; j += 2 * n) {
      const VI idx = hn::Add(lanes, hn::Set(di, static_cast<int32_t>(j)));
      even.Update(hn::Add(hn::LoadU(df, row + j), hn::LoadU(df, bias + j)), idx);
      odd.Update(hn::Add(hn::LoadU(df, row + j + n), hn::LoadU(df, bias + j + n)),
                 hn::Add(idx, hn::Set(di, static_cast<int32_t>(n))));
    }
    for (; j + n <= size; j += n) {
      even.Update(hn::Add(hn::LoadU(df, row + j), hn::LoadU(df, bias + j)),
                  hn::Add(lanes, hn::Set(di, static_cast<int32_t>(j))));
    }
    even.Merge(odd);
    float bv, sv;
    int32_t bi;
    even.Reduce(&bv, &bi, &sv);
    for (; j < size; ++j) {
      const float v = row[j] + bias[j];
      if (v < bv) {
        sv = bv;
        bv = v;
        bi = static_cast<int32_t>(j);
      } else if (v < sv) {
        sv = v;
      }
    }
    // Into the row's running pair: earlier tiles hold smaller indices, so ties keep them.
    if (bv < best[r]) {
      second[r] = sv < best[r] ? sv : best[r];
      best[r] = bv;
      labels[r] = base + bi;
    } else if (bv < second[r]) {
      second[r] = bv;
    }
  }
}

void TileTopT(int64_t rows, const float* dots, int64_t ld, const float* bias, int64_t size,
              int32_t base, int64_t t, float* vals, int32_t* idx) {
  const DF df;
  const int64_t n = static_cast<int64_t>(hn::Lanes(df));
  HWY_ALIGN float lane_values[hn::MaxLanes(df)];
  for (int64_t r = 0; r < rows; ++r) {
    const float* HWY_RESTRICT row = dots + r * ld;
    float* rv = vals + r * t;
    int32_t* ri = idx + r * t;
    int64_t j = 0;
    // Most scores do not beat the t-th: compare a vector at a time, insert only the lanes that
    // might (insert_sorted checks each against the t-th as it stands then).
    for (; j + n <= size; j += n) {
      const VF v = hn::Add(hn::LoadU(df, row + j), hn::LoadU(df, bias + j));
      if (hn::AllFalse(df, hn::Lt(v, hn::Set(df, rv[t - 1])))) continue;
      hn::Store(v, df, lane_values);
      for (int64_t q = 0; q < n; ++q) {
        insert_sorted(lane_values[q], base + static_cast<int32_t>(j + q), t, rv, ri);
      }
    }
    for (; j < size; ++j)
      insert_sorted(row[j] + bias[j], base + static_cast<int32_t>(j), t, rv, ri);
  }
}

// With `norm`, each row's |x|^2 as well, summed in row_norm2's order (kmeans/update.h: element e
// into running sum e mod 8, exact squares, then ((0+1)+(2+3))+((4+5)+(6+7))), rounded to the
// norm grid with norm_magic, and added to *norm: the same bits as the scalar function, from the
// values this loop has loaded anyway (a second pass over the rows cost 16 ms of W1's update).
void AddRows(int64_t d, const float* x, const int64_t* rows, int64_t count, double magic,
             double* sum, double norm_magic, double* norm) {
  const hn::ScalableTag<double> dd;
  const hn::Rebind<float, decltype(dd)> df;  // as many floats as doubles in a vector
  using VD = hn::Vec<decltype(dd)>;
  constexpr int64_t kN = static_cast<int64_t>(hn::MaxLanes(dd));
  static_assert(8 % kN == 0, "row_norm2's eight running sums span whole vectors");
  constexpr int64_t kV = 8 / kN;  // vectors per eight elements
  const auto vmagic = hn::Set(dd, magic);
  for (int64_t r = 0; r < count; ++r) {
    const float* HWY_RESTRICT row = x + rows[r] * d;
    VD acc[kV];
    for (int64_t b = 0; b < kV; ++b) acc[b] = hn::Zero(dd);
    int64_t j = 0;
    for (; j + 8 <= d; j += 8) {
      for (int64_t b = 0; b < kV; ++b) {
        const auto v = hn::PromoteTo(dd, hn::LoadU(df, row + j + b * kN));
        const auto q = hn::Sub(hn::Add(v, vmagic), vmagic);  // v rounded to the grid
        hn::StoreU(hn::Add(hn::LoadU(dd, sum + j + b * kN), q), dd, sum + j + b * kN);
        if (norm) acc[b] = hn::MulAdd(v, v, acc[b]);  // v^2 is exact: fused or not, the same
      }
    }
    HWY_ALIGN double a[8];
    for (int64_t b = 0; b < kV; ++b) hn::Store(acc[b], dd, a + b * kN);
    for (int64_t l = 0; j + l < d; ++l) {
      const double v = row[j + l];
      sum[j + l] += (v + magic) - magic;
      a[l] += v * v;
    }
    if (norm) {
      const double q = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
      *norm += (q + norm_magic) - norm_magic;
    }
  }
}

// l2_sqr (distances.cc) of row x and each of the k rows of c, bit for bit at every level: 16
// lane sums (lane l adds the squares of elements l, l + 16, ...: each square rounded, then
// added; the build never fuses them), the lanes added by reduce_lanes' fixed tree, then the
// tail in index order. Four centroids at a time, so four independent chains of adds hide
// their latency (one distance at a time waits on the add of each 16 elements).
void L2SqrMany(const float* x, const float* c, int64_t k, int64_t d, float* out) {
  const DF df;
  constexpr int64_t kN = static_cast<int64_t>(hn::MaxLanes(DF()));
  static_assert(16 % kN == 0, "16 lane sums span whole vectors");
  constexpr int64_t kV = 16 / kN;  // vectors per 16 lane sums
  constexpr int64_t kGroup = 4;
  const int64_t body = d / 16 * 16;
  HWY_ALIGN float lanes[16];
  for (int64_t i = 0; i < k; i += kGroup) {
    const float* ci[kGroup];
    for (int64_t q = 0; q < kGroup; ++q) ci[q] = c + std::min(i + q, k - 1) * d;  // past k: again
    VF acc[kGroup][kV];
    for (int64_t q = 0; q < kGroup; ++q) {
      for (int64_t v = 0; v < kV; ++v) acc[q][v] = hn::Zero(df);
    }
    for (int64_t j = 0; j < body; j += 16) {
      for (int64_t v = 0; v < kV; ++v) {
        const VF xv = hn::LoadU(df, x + j + v * kN);
        for (int64_t q = 0; q < kGroup; ++q) {
          const VF t = hn::Sub(xv, hn::LoadU(df, ci[q] + j + v * kN));
          acc[q][v] = hn::Add(acc[q][v], hn::Mul(t, t));
        }
      }
    }
    for (int64_t q = 0; q < kGroup && i + q < k; ++q) {
      for (int64_t v = 0; v < kV; ++v) hn::Store(acc[q][v], df, lanes + v * kN);
      float s8[8], s4[4];
      for (int l = 0; l < 8; ++l) s8[l] = lanes[l] + lanes[l + 8];
      for (int l = 0; l < 4; ++l) s4[l] = s8[l] + s8[l + 4];
      float s = (s4[0] + s4[2]) + (s4[1] + s4[3]);
      for (int64_t j = body; j < d; ++j) {
        const float t = x[j] - ci[q][j];
        s += t * t;
      }
      out[i + q] = s;
    }
  }
}

bool UsesFma() { return HWY_NATIVE_FMA != 0; }
int64_t FloatLanes() { return static_cast<int64_t>(hn::Lanes(DF())); }

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace ivftrain::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace ivftrain::kernels {

HWY_EXPORT(DirectArgmin);
HWY_EXPORT(DirectTwoMin);
HWY_EXPORT(DirectScores);
HWY_EXPORT(TileArgmin);
HWY_EXPORT(TileTwoMin);
HWY_EXPORT(TileTopT);
HWY_EXPORT(AddRows);
HWY_EXPORT(L2SqrMany);
HWY_EXPORT(UsesFma);
HWY_EXPORT(FloatLanes);

void direct_argmin(int64_t rows, int64_t d, const float* x, int64_t kp, const float* ct,
                   const float* init, float alpha, float* best, int32_t* labels) {
  HWY_DYNAMIC_DISPATCH(DirectArgmin)(rows, d, x, kp, ct, init, alpha, best, labels);
}
void direct_two_min(int64_t rows, int64_t d, const float* x, const int64_t* ids, int64_t kp,
                    const float* ct, const float* init, float alpha, float* best, int32_t* labels,
                    float* second) {
  HWY_DYNAMIC_DISPATCH(DirectTwoMin)(rows, d, x, ids, kp, ct, init, alpha, best, labels, second);
}
void direct_scores(int64_t rows, int64_t d, const float* x, const int32_t* columns, const float* c,
                   const float* init, float alpha, float* out) {
  HWY_DYNAMIC_DISPATCH(DirectScores)(rows, d, x, columns, c, init, alpha, out);
}
void tile_argmin(int64_t rows, const float* dots, int64_t ld, const float* bias, int64_t size,
                 int32_t base, float* best, int32_t* labels) {
  HWY_DYNAMIC_DISPATCH(TileArgmin)(rows, dots, ld, bias, size, base, best, labels);
}
void tile_two_min(int64_t rows, const float* dots, int64_t ld, const float* bias, int64_t size,
                  int32_t base, float* best, int32_t* labels, float* second) {
  HWY_DYNAMIC_DISPATCH(TileTwoMin)(rows, dots, ld, bias, size, base, best, labels, second);
}
void tile_top_t(int64_t rows, const float* dots, int64_t ld, const float* bias, int64_t size,
                int32_t base, int64_t t, float* vals, int32_t* idx) {
  HWY_DYNAMIC_DISPATCH(TileTopT)(rows, dots, ld, bias, size, base, t, vals, idx);
}
void add_rows(int64_t d, const float* x, const int64_t* rows, int64_t count, double magic,
              double* sum, double norm_magic, double* norm) {
  HWY_DYNAMIC_DISPATCH(AddRows)(d, x, rows, count, magic, sum, norm_magic, norm);
}
void l2_sqr_many(const float* x, const float* c, int64_t k, int64_t d, float* out) {
  HWY_DYNAMIC_DISPATCH(L2SqrMany)(x, c, k, d, out);
}
bool uses_fma() { return HWY_DYNAMIC_DISPATCH(UsesFma)(); }
int64_t float_lanes() { return HWY_DYNAMIC_DISPATCH(FloatLanes)(); }

}  // namespace ivftrain::kernels
#endif  // HWY_ONCE
