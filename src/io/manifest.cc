#include "io/manifest.h"

#include <fmt/format.h>

#include <algorithm>
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

std::string row_range(const ManifestEntry& e) {
  return e.num_rows ? fmt::format("rows {}..{}", e.first_row,
                                  static_cast<uint64_t>(e.first_row) + *e.num_rows)
                    : fmt::format("rows {}..end", e.first_row);
}

// The same rows listed twice would be sampled twice and counted twice: refuse entries of one file
// whose row ranges overlap (an entry without num_rows runs to the end of the file). Files are
// compared by their lexically normal path (a symlink or hard link to the same file is not seen).
Status check_no_overlap(const std::vector<ManifestEntry>& entries,
                        const std::string& manifest_path) {
  std::vector<const ManifestEntry*> order;
  for (const auto& e : entries) order.push_back(&e);
  const auto key = [](const ManifestEntry* e) {
    return std::filesystem::path(e->resolved_path).lexically_normal().string();
  };
  std::sort(order.begin(), order.end(), [&](const ManifestEntry* a, const ManifestEntry* b) {
    const std::string ka = key(a), kb = key(b);
    return ka != kb ? ka < kb : a->first_row < b->first_row;
  });
  const ManifestEntry* reach = nullptr;  // the entry reaching furthest in the current file
  for (const ManifestEntry* e : order) {
    if (reach && key(reach) == key(e)) {
      const bool overlaps = !reach->num_rows || e->first_row - reach->first_row < *reach->num_rows;
      if (overlaps) {
        return Status::InvalidArgument(fmt::format(
            "{}: fragments {} ({} {}) and {} ({} {}) overlap: the same rows would be sampled "
            "twice",
            manifest_path, reach->id, reach->path, row_range(*reach), e->id, e->path,
            row_range(*e)));
      }
      const auto end = [](const ManifestEntry* x) {  // both below 2^63: no overflow
        return static_cast<uint64_t>(x->first_row) + static_cast<uint64_t>(*x->num_rows);
      };
      const bool further = !e->num_rows || end(e) > end(reach);
      if (further) reach = e;
    } else {
      reach = e;
    }
  }
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
  if (Status st = check_no_overlap(entries, manifest_path); !st.ok()) return st;
  return entries;
}

}  // namespace ivftrain
