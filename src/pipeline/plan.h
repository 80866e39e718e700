// Internal pieces of the sampling plan shared by the planner and the samplers.
#pragma once

#include <cstdint>
#include <vector>

#include "ivftrain/distributed.h"

namespace ivftrain {

// Splits `sample_rows` over fragments of `fragment_rows` rows (fragments in id order) so that the
// total is exactly sample_rows and every row has inclusion probability sample_rows / total:
// each fragment gets floor(S * N_i / N), and the remainders are rounded by systematic sampling
// with one seeded offset. Depends only on the seed and the fragment sizes.
std::vector<int64_t> allocate_quotas(const std::vector<int64_t>& fragment_rows, int64_t sample_rows,
                                     uint64_t seed);

// The rows (sorted, fragment-relative) that fragment `fragment_id` contributes.
std::vector<int64_t> fragment_sample_rows(uint64_t seed, int64_t fragment_id, int64_t num_rows,
                                          int64_t quota);

}  // namespace ivftrain
