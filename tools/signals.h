// SIGINT and SIGTERM: the command line removes its own staging files before it ends.
#pragma once

namespace ivftrain::cli {

// Handles SIGINT and SIGTERM: the handler only wakes a thread of its own, which removes this
// process's staging files (remove_own_staging: model and plan .tmp directories, result .tmp
// files, gen's staging directory) and then ends the process by the same signal, so that a shell
// sees the conventional status (130, 143). Call it first in main.
void remove_staging_on_signals();

}  // namespace ivftrain::cli
