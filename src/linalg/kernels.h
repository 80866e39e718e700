// The SIMD kernels of the assignment, compiled once per instruction set (Google Highway) and
// chosen at run time for the CPU (include/ivftrain/simd.h forces a lower level).
//
// Every kernel computes each score in one lane, in the same order of operations whatever the
// vector width, and selects with exact comparisons; the lanes only decide which scores are
// computed together. So the results depend on the instruction set only through fused
// multiply-add: targets with FMA (AVX-512, AVX2, NEON) give identical bits, targets without it
// (SSE4, SSSE3, scalar) round the product first (`uses_fma`). The scalar references in
// kernels_test.cc state the arithmetic exactly.
#pragma once

#include <cstdint>

namespace ivftrain::kernels {

// Columns of the transposed centroid matrix are padded to a multiple of this (the widest
// vector), so one layout serves every target.
inline constexpr int64_t kColumnPad = 16;

// The direct kernel's largest d (assign.cc uses it for d <= this only).
inline constexpr int64_t kDirectMaxD = 64;

// Direct kernel: for each of `rows` rows x_i (row-major, d floats) the smallest score
//   score(c) = init[c] + sum_j (alpha x_ij) ct[j kp + c]      (j in increasing order)
// over the kp columns of ct (d <= kDirectMaxD; d x kp, kp a multiple of kColumnPad; padding columns
// carry init = +inf so they never win), and the first column where it is reached. NaN scores never
// win; a row whose scores are all +inf or NaN gets label 0 and best +inf.
void direct_argmin(int64_t rows, int64_t d, const float* x, int64_t kp, const float* ct,
                   const float* init, float alpha, float* best, int32_t* labels);

// As direct_argmin for rows ids[r] of x (r < rows; x's rows themselves when ids is null), the
// results at r, also writing second[r], the row's second smallest score (the smallest again
// when two columns reach it). NaN scores never enter; padding columns (init = +inf) give +inf.
void direct_two_min(int64_t rows, int64_t d, const float* x, const int64_t* ids, int64_t kp,
                    const float* ct, const float* init, float alpha, float* best, int32_t* labels,
                    float* second);

// The direct kernel's score of each row against one column, bit for bit as direct_argmin and
// direct_two_min compute it at the level in use: out[i] = the score of row i (x: d floats a row)
// against column columns[i], whose centroid is c + columns[i] d (row-major: the same values as
// the column of ct) and whose init is init[columns[i]].
void direct_scores(int64_t rows, int64_t d, const float* x, const int32_t* columns, const float* c,
                   const float* init, float alpha, float* out);

// One tile of the GEMM path: scores s(r, j) = dots[r ld + j] + bias[j] for j < size. Row r's
// smallest score, if strictly below best[r], replaces it, with label base + (first such j).
void tile_argmin(int64_t rows, const float* dots, int64_t ld, const float* bias, int64_t size,
                 int32_t base, float* best, int32_t* labels);

// As tile_argmin, also keeping second[r], the second smallest score of the row so far (counting
// equal values twice). Start with best = second = +inf and labels = 0.
void tile_two_min(int64_t rows, const float* dots, int64_t ld, const float* bias, int64_t size,
                  int32_t base, float* best, int32_t* labels, float* second);

// Top-t of each row: vals[r t ..] (ascending) and idx[r t ..] hold the row's t smallest scores so
// far and their labels; a score enters when strictly below the t-th, after any equal ones.
void tile_top_t(int64_t rows, const float* dots, int64_t ld, const float* bias, int64_t size,
                int32_t base, int64_t t, float* vals, int32_t* idx);

// Inserts (v, j) into the ascending list (vals, idx) of length t when v is strictly below its
// last entry; equal values go after those already there, so with candidates arriving in
// increasing j ties keep the smallest index first.
inline void insert_sorted(float v, int32_t j, int64_t t, float* vals, int32_t* idx) {
  if (!(v < vals[t - 1])) return;
  int64_t p = t - 1;
  while (p > 0 && v < vals[p - 1]) {
    vals[p] = vals[p - 1];
    idx[p] = idx[p - 1];
    --p;
  }
  vals[p] = v;
  idx[p] = j;
}

// The update's sums on a fixed-point grid: sum[j] += (x[rows[r] d + j] + magic) - magic in
// double, for r < count in order and every j < d. With magic = 1.5 x 2^52 x step, each value is
// rounded to a multiple of step (ties to even), and when the sums stay below 2^53 steps every
// addition is exact (kmeans/update.h, SumGrid): the same bits as the scalar loop, in any order.
// With `norm` (may be null), each row's |x|^2 too, as kmeans/update.h's row_norm2 sums it (bit
// for bit), rounded to its grid ((q + norm_magic) - norm_magic) and added to *norm row by row.
void add_rows(int64_t d, const float* x, const int64_t* rows, int64_t count, double magic,
              double* sum, double norm_magic = 0.0, double* norm = nullptr);

// out[i] = l2_sqr(x, c + i d, d) for i < k (linalg/distances.h), the same bits at every
// level, several centroids at a time.
void l2_sqr_many(const float* x, const float* c, int64_t k, int64_t d, float* out);

// Whether the kernels in use fuse the multiply-add of direct_argmin (one rounding).
bool uses_fma();

// Floats per vector of the kernels in use (16 at AVX-512, 8 at AVX2, 4 at SSE4 and NEON, 1 for
// the scalar target).
int64_t float_lanes();

}  // namespace ivftrain::kernels
