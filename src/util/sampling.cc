#include "util/sampling.h"

#include <algorithm>
#include <unordered_set>

namespace ivftrain {

std::vector<int64_t> choose_sorted(Rng& rng, int64_t n, int64_t count) {
  std::vector<int64_t> out;
  if (count <= 0) return out;
  out.reserve(static_cast<size_t>(count));
  if (count * 8 >= n) {
    // Selection sampling (Knuth's Algorithm S): one pass over [0, n), output already sorted.
    int64_t needed = count;
    for (int64_t i = 0; i < n && needed > 0; ++i) {
      if (static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(n - i))) < needed) {
        out.push_back(i);
        --needed;
      }
    }
    return out;
  }
  // Floyd's algorithm: exactly `count` draws, memory proportional to count.
  std::unordered_set<int64_t> chosen;
  chosen.reserve(static_cast<size_t>(count) * 2);
  for (int64_t j = n - count; j < n; ++j) {
    const auto t = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(j + 1)));
    if (!chosen.insert(t).second) chosen.insert(j);
  }
  out.assign(chosen.begin(), chosen.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace ivftrain
