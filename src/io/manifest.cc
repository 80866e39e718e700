#include "io/manifest.h"

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

namespace ivftrain {
namespace {

using nlohmann::json;

// Reads `key` as a non-negative integer when present.
Status read_count(const json& entry, const char* key, const std::string& where,
                  std::optional<int64_t>* out) {
  const auto it = entry.find(key);
  if (it == entry.end()) return Status::OK();
  const bool fits =
      it->is_number_integer() &&
      (it->is_number_unsigned() ? it->get<uint64_t>() <= INT64_MAX : it->get<int64_t>() >= 0);
  if (!fits) {
    return Status::InvalidArgument(
        fmt::format("{}: \"{}\" must be a non-negative integer, found {}", where, key, it->dump()));
  }
  *out = it->get<int64_t>();
  return Status::OK();
}

}  // namespace

Result<std::vector<ManifestEntry>> parse_manifest(const std::string& json_text,
                                                  const std::string& manifest_path) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {
    // nlohmann's messages start with an "[json.exception.parse_error.101] " tag.
    std::string what = e.what();
    if (const size_t tag = what.find("] "); tag != std::string::npos) what.erase(0, tag + 2);
    return Status::InvalidArgument(fmt::format("{}: not valid JSON: {}", manifest_path, what));
  }
  if (!doc.is_object() || !doc.contains("fragments") || !doc["fragments"].is_array()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an object with a \"fragments\" array", manifest_path));
  }
  const json& list = doc["fragments"];
  if (list.empty()) {
    return Status::InvalidArgument(fmt::format("{}: \"fragments\" is empty", manifest_path));
  }
  const std::filesystem::path base = std::filesystem::path(manifest_path).parent_path();
  std::vector<ManifestEntry> entries;
  std::set<int64_t> ids;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& item = list[i];
    std::string where = fmt::format("{}: fragment entry {}", manifest_path, i);
    if (!item.is_object()) {
      return Status::InvalidArgument(fmt::format("{} is not an object", where));
    }
    for (const auto& [key, value] : item.items()) {
      if (key != "id" && key != "path" && key != "first_row" && key != "num_rows") {
        return Status::InvalidArgument(fmt::format(
            "{} has unknown key \"{}\" (expected id, path, first_row, num_rows)", where, key));
      }
    }
    std::optional<int64_t> id, first_row, num_rows;
    if (Status st = read_count(item, "id", where, &id); !st.ok()) return st;
    if (!id) return Status::InvalidArgument(fmt::format("{} has no \"id\"", where));
    where = fmt::format("{}: fragment {}", manifest_path, *id);
    if (!ids.insert(*id).second) {
      return Status::InvalidArgument(
          fmt::format("{}: fragment id {} appears more than once", manifest_path, *id));
    }
    if (!item.contains("path") || !item["path"].is_string() ||
        item["path"].get<std::string>().empty()) {
      return Status::InvalidArgument(fmt::format("{} needs a \"path\" string", where));
    }
    if (Status st = read_count(item, "first_row", where, &first_row); !st.ok()) return st;
    if (Status st = read_count(item, "num_rows", where, &num_rows); !st.ok()) return st;
    if (num_rows && *num_rows < 1) {
      return Status::InvalidArgument(fmt::format("{}: \"num_rows\" must be >= 1", where));
    }
    ManifestEntry e;
    e.id = *id;
    e.path = item["path"].get<std::string>();
    const std::filesystem::path p(e.path);
    e.resolved_path = p.is_absolute() || base.empty() ? e.path : (base / p).string();
    e.first_row = first_row.value_or(0);
    e.num_rows = num_rows;
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace ivftrain
