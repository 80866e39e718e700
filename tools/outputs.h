// The output checks every writing subcommand makes before its first read: the output is not an
// input, does not contain one and is not inside one.
#pragma once

#include <string>
#include <vector>

#include "ivftrain/dataset.h"
#include "ivftrain/status.h"

namespace ivftrain::cli {

// Every file a dataset reads: the path given (a file, directory or manifest) and each
// fragment's file.
std::vector<std::string> dataset_inputs(const std::string& path, const Dataset* dataset);

}  // namespace ivftrain::cli
