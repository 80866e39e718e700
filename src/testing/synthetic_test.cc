#include "testing/synthetic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace ivftrain::testing {
namespace {

MixtureSpec spec_of(int64_t rows, MixtureStreams streams) {
  MixtureSpec s;
  s.rows = rows;
  s.dim = 3;
  s.clusters = 5;
  s.seed = 7;
  s.streams = streams;
  return s;
}

TEST(Synthetic, PerBlockRowsDependOnlyOnSeedAndIndex) {
  // Rows of a short mixture are the first rows of a long one, across block boundaries.
  const auto shorter = gaussian_mixture(spec_of(5000, MixtureStreams::kPerBlock));
  const auto longer = gaussian_mixture(spec_of(9000, MixtureStreams::kPerBlock));
  EXPECT_TRUE(std::equal(shorter.begin(), shorter.end(), longer.begin()));
  EXPECT_EQ(shorter, gaussian_mixture(spec_of(5000, MixtureStreams::kPerBlock)));
}

TEST(Synthetic, StreamsGiveDifferentRowsOfOneMixture) {
  const auto a = gaussian_mixture(spec_of(100, MixtureStreams::kPerBlock));
  const auto b = gaussian_mixture(spec_of(100, MixtureStreams::kSequential));
  ASSERT_EQ(a.size(), 300u);
  ASSERT_EQ(b.size(), 300u);
  EXPECT_NE(a, b);
  EXPECT_EQ(b, gaussian_mixture(spec_of(100, MixtureStreams::kSequential)));
}

TEST(Synthetic, NonfiniteRowsHoldOneNanOrInf) {
  MixtureSpec s = spec_of(1000, MixtureStreams::kPerBlock);
  s.nonfinite_rows = 7;
  const auto x = gaussian_mixture(s);
  int64_t bad_rows = 0, nans = 0;
  for (int64_t i = 0; i < s.rows; ++i) {
    int bad = 0;
    for (int64_t j = 0; j < s.dim; ++j) {
      if (!std::isfinite(x[i * s.dim + j])) ++bad;
      if (std::isnan(x[i * s.dim + j])) ++nans;
    }
    EXPECT_LE(bad, 1);
    bad_rows += bad;
  }
  EXPECT_EQ(bad_rows, 7);
  EXPECT_EQ(nans, 4);  // NaN and Inf alternate, NaN first
}

TEST(Synthetic, FormatNames) {
  EXPECT_EQ(*vector_format_name(".fbin"), "fbin");
  EXPECT_EQ(*vector_format_name("h5"), "hdf5");
  EXPECT_EQ(*vector_format_name("npy"), "npy");
  auto bad = vector_format_name("csv");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'csv'"), std::string::npos);
}

}  // namespace
}  // namespace ivftrain::testing
