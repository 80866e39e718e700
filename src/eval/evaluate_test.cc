#include <gtest/gtest.h>

#include "io/npy.h"
#include "ivftrain/eval.h"
#include "test_util.h"

namespace ivftrain {
namespace {

// A model over a mixture, with centroids and a codebook drawn from the data (no training: the
// evaluation must be right for any model).
struct Fixture {
  static constexpr int64_t kDim = 16, kRows = 3000, kParts = 8;
  testing::TempDir dir;
  std::vector<float> x = testing::gaussian_mixture(kRows, kDim, 12, 5);
  Dataset base;
  TrainedModels model;
  EvalQueries queries;

  explicit Fixture(IndexType type) : base(open()) {
    model.dim = kDim;
    model.params.index_type = type;
    model.params.ivf.num_partitions = kParts;
    model.ivf_centroids.assign(x.begin(), x.begin() + kParts * kDim);
    if (type == IndexType::kIvfPq) {
      PqCodebook cb{kDim, 4, 8, {}, {}};
      // Codewords: sub-vectors of rows minus their row's first centroid (residual-like).
      const std::vector<float> r = testing::random_matrix(9, 256, kDim, 2.0);
      for (int64_t m = 0; m < 4; ++m) {
        for (int64_t j = 0; j < 256; ++j) {
          for (int64_t t = 0; t < 4; ++t) cb.centroids.push_back(r[j * kDim + m * 4 + t]);
        }
      }
      model.pq = cb;
    }
    queries.count = 40;
    queries.x = testing::random_matrix(3, 40, kDim, 4.0);
  }
  Dataset open() {
    testing::write_bytes(dir.file("base.npy"), npy_bytes_f32({kRows, kDim}, x.data()));
    return *Dataset::open(dir.file("base.npy"));
  }
};

// With every partition probed, IVF_FLAT finds the exact neighbours: recall 1 checks the blocked
// GEMM ground truth and the flat search against each other, for l2 and dot.
TEST(Evaluate, FlatRecallIsOneWithEveryPartitionProbed) {
  for (auto distance : {DistanceType::kL2, DistanceType::kDot}) {
    Fixture f(IndexType::kIvfFlat);
    f.model.params.distance_type = distance;
    EvalOptions o;
    o.ks = {1, 10, 100};
    o.nprobes = {1, Fixture::kParts};
    auto r = evaluate(f.model, f.base, f.queries, o);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->base_rows, Fixture::kRows);
    EXPECT_EQ(r->probes[1].vectors_scanned, Fixture::kRows);
    for (double recall : r->probes[1].recall) EXPECT_DOUBLE_EQ(recall, 1.0);
    EXPECT_LT(r->probes[0].vectors_scanned, Fixture::kRows);
  }
}

// FAISS's precomputed tables and the per-probe residual tables give the same search.
TEST(Evaluate, PqPrecomputedTablesSearchAsResidualTables) {
  Fixture f(IndexType::kIvfPq);
  EvalOptions o;
  o.ks = {1, 10};
  o.nprobes = {1, 3, Fixture::kParts};
  auto with = evaluate(f.model, f.base, f.queries, o);
  o.precomputed_table_max_bytes = 0;
  auto without = evaluate(f.model, f.base, f.queries, o);
  ASSERT_TRUE(with.ok() && without.ok());
  EXPECT_GT(with->quantization_mse, 0);
  for (size_t p = 0; p < o.nprobes.size(); ++p) {
    for (size_t i = 0; i < o.ks.size(); ++i) {
      EXPECT_NEAR(with->probes[p].recall[i], without->probes[p].recall[i], 0.01);
    }
  }
}

TEST(Evaluate, RefusesBadInputsNamingThem) {
  Fixture f(IndexType::kIvfFlat);
  EvalOptions o;
  o.nprobes = {0};
  EXPECT_NE(evaluate(f.model, f.base, f.queries, o).status().message().find("--nprobe 0"),
            std::string::npos);
  o.nprobes = {1};
  o.ks = {Fixture::kRows + 1};
  EXPECT_NE(evaluate(f.model, f.base, f.queries, o).status().message().find("more than the 3000"),
            std::string::npos);
  o.ks = {10};
  f.queries.x.resize(f.queries.x.size() / 2);
  EXPECT_NE(evaluate(f.model, f.base, f.queries, o).status().message().find("dimension 8"),
            std::string::npos);
}

}  // namespace
}  // namespace ivftrain
