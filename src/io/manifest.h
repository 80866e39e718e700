// Dataset manifests: a JSON list of fragments, each a row range of one vector file.
//   {"fragments": [{"id": 7, "path": "a.fbin", "first_row": 0, "num_rows": 1000}, ...]}
// "first_row" defaults to 0 and "num_rows" to the rest of the file; other top-level keys are
// ignored (room for comments or provenance), unknown keys inside a fragment are refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ivftrain/status.h"

namespace ivftrain {

struct ManifestEntry {
  int64_t id = 0;
  std::string path;           // as written in the manifest (for messages)
  std::string resolved_path;  // relative paths joined to the manifest's directory
  int64_t first_row = 0;
  std::optional<int64_t> num_rows;
};

// Parses and checks the manifest's schema (types, non-negative values, num_rows >= 1, unique
// ids, no unknown keys). Whether the rows exist is checked when the files are opened. Errors
// name `manifest_path` and the fragment.
Result<std::vector<ManifestEntry>> parse_manifest(const std::string& json_text,
                                                  const std::string& manifest_path);

}  // namespace ivftrain
