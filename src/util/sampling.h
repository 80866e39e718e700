// Choosing rows uniformly without replacement.
#pragma once

#include <cstdint>
#include <vector>

#include "util/rng.h"

namespace ivftrain {

// `count` distinct values of [0, n), sorted ascending, chosen uniformly (Floyd's algorithm for
// small counts, selection sampling for large ones). Requires 0 <= count <= n. The same rng state
// gives the same values.
std::vector<int64_t> choose_sorted(Rng& rng, int64_t n, int64_t count);

}  // namespace ivftrain
