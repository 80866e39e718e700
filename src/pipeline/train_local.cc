#include <chrono>

#include "ivftrain/distributed.h"
#include "ivftrain/train.h"
#include "pipeline/plan.h"
#include "util/status_macros.h"

namespace ivftrain {

Result<TrainedModels> train_local(const Dataset& dataset, const TrainParams& params,
                                  const std::vector<int64_t>& fragment_ids) {
  // The distributed strategy with one worker: one sampling and training path for both.
  const auto t0 = std::chrono::steady_clock::now();
  IVF_ASSIGN_OR_RETURN(
      std::vector<SampleTask> tasks,
      plan_sample_tasks(dataset, params, 1, fragment_ids, Assignment::kBalanced, false));
  IVF_ASSIGN_OR_RETURN(SampleResult sample, execute_sample_task(dataset, tasks.front()));
  const double sample_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<SampleResult> results;
  results.push_back(std::move(sample));
  IVF_ASSIGN_OR_RETURN(TrainedModels models, train_from_samples(std::move(results), params));
  models.timings.sample_seconds = sample_seconds;
  models.timings.total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return models;
}

}  // namespace ivftrain
