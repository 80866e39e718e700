// Pieces of hierarchical k-means exposed for tests.
#pragma once

#include <cstdint>
#include <vector>

namespace ivftrain {

// Splits k centroids among groups in proportion to their sizes: floor(k * size / n) each, the
// rest to the largest remainders (ties to the smaller index), then adjusted one at a time so
// that every non-empty group gets at least 1 and no group more than its size (the adjustment
// takes from the group furthest above its exact share, gives to the one furthest below).
// Requires sum(sizes) >= k >= number of non-empty groups. The shares sum to k exactly.
std::vector<int64_t> share_centroids(const std::vector<int64_t>& sizes, int64_t k);

}  // namespace ivftrain
