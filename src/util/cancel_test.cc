#include "util/cancel.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "ivftrain/kmeans.h"
#include "ivftrain/pq.h"

namespace ivftrain {
namespace {

std::vector<float> random_rows(int64_t n, int64_t d) {
  std::mt19937 gen(1);
  std::normal_distribution<float> dist;
  std::vector<float> x(static_cast<size_t>(n * d));
  for (float& v : x) v = dist(gen);
  return x;
}

// Clears the process-wide state whatever a test leaves.
class CancelTest : public ::testing::Test {
 protected:
  void TearDown() override {
    clear_cancel();
    set_progress_observer(nullptr);
  }
};

TEST_F(CancelTest, ObserverSeesEveryIterationAndCancelStopsTheLoop) {
  const auto x = random_rows(2000, 8);
  KMeansParams p;
  p.max_iters = 20;
  p.tolerance = 0;
  std::vector<std::pair<std::string, int>> seen;
  set_progress_observer([&](std::string_view run, int it, double objective) {
    EXPECT_GT(objective, 0);
    seen.emplace_back(std::string(run), it);
    if (it == 3) request_cancel();
  });
  Result<KMeansResult> r = kmeans_train(2000, 8, x.data(), 16, p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCancelled);
  EXPECT_EQ(r.status().message(), "training was cancelled");
  ASSERT_EQ(seen.size(), 3u);  // stopped right after the iteration that asked
  EXPECT_EQ(seen.back(), (std::pair<std::string, int>{"kmeans", 3}));

  // Cleared (and without the observer that cancels), the same call runs to its end.
  clear_cancel();
  set_progress_observer(nullptr);
  r = kmeans_train(2000, 8, x.data(), 16, p);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->iterations.size(), 20u);
}

TEST_F(CancelTest, PqStopsBeforeItsSubSpaces) {
  const auto x = random_rows(1000, 8);
  PqParams p;
  p.num_sub_vectors = 4;
  p.num_bits = 4;
  request_cancel();
  Result<PqCodebook> r = pq_train(1000, 8, x.data(), p);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCancelled);
}

}  // namespace
}  // namespace ivftrain
