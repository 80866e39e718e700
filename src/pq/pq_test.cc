#include "ivftrain/pq.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "linalg/assign.h"
#include "pq/subspaces.h"
#include "test_util.h"
#include "util/rng.h"

namespace ivftrain {
namespace {

using testing::gaussian_mixture;

PqParams small_params(int64_t m, int bits, uint64_t seed = 42, int threads = 2) {
  PqParams p;
  p.num_sub_vectors = m;
  p.num_bits = bits;
  p.kmeans.max_iters = 10;
  p.kmeans.seed = seed;
  p.kmeans.num_threads = threads;
  return p;
}

// Mean squared distance of the rows to their mean: the error of a 1-centroid quantizer.
double total_variance(int64_t n, int64_t d, const std::vector<float>& x) {
  double total = 0;
  for (int64_t j = 0; j < d; ++j) {
    double mean = 0, sq = 0;
    for (int64_t i = 0; i < n; ++i) mean += x[i * d + j];
    mean /= n;
    for (int64_t i = 0; i < n; ++i) sq += (x[i * d + j] - mean) * (x[i * d + j] - mean);
    total += sq / n;
  }
  return total;
}

TEST(Pq, ReconstructionErrorFallsWithMoreBits) {
  const int64_t n = 4096, d = 32;
  const auto x = gaussian_mixture(n, d, 64, 1);
  const double variance = total_variance(n, d, x);
  auto cb4 = pq_train(n, d, x.data(), small_params(8, 4, 7, 2));
  auto cb8 = pq_train(n, d, x.data(), small_params(8, 8, 7, 2));
  ASSERT_TRUE(cb4.ok() && cb8.ok());
  const double e4 = pq_reconstruction_error(*cb4, n, x.data(), 2);
  const double e8 = pq_reconstruction_error(*cb8, n, x.data(), 2);
  EXPECT_LT(e4, 0.5 * variance);
  EXPECT_LT(e8, 0.7 * e4);
  EXPECT_GT(e8, 0);
  EXPECT_EQ(cb8->iterations.size(), 8u);
  for (const auto& its : cb8->iterations) EXPECT_FALSE(its.empty());
}

TEST(Pq, CodebookLayoutAndHandDecoding) {
  const int64_t n = 600, d = 12, M = 3;
  const auto x = gaussian_mixture(n, d, 10, 2);
  auto cb = pq_train(n, d, x.data(), small_params(M, 4, 3, 1));
  ASSERT_TRUE(cb.ok());
  ASSERT_EQ(cb->ksub(), 16);
  ASSERT_EQ(cb->dsub(), 4);
  ASSERT_EQ(cb->centroids.size(), static_cast<size_t>(M * 16 * 4));  // (M, ksub, dsub)
  const uint8_t code[M] = {5, 0, 15};
  std::vector<float> decoded(d);
  pq_decode(*cb, 1, code, decoded.data());
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t j = 0; j < 4; ++j) {
      EXPECT_EQ(decoded[m * 4 + j], cb->centroids[(m * 16 + code[m]) * 4 + j]);
    }
  }
}

TEST(Pq, SubSpaceIsKMeansOnItsColumnsWithDerivedSeed) {
  const int64_t n = 1000, d = 16, M = 4, dsub = 4;
  const auto x = gaussian_mixture(n, d, 12, 3);
  const PqParams params = small_params(M, 4, 99);
  auto cb = pq_train(n, d, x.data(), params);
  ASSERT_TRUE(cb.ok());
  for (int64_t m = 0; m < M; ++m) {
    std::vector<float> sub(n * dsub);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < dsub; ++j) sub[i * dsub + j] = x[i * d + m * dsub + j];
    }
    KMeansParams kp;
    kp.max_iters = params.kmeans.max_iters;
    kp.tolerance = params.kmeans.tolerance;
    kp.seed = derive_seed(99, kSeedPqKMeans, m);
    auto km = kmeans_train(n, dsub, sub.data(), 16, kp);
    ASSERT_TRUE(km.ok());
    EXPECT_EQ(0, std::memcmp(km->centroids.data(), cb->centroids.data() + m * 16 * dsub,
                             16 * dsub * sizeof(float)))
        << m;
  }
}

TEST(Pq, EncodeFindsNearestCentroidPerSubSpace) {
  const int64_t n = 5000, d = 24, M = 3, dsub = 8;  // > one encode block
  const auto x = gaussian_mixture(n, d, 40, 4);
  auto cb = pq_train(n, d, x.data(), small_params(M, 8, 5, 2));
  ASSERT_TRUE(cb.ok());
  std::vector<uint8_t> codes(n * M);
  pq_encode(*cb, n, x.data(), codes.data(), 2);
  int64_t checked = 0;
  for (int64_t i = 0; i < n; i += 7) {
    for (int64_t m = 0; m < M; ++m) {
      // Brute force in double.
      double best = std::numeric_limits<double>::infinity();
      double mine = 0;
      for (int64_t c = 0; c < 256; ++c) {
        double dist = 0;
        for (int64_t j = 0; j < dsub; ++j) {
          const double t =
              double(x[i * d + m * dsub + j]) - cb->centroids[(m * 256 + c) * dsub + j];
          dist += t * t;
        }
        best = std::min(best, dist);
        if (c == codes[i * M + m]) mine = dist;
      }
      EXPECT_NEAR(mine, best, 1e-4 * (1 + best));
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

TEST(Pq, RoundTrip) {
  const int64_t n = 2000, d = 16, M = 4;
  const auto x = gaussian_mixture(n, d, 20, 5);
  auto cb = pq_train(n, d, x.data(), small_params(M, 8, 6, 2));
  ASSERT_TRUE(cb.ok());
  std::vector<uint8_t> codes(n * M), codes_again(n * M);
  std::vector<float> decoded(n * d);
  pq_encode(*cb, n, x.data(), codes.data());
  pq_decode(*cb, n, codes.data(), decoded.data());
  // Decoded vectors are codebook entries: encoding them gives the same codes, unless two
  // centroids of a sub-space coincide (ties go to the lower index), which k-means avoids here.
  pq_encode(*cb, n, decoded.data(), codes_again.data());
  EXPECT_EQ(codes, codes_again);
  double err = 0;
  for (int64_t i = 0; i < n * d; ++i)
    err += (double(x[i]) - decoded[i]) * (double(x[i]) - decoded[i]);
  EXPECT_NEAR(pq_reconstruction_error(*cb, n, x.data()), err / n, 1e-4 * err / n);
}

TEST(Pq, BitIdenticalAcrossThreadCounts) {
  const int64_t n = 3000, d = 32, M = 4;
  const auto x = gaussian_mixture(n, d, 30, 8);
  auto one = pq_train(n, d, x.data(), small_params(M, 8, 1, 1));
  auto two = pq_train(n, d, x.data(), small_params(M, 8, 1, 2));
  ASSERT_TRUE(one.ok() && two.ok());
  ASSERT_EQ(one->centroids.size(), two->centroids.size());
  EXPECT_EQ(0, std::memcmp(one->centroids.data(), two->centroids.data(),
                           one->centroids.size() * sizeof(float)));
  std::vector<uint8_t> c1(n * M), c2(n * M);
  pq_encode(*one, n, x.data(), c1.data(), 1);
  pq_encode(*one, n, x.data(), c2.data(), 2);
  EXPECT_EQ(c1, c2);
  const double e1 = pq_reconstruction_error(*one, n, x.data(), 1);
  const double e2 = pq_reconstruction_error(*one, n, x.data(), 2);
  EXPECT_EQ(0, std::memcmp(&e1, &e2, sizeof e1));
}

TEST(Pq, LongSubVectorsUseTheGemmPath) {
  const int64_t n = 1000, d = 128, M = 2;  // dsub 64
  ASSERT_FALSE(assign_uses_direct_kernel(256, 64));
  const auto x = gaussian_mixture(n, d, 20, 9);
  auto cb = pq_train(n, d, x.data(), small_params(M, 8, 2, 2));
  ASSERT_TRUE(cb.ok());
  EXPECT_LT(pq_reconstruction_error(*cb, n, x.data()), 0.5 * total_variance(n, d, x));
}

// Sharded training (mpi/) trains each rank's share of the sub-spaces from their columns alone:
// the pieces, put together, are pq_train's codebook, bit for bit.
TEST(Pq, SubSpacesTrainedInPiecesGivePqTrain) {
  const int64_t n = 1500, d = 20, M = 5, dsub = 4;
  const auto x = gaussian_mixture(n, d, 30, 11);
  const PqParams params = small_params(M, 8, 21, 2);
  auto whole = pq_train(n, d, x.data(), params);
  ASSERT_TRUE(whole.ok());
  PqCodebook pieces = pq_codebook_shell(d, params);
  const std::pair<int64_t, int64_t> shares[] = {{0, 2}, {2, 1}, {3, 2}};  // (first, count)
  for (const auto& [first, count] : shares) {
    std::vector<float> cols(n * count * dsub);
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(cols.data() + i * count * dsub, x.data() + i * d + first * dsub,
                  sizeof(float) * count * dsub);
    }
    ASSERT_TRUE(pq_train_subspaces(n, cols.data(), first, count, params, &pieces).ok());
  }
  EXPECT_EQ(0, std::memcmp(whole->centroids.data(), pieces.centroids.data(),
                           whole->centroids.size() * sizeof(float)));
  for (int64_t m = 0; m < M; ++m) {
    ASSERT_EQ(whole->iterations[m].size(), pieces.iterations[m].size()) << m;
    EXPECT_EQ(whole->iterations[m].back().objective, pieces.iterations[m].back().objective);
  }
  EXPECT_FALSE(pq_train_subspaces(100, x.data(), 0, 1, params, &pieces).ok());  // < 256 rows
}

// Row errors measured in separate pieces (other encode blocks) add up to the same bits.
TEST(Pq, RowErrorsInPiecesGiveTheReconstructionError) {
  const int64_t n = 5000, d = 16, M = 4, split = 2600;  // pieces straddle an encode block
  const auto x = gaussian_mixture(n, d, 20, 12);
  auto cb = pq_train(n, d, x.data(), small_params(M, 8, 4, 2));
  ASSERT_TRUE(cb.ok());
  std::vector<float> errors(n);
  pq_row_errors(*cb, split, x.data(), errors.data(), 1);
  pq_row_errors(*cb, n - split, x.data() + split * d, errors.data() + split, 2);
  const double pieces = pq_mean_row_error(errors.data(), n);
  const double whole = pq_reconstruction_error(*cb, n, x.data(), 2);
  EXPECT_EQ(0, std::memcmp(&pieces, &whole, sizeof whole));
}

TEST(Pq, RejectsBadParameters) {
  const auto x = gaussian_mixture(300, 128, 4, 1);
  auto message = [&](int64_t n, int64_t d, PqParams p) {
    auto r = pq_train(n, d, x.data(), p);
    EXPECT_FALSE(r.ok());
    return r.status().message();
  };
  EXPECT_EQ(message(300, 128, small_params(12, 8)),
            "num_sub_vectors 12 does not divide the dimension 128");
  PqParams hierarchical = small_params(16, 8);
  hierarchical.kmeans.algorithm = KMeansAlgorithm::kHierarchical;
  EXPECT_NE(message(300, 128, hierarchical).find("flat l2 k-means"), std::string::npos);
  EXPECT_NE(message(300, 128, small_params(16, 6)).find("num_bits 6"), std::string::npos);
  EXPECT_NE(message(200, 128, small_params(16, 8)).find("at least 256 training rows"),
            std::string::npos);
}

}  // namespace
}  // namespace ivftrain
