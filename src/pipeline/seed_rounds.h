// k-means|| initialisation in rounds (RoundStage::kSeed, rounds.h): the merge rounds.cc
// dispatches to.
#pragma once

#include <vector>

#include "ivftrain/rounds.h"

namespace ivftrain {

// merge_round of a kSeed round (partials already checked against the state): the next
// oversampling round's state with the rows drawn appended to the candidates, or, after the last
// (or when phi is 0), the first flat round's state with the k initial centroids.
Result<RoundMerge> merge_seed_round(const RoundState& state,
                                    const std::vector<RoundPartial>& partials,
                                    const TrainParams& params, const IvfRowsFetch& fetch);

}  // namespace ivftrain
