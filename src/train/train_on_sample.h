// Training on an in-memory sample: the step shared by train_local and train_from_samples.
#pragma once

#include <vector>

#include "ivftrain/models.h"

namespace ivftrain {

// Trains IVF, then PQ (on residuals for l2/cosine) or takes the SQ bounds, from `sample`
// (rows x dim, canonical order, already normalised for cosine). IVF and PQ each train on a
// seeded subset when the sample holds more rows than they want (sample_rate x k). The sample is
// consumed: its memory is released before PQ training starts. `models.stats` must already hold
// the sampling statistics; `sq_bounds` are the merged bounds of the whole sample.
Status train_on_sample(std::vector<float> sample, int64_t rows, SqBounds sq_bounds,
                       TrainedModels& models);

}  // namespace ivftrain
