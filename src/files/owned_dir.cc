#include "files/owned_dir.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "train/params_json.h"
#include "util/files.h"

namespace ivftrain {

Status replaceable_owned_dir(const std::string& dir, const OwnedDirKind& kind) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string refuse =
      fmt::format("; --overwrite replaces only a {} directory ivftrain wrote", kind.noun);
  if (!fs::is_directory(fs::symlink_status(dir, ec))) {
    return Status::AlreadyExists(fmt::format("{} is not a {} directory{}", dir, kind.noun, refuse));
  }
  const std::string json_path = (fs::path(dir) / kind.json_name).string();
  Result<std::string> text = read_file(json_path);
  Result<nlohmann::json> j = text.ok() ? parse_json(*text, json_path) : text.status();
  if (!j.ok() || !check_json_format(*j, kind.format, kind.version, json_path).ok()) {
    return Status::AlreadyExists(
        fmt::format("{} holds no {} of an ivftrain {}{}", dir, kind.json_name, kind.noun, refuse));
  }
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name != kind.json_name && !kind.owns(entry)) {
      return Status::AlreadyExists(
          fmt::format("{} holds {}, which ivftrain did not write{}", dir, name, refuse));
    }
  }
  return Status::OK();
}

}  // namespace ivftrain
