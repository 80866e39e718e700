// What "nearest" means, for every assignment in ivftrain.
#pragma once

namespace ivftrain {

// The smallest squared l2 distance, or the largest inner product (dot distance). Cosine is l2 on
// normalised vectors.
enum class Metric { kL2, kInnerProduct };

}  // namespace ivftrain
