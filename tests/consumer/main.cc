// Trains k-means through the installed public API on three well-separated groups of generated
// rows and checks that a centroid lands on each group's centre. Exits 0 and prints "ok" when it
// does; prints what went wrong and exits 1 otherwise.
#include <ivftrain/kmeans.h>
#include <ivftrain/status.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
  const int64_t d = 2, per_group = 200;
  const float centres[3][2] = {{0, 0}, {10, 0}, {0, 10}};
  std::vector<float> x;
  for (const auto& c : centres) {
    for (int64_t i = 0; i < per_group; ++i) {
      // A fixed spread around the centre, within 0.5 in each coordinate.
      x.push_back(c[0] + 0.5f * std::sin(static_cast<float>(i)));
      x.push_back(c[1] + 0.5f * std::cos(static_cast<float>(i) * 1.7f));
    }
  }
  ivftrain::KMeansParams params;
  params.max_iters = 20;
  params.init = ivftrain::KMeansInit::kKMeansPlusPlus;  // random starts may share a group
  params.seed = 7;
  params.num_threads = 1;
  const int64_t n = static_cast<int64_t>(x.size()) / d;
  ivftrain::Result<ivftrain::KMeansResult> result =
      ivftrain::kmeans_train(n, d, x.data(), 3, params);
  if (!result.ok()) {
    std::fprintf(stderr, "kmeans_train failed: %s\n", result.status().ToString().c_str());
    return 1;
  }
  if (result->k != 3 || result->d != d || result->centroids.size() != 6 ||
      result->iterations.empty()) {
    std::fprintf(stderr, "unexpected result shape\n");
    return 1;
  }
  for (const auto& c : centres) {
    double best = 1e30;
    for (int64_t j = 0; j < 3; ++j) {
      const double dx = result->centroids[2 * j] - c[0], dy = result->centroids[2 * j + 1] - c[1];
      best = std::min(best, std::sqrt(dx * dx + dy * dy));
    }
    if (best > 0.5) {
      std::fprintf(stderr, "no centroid near (%g, %g): the nearest is %g away\n", c[0], c[1], best);
      return 1;
    }
  }
  // Also an error through the public API: k larger than n is refused with a Status.
  if (ivftrain::kmeans_train(n, d, x.data(), n + 1, params).ok()) {
    std::fprintf(stderr, "k > n was accepted\n");
    return 1;
  }
  std::printf("ok: 3 centroids on the 3 groups of %lld rows, objective %g\n",
              static_cast<long long>(n), result->objective);
  return 0;
}
