// Thread counts. ivftrain parallelises with OpenMP and calls OpenBLAS single-threaded from
// inside its own parallel regions, so the two never oversubscribe the cores.
#pragma once

namespace ivftrain {

// `requested` if positive, otherwise the number of cores OpenMP reports.
int resolve_threads(int requested);

// Makes OpenBLAS single-threaded (cheap: a check when it already is).
void use_single_threaded_blas();

}  // namespace ivftrain
