#include "eval/codecs.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "linalg/distances.h"

namespace ivftrain::eval {
namespace {

std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

// The ADC sum equals the distance to the decoded vector, computed directly (brute force).
TEST(EvalCodecs, PqTableDistanceIsTheDistanceToTheReconstruction) {
  for (int bits : {4, 8}) {
    PqCodebook cb;
    cb.dim = 24;
    cb.num_sub_vectors = 6;
    cb.num_bits = bits;
    cb.centroids =
        random_floats(static_cast<size_t>(cb.num_sub_vectors * cb.ksub() * cb.dsub()), 1);
    const int64_t n = 50;
    std::vector<float> x = random_floats(n * cb.dim, 2), q = random_floats(cb.dim, 3);
    std::vector<uint8_t> codes(n * cb.num_sub_vectors);
    pq_encode(cb, n, x.data(), codes.data(), 1);
    std::vector<float> rec(n * cb.dim);
    pq_decode(cb, n, codes.data(), rec.data());
    std::vector<float> table(cb.num_sub_vectors * cb.ksub());
    for (Metric metric : {Metric::kL2, Metric::kInnerProduct}) {
      pq_distance_table(cb, metric, q.data(), table.data());
      for (int64_t i = 0; i < n; ++i) {
        const float* r = rec.data() + i * cb.dim;
        const float want = metric == Metric::kL2 ? l2_sqr_ref(q.data(), r, cb.dim)
                                                 : -inner_product_ref(q.data(), r, cb.dim);
        EXPECT_NEAR(pq_table_distance(table.data(), cb.num_sub_vectors, cb.ksub(),
                                      &codes[i * cb.num_sub_vectors]),
                    want, 1e-4f * (1 + std::abs(want)))
            << "bits " << bits << " row " << i;
      }
    }
  }
}

// SQ codes round to the nearest of 2^bits - 1 steps between the bounds, clip outside them, and
// their error is the one training reports (sq_reconstruction_error).
TEST(EvalCodecs, SqEncodeRoundsClipsAndMatchesTrainingsError) {
  const int64_t d = 8, n = 200;
  for (auto mode : {SqBoundsMode::kGlobal, SqBoundsMode::kPerDimension}) {
    for (int bits : {4, 8}) {
      std::vector<float> x = random_floats(n * d, 7, 2.0f);
      SqBounds b = SqBounds::empty(mode, d);
      b.update(n / 2, d, x.data());  // half the rows: the rest may lie outside
      SqCodec codec(b, bits, d);
      const float levels = static_cast<float>((1 << bits) - 1);
      std::vector<uint8_t> code(d);
      std::vector<float> dec(d);
      double error = 0;
      int64_t clipped = 0, expected_clipped = 0;
      for (int64_t i = 0; i < n; ++i) {
        const float* v = x.data() + i * d;
        clipped += codec.encode(v, code.data());
        codec.decode(code.data(), dec.data());
        for (int64_t j = 0; j < d; ++j) {
          const size_t k = mode == SqBoundsMode::kGlobal ? 0 : static_cast<size_t>(j);
          const float lo = b.lower[k], hi = b.upper[k];
          expected_clipped += (v[j] < lo || v[j] > hi) ? 1 : 0;
          // Brute force: the nearest of the levels lo + c (hi - lo) / L.
          int best = 0;
          for (int c = 1; c <= static_cast<int>(levels); ++c) {
            if (std::abs(v[j] - (lo + c * (hi - lo) / levels)) <
                std::abs(v[j] - (lo + best * (hi - lo) / levels))) {
              best = c;
            }
          }
          EXPECT_NEAR(code[j], best, 1) << v[j];  // exact but for a tie at a midpoint
          error += (v[j] - dec[j]) * static_cast<double>(v[j] - dec[j]);
        }
        EXPECT_NEAR(codec.distance(Metric::kL2, v, code.data()), l2_sqr_ref(v, dec.data(), d),
                    1e-4);
      }
      EXPECT_EQ(clipped, expected_clipped);
      EXPECT_GT(clipped, 0);
      EXPECT_NEAR(error / n, sq_reconstruction_error(b, bits, n, d, x.data()), 1e-6 * (error / n));
    }
  }
}

TEST(EvalCodecs, NibblesPackTwoCodesPerByteAndBack) {
  for (int64_t n : {1, 2, 7, 16}) {
    std::vector<uint8_t> codes(n), back(n), packed((n + 1) / 2);
    for (int64_t i = 0; i < n; ++i) codes[i] = static_cast<uint8_t>((i * 7 + 3) % 16);
    pack_nibbles(codes.data(), n, packed.data());
    EXPECT_EQ(packed[0] & 0xF, codes[0]);  // FAISS's order: the first code in the low half
    unpack_nibbles(packed.data(), n, back.data());
    EXPECT_EQ(back, codes) << n;
  }
}

}  // namespace
}  // namespace ivftrain::eval
