#include "ivftrain/dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "io/formats.h"
#include "io/manifest.h"
#include "io/vector_file.h"
#include "util/files.h"
#include "util/status_macros.h"

namespace ivftrain {

namespace fs = std::filesystem;

namespace {

// Dataset::Impl's content, at namespace scope so that the helpers below may fill it.
struct DatasetContents {
  std::string path;
  int64_t dim = 0;
  int64_t num_rows = 0;
  std::vector<FragmentInfo> fragments;  // sorted by id
  // files[i] holds fragments[i]; fragments of one file share one opened VectorFile.
  std::vector<std::shared_ptr<const VectorFile>> files;

  void add(FragmentInfo info, std::shared_ptr<const VectorFile> file) {
    num_rows += info.num_rows;
    fragments.push_back(std::move(info));
    files.push_back(std::move(file));
  }
};

using FilePtr = std::shared_ptr<const VectorFile>;

Result<FilePtr> open_shared(const std::string& spec, const DatasetOptions& options) {
  IVF_ASSIGN_OR_RETURN(std::unique_ptr<VectorFile> file,
                       open_vector_file(spec, options.hdf5_dataset));
  return FilePtr(std::move(file));
}

Status open_single_file(const std::string& path, const DatasetOptions& options,
                        DatasetContents* impl) {
  IVF_ASSIGN_OR_RETURN(FilePtr file, open_shared(path, options));
  impl->dim = file->dim();
  const int64_t n = file->num_rows(), step = options.rows_per_fragment;
  for (int64_t first = 0, id = 0; first < n; first += step, ++id) {
    impl->add({id, std::min(step, n - first), file->path(), first}, file);
  }
  return Status::OK();
}

Status open_directory(const std::string& dir, const DatasetOptions& options,
                      DatasetContents* impl) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // Hidden files include the temporaries of atomic writes still in progress.
    if (name.empty() || name[0] == '.' || !is_vector_file_name(name)) continue;
    if (fs::is_regular_file(it->path(), ec)) names.push_back(name);
  }
  if (ec) return Status::IOError(fmt::format("cannot list {}: {}", dir, ec.message()));
  if (names.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: directory has no supported vector file (.npy, .fvecs, .bvecs, .fbin, .u8bin, "
        ".i8bin, .hdf5, .h5)",
        dir));
  }
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i < names.size(); ++i) {
    IVF_ASSIGN_OR_RETURN(FilePtr file, open_shared((fs::path(dir) / names[i]).string(), options));
    if (i == 0) {
      impl->dim = file->dim();
    } else if (file->dim() != impl->dim) {
      return Status::FailedPrecondition(
          fmt::format("{}: {} has dimension {} but {} has dimension {}", dir, file->path(),
                      file->dim(), impl->fragments[0].path, impl->dim));
    }
    impl->add({static_cast<int64_t>(i), file->num_rows(), file->path(), 0}, file);
  }
  return Status::OK();
}

Status open_manifest(const std::string& manifest, const DatasetOptions& options,
                     DatasetContents* impl) {
  IVF_ASSIGN_OR_RETURN(const std::string text, read_file(manifest));
  IVF_ASSIGN_OR_RETURN(std::vector<ManifestEntry> entries, parse_manifest(text, manifest));
  std::sort(entries.begin(), entries.end(),
            [](const ManifestEntry& a, const ManifestEntry& b) { return a.id < b.id; });
  std::map<std::string, FilePtr> opened;  // one VectorFile per file, shared by its fragments
  const ManifestEntry* first_entry = nullptr;
  for (const ManifestEntry& e : entries) {
    FilePtr& file = opened[e.resolved_path];
    if (!file) {
      Result<FilePtr> r = open_shared(e.resolved_path, options);
      if (!r.ok()) return r.status().WithContext(fmt::format("{}: fragment {}", manifest, e.id));
      file = std::move(r).value();
    }
    const int64_t file_rows = file->num_rows();
    const int64_t num_rows = e.num_rows.value_or(file_rows - std::min(e.first_row, file_rows));
    if (e.first_row >= file_rows || num_rows < 1 || num_rows > file_rows - e.first_row) {
      return Status::InvalidArgument(fmt::format(
          "{}: fragment {} rows {}..{} exceed {}'s {} rows", manifest, e.id, e.first_row,
          static_cast<uint64_t>(e.first_row) + static_cast<uint64_t>(num_rows), e.path, file_rows));
    }
    if (!first_entry) {
      first_entry = &e;
      impl->dim = file->dim();
    } else if (file->dim() != impl->dim) {
      return Status::FailedPrecondition(fmt::format(
          "{}: fragment {} ({}) has dimension {} but fragment {} ({}) has dimension {}", manifest,
          e.id, e.path, file->dim(), first_entry->id, first_entry->path, impl->dim));
    }
    impl->add({e.id, num_rows, file->path(), e.first_row}, file);
  }
  return Status::OK();
}

}  // namespace

struct Dataset::Impl : DatasetContents {};

Result<Dataset> Dataset::open(const std::string& path, const DatasetOptions& options) {
  if (options.rows_per_fragment < 1) {
    return Status::InvalidArgument(
        fmt::format("rows_per_fragment must be >= 1, got {}", options.rows_per_fragment));
  }
  if (path.empty()) return Status::InvalidArgument("empty dataset path");
  auto impl = std::make_shared<Impl>();
  impl->path = path;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (fs::is_directory(st)) {
    IVF_RETURN_IF_ERROR(open_directory(path, options, impl.get()));
  } else if (ext == ".json") {
    IVF_RETURN_IF_ERROR(open_manifest(path, options, impl.get()));
  } else if (is_vector_file_name(path)) {
    IVF_RETURN_IF_ERROR(open_single_file(path, options, impl.get()));
  } else if (!fs::exists(st)) {
    return Status::NotFound(fmt::format("{} does not exist", path));
  } else {
    return Status::InvalidArgument(fmt::format(
        "{}: not a directory, a manifest (.json) or a supported vector file (.npy, .fvecs, "
        ".bvecs, .fbin, .u8bin, .i8bin, .hdf5, .h5)",
        path));
  }
  return Dataset(std::move(impl));
}

const std::string& Dataset::path() const { return impl_->path; }
int64_t Dataset::dim() const { return impl_->dim; }
int64_t Dataset::num_rows() const { return impl_->num_rows; }
const std::vector<FragmentInfo>& Dataset::fragments() const { return impl_->fragments; }

const FragmentInfo* Dataset::find_fragment(int64_t id) const {
  const auto& f = impl_->fragments;
  const auto it = std::lower_bound(f.begin(), f.end(), id,
                                   [](const FragmentInfo& a, int64_t b) { return a.id < b; });
  return it != f.end() && it->id == id ? &*it : nullptr;
}

Status Dataset::read_rows(int64_t fragment_id, std::span<const int64_t> rows, float* out) const {
  const FragmentInfo* f = find_fragment(fragment_id);
  if (!f) {
    return Status::InvalidArgument(fmt::format("{}: no fragment {}", impl_->path, fragment_id));
  }
  int64_t previous = -1;
  for (const int64_t r : rows) {
    if (r < 0 || r >= f->num_rows || r <= previous) {
      return Status::InvalidArgument(fmt::format(
          "{}: fragment {}: row {} is {} (rows must be strictly increasing and < {})", impl_->path,
          fragment_id, r, r <= previous && r >= 0 ? "out of order" : "out of range", f->num_rows));
    }
    previous = r;
  }
  const VectorFile& file = *impl_->files[static_cast<size_t>(f - impl_->fragments.data())];
  if (f->first_row == 0) return file.read_rows(rows, out);
  std::vector<int64_t> file_rows(rows.begin(), rows.end());
  for (int64_t& r : file_rows) r += f->first_row;
  return file.read_rows(file_rows, out);
}

Status Dataset::read_range(int64_t fragment_id, int64_t first, int64_t count, float* out) const {
  const FragmentInfo* f = find_fragment(fragment_id);
  if (!f) {
    return Status::InvalidArgument(fmt::format("{}: no fragment {}", impl_->path, fragment_id));
  }
  if (first < 0 || count < 0 || first > f->num_rows - count) {
    return Status::InvalidArgument(
        fmt::format("{}: fragment {}: rows {}..{} are out of range (the fragment has {} rows)",
                    impl_->path, fragment_id, first, first + count, f->num_rows));
  }
  const VectorFile& file = *impl_->files[static_cast<size_t>(f - impl_->fragments.data())];
  return file.read_range(f->first_row + first, count, out);
}

namespace {

// An array in memory behind the reader interface: rows converted as MappedVectorFile converts
// them, so that an array and a .npy file of it give the same floats.
class ArrayVectorFile final : public VectorFile {
 public:
  ArrayVectorFile(std::string name, const void* data, int64_t rows, int64_t dim, ElementType type,
                  std::shared_ptr<const void> owner)
      : VectorFile(std::move(name), rows, dim, type), data_(static_cast<const char*>(data)),
        owner_(std::move(owner)) {}

  Status read_rows(std::span<const int64_t> rows, float* out) const override {
    IVF_RETURN_IF_ERROR(check_rows(path_, num_rows_, rows));
    const auto row_bytes = static_cast<int64_t>(element_size(type_)) * dim_;
    for (size_t i = 0; i < rows.size(); ++i) {
      convert_to_float(type_, data_ + rows[i] * row_bytes, dim_,
                       out + static_cast<int64_t>(i) * dim_);
    }
    return Status::OK();
  }

 private:
  const char* data_;
  std::shared_ptr<const void> owner_;
};

ElementType element_type_of(ArrayType type) {
  switch (type) {
    case ArrayType::kFloat32: return ElementType::kFloat32;
    case ArrayType::kFloat16: return ElementType::kFloat16;
    case ArrayType::kFloat64: return ElementType::kFloat64;
    case ArrayType::kUInt8: return ElementType::kUInt8;
    case ArrayType::kInt8: return ElementType::kInt8;
  }
  return ElementType::kFloat32;
}

}  // namespace

Result<Dataset> Dataset::from_array(std::string name, const void* data, int64_t rows, int64_t dim,
                                    ArrayType type, std::shared_ptr<const void> owner,
                                    const DatasetOptions& options) {
  if (options.rows_per_fragment < 1) {
    return Status::InvalidArgument(
        fmt::format("rows_per_fragment must be >= 1, got {}", options.rows_per_fragment));
  }
  if (rows < 1 || dim < 1 || !checked_product(rows, dim, 8) || (data == nullptr)) {
    return Status::InvalidArgument(
        fmt::format("{}: an array of shape ({}, {}) cannot be trained on: it needs at least one "
                    "row and one column",
                    name, rows, dim));
  }
  auto impl = std::make_shared<Impl>();
  impl->path = name;
  impl->dim = dim;
  const FilePtr file = std::make_shared<ArrayVectorFile>(std::move(name), data, rows, dim,
                                                         element_type_of(type), std::move(owner));
  const int64_t step = options.rows_per_fragment;
  for (int64_t first = 0, id = 0; first < rows; first += step, ++id) {
    impl->add({id, std::min(step, rows - first), file->path(), first}, file);
  }
  return Dataset(std::move(impl));
}

}  // namespace ivftrain
