// Local training: one process samples the dataset (or some of its fragments) and trains.
// It runs the distributed strategy's three phases with one worker, so both give the same model.
#pragma once

#include <cstdint>
#include <vector>

#include "ivftrain/dataset.h"
#include "ivftrain/models.h"
#include "ivftrain/params.h"
#include "ivftrain/status.h"

namespace ivftrain {

// Samples the fragments in `fragment_ids` (all fragments when empty) and trains the models.
// Errors: invalid parameters, unknown fragment ids, unreadable fragments, too few usable rows.
Result<TrainedModels> train_local(const Dataset& dataset, const TrainParams& params,
                                  const std::vector<int64_t>& fragment_ids = {});

}  // namespace ivftrain
