#include "outputs.h"

namespace ivftrain::cli {

std::vector<std::string> dataset_inputs(const std::string& path, const Dataset* dataset) {
  std::vector<std::string> inputs{path};
  if (dataset != nullptr) {
    for (const FragmentInfo& f : dataset->fragments()) inputs.push_back(f.path);
  }
  return inputs;
}

}  // namespace ivftrain::cli
