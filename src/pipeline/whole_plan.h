// The check train_from_samples makes of its results, shared with sharded training.
#pragma once

#include <vector>

#include "ivftrain/distributed.h"

namespace ivftrain {

// Refuses results that do not form one whole plan made with `params` (a worker missing or given
// twice, results of different plans, other parameters, other totals or dimensions), naming the
// worker. The results' vectors are not looked at.
Status check_whole_plan(const std::vector<SampleResult>& results, const TrainParams& params);

}  // namespace ivftrain
