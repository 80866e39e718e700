#include "linalg/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "ivftrain/simd.h"
#include "linalg/distances.h"
#include "test_util.h"

namespace ivftrain {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::nanf("");

using testing::for_each_simd_level;

// Bitwise float equality (so +0/-0 and NaN payloads count), with a readable failure.
::testing::AssertionResult same_bits(float a, float b) {
  if (std::memcmp(&a, &b, sizeof a) == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " != " << b;
}

// The scalar reference of direct_argmin and direct_two_min: each score accumulated in j order,
// fused or not; the second smallest counts a value reached twice twice, and NaN never enters.
void direct_ref(int64_t rows, int64_t d, const float* x, int64_t kp, const float* ct,
                const float* init, float alpha, bool fma, float* best, int32_t* labels,
                float* second) {
  for (int64_t i = 0; i < rows; ++i) {
    best[i] = second[i] = kInf;
    labels[i] = 0;
    for (int64_t c = 0; c < kp; ++c) {
      float s = init[c];
      for (int64_t j = 0; j < d; ++j) {
        const float a = alpha * x[i * d + j];
        s = fma ? std::fma(a, ct[j * kp + c], s) : a * ct[j * kp + c] + s;
      }
      if (s < best[i]) {
        second[i] = best[i];
        best[i] = s;
        labels[i] = static_cast<int32_t>(c);
      } else if (s < second[i]) {
        second[i] = s;
      }
    }
  }
}

TEST(KernelsTest, DirectSelectorsMatchTheScalarReferenceAtEveryLevel) {
  for (const int64_t d : {1, 3, 8, 17, 64}) {
    for (const int64_t k : {1, 5, 16, 24, 100, 200, 256}) {
      SCOPED_TRACE(::testing::Message() << "d=" << d << " k=" << k);
      const int64_t rows = 37, kp = (k + kernels::kColumnPad - 1) / kernels::kColumnPad * 16;
      auto x = testing::random_matrix(1, rows, d, 1.0);
      // Rounded to a coarse grid so that exact ties between centroids happen.
      auto c = testing::random_matrix(2, k, d, 1.0);
      for (float& v : c) v = std::round(v * 2) / 2;
      if (k > 3) std::memcpy(&c[3 * d], &c[1 * d], sizeof(float) * d);  // a duplicate
      x[5 * d] = kNaN;                                                  // a NaN row
      std::vector<float> ct(static_cast<size_t>(d * kp), 0.0f), init(static_cast<size_t>(kp), kInf);
      for (int64_t j = 0; j < k; ++j) {
        float norm = 0;
        for (int64_t t = 0; t < d; ++t) {
          ct[t * kp + j] = c[j * d + t];
          norm += c[j * d + t] * c[j * d + t];
        }
        init[j] = norm;
      }
      for_each_simd_level([&] {
        std::vector<float> best(rows), want_best(rows), best2(rows), second(rows),
            want_second(rows);
        std::vector<int32_t> labels(rows, -1), labels2(rows, -1), want(rows);
        kernels::direct_argmin(rows, d, x.data(), kp, ct.data(), init.data(), -2.0f, best.data(),
                               labels.data());
        kernels::direct_two_min(rows, d, x.data(), nullptr, kp, ct.data(), init.data(), -2.0f,
                                best2.data(), labels2.data(), second.data());
        direct_ref(rows, d, x.data(), kp, ct.data(), init.data(), -2.0f, kernels::uses_fma(),
                   want_best.data(), want.data(), want_second.data());
        for (int64_t i = 0; i < rows; ++i) {
          ASSERT_EQ(labels[i], want[i]) << "row " << i;
          ASSERT_TRUE(same_bits(best[i], want_best[i])) << "row " << i;
          ASSERT_EQ(labels2[i], want[i]) << "row " << i;
          ASSERT_TRUE(same_bits(best2[i], want_best[i])) << "row " << i;
          // The value, not the bits: which of two equal scores of opposite zero signs counts
          // second may differ by lane order.
          ASSERT_EQ(second[i], want_second[i]) << "row " << i;
        }
        EXPECT_EQ(labels[5], 0);  // NaN scores never win
        EXPECT_EQ(best[5], kInf);
        EXPECT_EQ(second[5], kInf);
        // One score per row, against a column of the row's choosing (every row count mod 4),
        // bit for bit as the reference computes that column's score.
        std::vector<int32_t> columns(rows);
        for (int64_t i = 0; i < rows; ++i) columns[i] = static_cast<int32_t>((i * 7) % k);
        std::vector<float> scores(rows);
        for (const int64_t m : {rows, rows - 1, rows - 2, rows - 3}) {
          kernels::direct_scores(m, d, x.data(), columns.data(), c.data(), init.data(), -2.0f,
                                 scores.data());
          for (int64_t i = 0; i < m; ++i) {
            float one = 0;
            int32_t ignored = 0;
            float second_ignored = 0;
            // The column alone, through the reference (its score is then its best).
            std::vector<float> ct1(static_cast<size_t>(d)), init1{init[columns[i]]};
            for (int64_t t = 0; t < d; ++t) ct1[t] = ct[t * kp + columns[i]];
            direct_ref(1, d, x.data() + i * d, 1, ct1.data(), init1.data(), -2.0f,
                       kernels::uses_fma(), &one, &ignored, &second_ignored);
            if (i == 5) continue;  // the NaN row: NaN here, the reference keeps +inf
            ASSERT_TRUE(same_bits(scores[i], one)) << "row " << i << " of " << m;
          }
        }
        // Rows picked by index, in another order and repeated: each result at its place.
        std::vector<int64_t> ids;
        for (int64_t i = rows - 1; i >= 0; i -= 3) ids.push_back(i);
        ids.push_back(0);
        ids.push_back(0);
        const auto m = static_cast<int64_t>(ids.size());
        std::vector<float> pb(m), ps(m);
        std::vector<int32_t> pl(m);
        kernels::direct_two_min(m, d, x.data(), ids.data(), kp, ct.data(), init.data(), -2.0f,
                                pb.data(), pl.data(), ps.data());
        for (int64_t r = 0; r < m; ++r) {
          const int64_t i = ids[r];
          ASSERT_EQ(pl[r], want[i]) << "place " << r;
          ASSERT_TRUE(same_bits(pb[r], want_best[i])) << "place " << r;
          ASSERT_EQ(ps[r], want_second[i]) << "place " << r;
        }
      });
    }
  }
}

// A tile of scores with ties, NaN and +inf in it, and the bias of its columns.
struct TileData {
  int64_t rows, size, ld;
  std::vector<float> dots, bias;

  TileData(int64_t rows_, int64_t size_, uint64_t seed) : rows(rows_), size(size_), ld(size_ + 3) {
    dots = testing::random_matrix(seed, rows, ld, 4.0);
    for (float& v : dots) v = std::round(v);  // many equal scores
    bias = testing::random_matrix(seed + 1, 1, size, 1.0);
    for (float& v : bias) v = std::round(v);
    if (size > 2) dots[1 * ld + 2] = kNaN;
    if (rows > 2) {
      for (int64_t j = 0; j < size; ++j) dots[2 * ld + j] = kInf;  // nothing beats +inf
    }
  }
  float score(int64_t r, int64_t j) const { return dots[r * ld + j] + bias[j]; }
};

TEST(KernelsTest, TileSelectorsMatchTheScalarReferencesAtEveryLevel) {
  for (const int64_t size : {1, 7, 16, 31, 33, 64, 500, 512}) {
    SCOPED_TRACE(::testing::Message() << "size=" << size);
    const int64_t rows = 19, t = 5;
    const int32_t base = 1024;
    // Two tiles in a row, as the tile loop hands them out, the second with the higher base.
    const TileData a(rows, size, 10), b(rows, size, 20);
    for_each_simd_level([&] {
      // argmin, starting from values some rows already beat
      std::vector<float> best(rows), want_best(rows);
      std::vector<int32_t> labels(rows, 7), want(rows, 7);
      for (int64_t r = 0; r < rows; ++r) best[r] = want_best[r] = r % 4 == 0 ? -100.0f : kInf;
      // two smallest and top-t from empty
      std::vector<float> b1(rows, kInf), b2(rows, kInf), w1(rows, kInf), w2(rows, kInf);
      std::vector<int32_t> l1(rows, 0), wl(rows, 0);
      std::vector<float> vals(rows * t, kInf), want_vals(rows * t, kInf);
      std::vector<int32_t> idx(rows * t, -1), want_idx(rows * t, -1);
      for (const TileData* tile : {&a, &b}) {
        const int32_t tb = tile == &a ? 0 : base;
        kernels::tile_argmin(rows, tile->dots.data(), tile->ld, tile->bias.data(), size, tb,
                             best.data(), labels.data());
        kernels::tile_two_min(rows, tile->dots.data(), tile->ld, tile->bias.data(), size, tb,
                              b1.data(), l1.data(), b2.data());
        kernels::tile_top_t(rows, tile->dots.data(), tile->ld, tile->bias.data(), size, tb, t,
                            vals.data(), idx.data());
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t j = 0; j < size; ++j) {
            const float v = tile->score(r, j);
            if (v < want_best[r]) {
              want_best[r] = v;
              want[r] = tb + static_cast<int32_t>(j);
            }
            if (v < w1[r]) {
              w2[r] = w1[r];
              w1[r] = v;
              wl[r] = tb + static_cast<int32_t>(j);
            } else if (v < w2[r]) {
              w2[r] = v;
            }
            kernels::insert_sorted(v, tb + static_cast<int32_t>(j), t, &want_vals[r * t],
                                   &want_idx[r * t]);
          }
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        SCOPED_TRACE(::testing::Message() << "row " << r);
        EXPECT_EQ(labels[r], want[r]);
        EXPECT_TRUE(same_bits(best[r], want_best[r]));
        EXPECT_EQ(l1[r], wl[r]);
        EXPECT_TRUE(same_bits(b1[r], w1[r]));
        // The value: the min/max form may keep the other sign of two equal zeros.
        EXPECT_EQ(b2[r], w2[r]);
        for (int64_t q = 0; q < t; ++q) {
          EXPECT_EQ(idx[r * t + q], want_idx[r * t + q]);
          EXPECT_TRUE(same_bits(vals[r * t + q], want_vals[r * t + q]));
        }
      }
    });
  }
}

TEST(KernelsTest, AddRowsMatchesTheScalarSumsAndNormsAtEveryLevel) {
  for (const int64_t d : {1, 3, 8, 12, 17, 128, 131}) {
    SCOPED_TRACE(::testing::Message() << "d=" << d);
    const int64_t n = 50;
    const auto x = testing::random_matrix(7, n, d, 1000.0);
    const std::vector<int64_t> rows = {4, 0, 49, 4, 17, 33, 2};
    // A grid of 1/64: the values (up to 1000) are rounded to it, as the scalar loop rounds them.
    const double magic = 1.5 * 0x1p52 / 64;
    // The norms on a grid of 1/16 (|x|^2 up to 131 x 10^6 keeps 2^-4 steps below 2^51).
    const double norm_magic = 1.5 * 0x1p52 / 16;
    std::vector<double> want(static_cast<size_t>(d), 0.5);
    double want_norm = 0.25;
    for (const int64_t r : rows) {
      // row_norm2's order (kmeans/update.h): element j into running sum j mod 8, then the tree.
      double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t j = 0; j < d; ++j) {
        const double v = x[r * d + j];
        const double q = std::nearbyint(v * 64) / 64;
        ASSERT_EQ(q, (v + magic) - magic);
        want[j] += q;
        a[j % 8] += v * v;
      }
      const double norm = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
      want_norm += std::nearbyint(norm * 16) / 16;
    }
    for_each_simd_level([&] {
      std::vector<double> sum(static_cast<size_t>(d), 0.5);
      double norm = 0.25;
      kernels::add_rows(d, x.data(), rows.data(), static_cast<int64_t>(rows.size()), magic,
                        sum.data(), norm_magic, &norm);
      for (int64_t j = 0; j < d; ++j) ASSERT_EQ(sum[j], want[j]) << "j=" << j;
      ASSERT_EQ(norm, want_norm);
      // Without a norm the sums are the same.
      std::vector<double> alone(static_cast<size_t>(d), 0.5);
      kernels::add_rows(d, x.data(), rows.data(), static_cast<int64_t>(rows.size()), magic,
                        alone.data());
      ASSERT_EQ(alone, sum);
    });
  }
}

TEST(KernelsTest, L2SqrManyIsL2SqrBitForBitAtEveryLevel) {
  for (const int64_t d : {1, 5, 15, 16, 17, 31, 48, 128, 131, 768}) {
    SCOPED_TRACE(::testing::Message() << "d=" << d);
    for (const int64_t k : {1, 3, 4, 7, 33}) {
      const auto x = testing::random_matrix(11, 1, d, 30.0);
      const auto c = testing::random_matrix(12, k, d, 30.0);
      for_each_simd_level([&] {
        std::vector<float> out(static_cast<size_t>(k), -1.0f);
        kernels::l2_sqr_many(x.data(), c.data(), k, d, out.data());
        for (int64_t i = 0; i < k; ++i) {
          ASSERT_TRUE(same_bits(out[i], l2_sqr(x.data(), c.data() + i * d, d))) << "i=" << i;
        }
      });
    }
  }
}

TEST(KernelsTest, LevelsCanBeForcedAndRestored) {
  const std::vector<std::string> levels = simd_targets();
  ASSERT_FALSE(levels.empty());
  const std::string before = simd_target();
  for (const std::string& level : levels) {
    ASSERT_TRUE(set_simd_target(level).ok()) << level;
    EXPECT_EQ(simd_target(), level);
  }
  ASSERT_TRUE(set_simd_target("best").ok());
  EXPECT_EQ(simd_target(), levels.front());
  const Status unknown = set_simd_target("avx1024");
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("avx1024"), std::string::npos) << unknown.message();
  ASSERT_TRUE(set_simd_target_from_env().ok());  // as the test run was started
  EXPECT_EQ(simd_target(), before);
}

}  // namespace
}  // namespace ivftrain
