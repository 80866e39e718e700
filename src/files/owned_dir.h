// What `--overwrite` may replace: only a directory ivftrain wrote. A model directory and a plan
// directory are recognised the same way — their JSON file of ivftrain's format, and nothing
// beside it but the entries ivftrain writes there — so that no file of the user's is ever
// deleted with them.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "ivftrain/status.h"

namespace ivftrain {

struct OwnedDirKind {
  const char* noun;       // "model", "plan": a "model directory" holds "an ivftrain model"
  const char* json_name;  // the file that marks it: "model.json", "plan.json"
  const char* format;     // its "format" field
  int version;            // its "format_version"
  // Whether an entry (other than json_name) is one ivftrain writes there.
  std::function<bool(const std::filesystem::directory_entry&)> owns;
};

// OK when `dir` is a directory (not a symlink) of that kind; otherwise an AlreadyExists error
// naming what is in the way ("DIR holds notes.txt, which ivftrain did not write; --overwrite
// replaces only a model directory ivftrain wrote").
Status replaceable_owned_dir(const std::string& dir, const OwnedDirKind& kind);

}  // namespace ivftrain
