// Distance kernels between float32 vectors.
//
// Two families: the *_ref functions are plain scalar loops, kept as the oracle the tests compare
// everything else against; the others are the ones the library uses. Those sum into 16 partial
// sums (so the compiler vectorises them without -ffast-math) that are added in a fixed order, so
// they give the same bits for the same inputs on every call, whatever thread runs them.
#pragma once

#include <cstdint>

namespace ivftrain {

float l2_sqr_ref(const float* a, const float* b, int64_t d);
float inner_product_ref(const float* a, const float* b, int64_t d);
float norm_sqr_ref(const float* a, int64_t d);

float l2_sqr(const float* a, const float* b, int64_t d);
float inner_product(const float* a, const float* b, int64_t d);
float norm_sqr(const float* a, int64_t d);

// out[i] = norm_sqr(x + i * d, d) for the n rows of x.
void row_norms_sqr(int64_t n, int64_t d, const float* x, float* out);

// Copies the rows x[rows[r]] (r in [0, count)) of the d-dim matrix x to consecutive rows of out.
void gather_rows(int64_t d, const float* x, const int64_t* rows, int64_t count, float* out);

}  // namespace ivftrain
