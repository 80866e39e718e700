// Internal pieces of the sampling plan shared by the planner and the samplers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ivftrain/dataset.h"
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

// The path made absolute (against the working directory) and lexically normal: how fingerprints
// and the dataset layout name files, so that a plan and its workers compare them alike.
std::string absolute_normal_path(const std::string& path);

// create_sample_tasks, with the files' fingerprints read only when `fingerprint_files`. Without,
// the fragments' FileFingerprint is empty and execute_sample_task does not check the files:
// for train_local, which samples in the same call, where reading every file's pages twice
// (to plan and to check) would only slow down a dataset of many small files.
Result<std::vector<SampleTask>> plan_sample_tasks(const Dataset& dataset, const TrainParams& params,
                                                  int num_workers,
                                                  const std::vector<int64_t>& fragment_ids,
                                                  Assignment assignment, bool fingerprint_files);

}  // namespace ivftrain
