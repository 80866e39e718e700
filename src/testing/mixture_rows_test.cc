// gen streams its rows: any range of MixtureRows is the same slice of the whole mixture.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "testing/synthetic.h"

namespace ivftrain::testing {
namespace {

TEST(MixtureRows, AnyRangeIsTheSliceOfTheWholeMixture) {
  MixtureSpec s;
  s.rows = 10000;
  s.dim = 5;
  s.clusters = 7;
  s.seed = 11;
  s.nonfinite_rows = 300;
  const std::vector<float> whole = gaussian_mixture(s);
  const MixtureRows mixture(s);
  for (const auto& [first, count] : std::vector<std::pair<int64_t, int64_t>>{
           {0, 10000}, {0, 1}, {4095, 2}, {4096, 4096}, {1234, 5678}, {9999, 1}, {8191, 1809}}) {
    std::vector<float> part(static_cast<size_t>(count * s.dim));
    mixture.rows(first, count, part.data());
    // Bitwise, so that NaN rows compare too.
    EXPECT_EQ(std::memcmp(part.data(), whole.data() + first * s.dim, part.size() * sizeof(float)),
              0)
        << "rows " << first << ".." << first + count;
  }
  int64_t nonfinite = 0;
  for (int64_t i = 0; i < s.rows; ++i) {
    for (int64_t j = 0; j < s.dim; ++j) {
      if (!std::isfinite(whole[i * s.dim + j])) {
        ++nonfinite;
        break;
      }
    }
  }
  EXPECT_EQ(nonfinite, 300);
}

}  // namespace
}  // namespace ivftrain::testing
