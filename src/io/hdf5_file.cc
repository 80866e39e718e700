// HDF5 vector files (ann-benchmarks' layout: a 2-D dataset, "train" by default), read and
// written through the HDF5 C API. HDF5 converts any numeric element type to float32 on read.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include "io/formats.h"
#include "io/hdf5_util.h"
#include "util/open_file.h"

namespace ivftrain {
namespace {

class Hdf5VectorFile final : public VectorFile {
 public:
  // `chunk_cache_bytes`: the chunk cache a read needs to decompress each chunk once (0: the
  // dataset is not chunked, HDF5's default cache).
  Hdf5VectorFile(std::string spec, H5Handle file, std::string dataset, int64_t rows, int64_t dim,
                 ElementType type, size_t chunk_cache_bytes, size_t chunk_cache_slots)
      : VectorFile(std::move(spec), rows, dim, type), file_(std::move(file)),
        dataset_name_(std::move(dataset)), chunk_cache_bytes_(chunk_cache_bytes),
        chunk_cache_slots_(chunk_cache_slots) {}
  ~Hdf5VectorFile() override {
    Hdf5Lock lock;
    file_.reset();
  }

  Status read_rows(std::span<const int64_t> rows, float* out) const override {
    if (Status st = check_rows(path_, num_rows_, rows); !st.ok()) return st;
    // Consecutive rows become one hyperslab block: a sorted sample is mostly short runs, a
    // range is one.
    std::vector<Run> runs;
    for (const int64_t r : rows) {
      if (!runs.empty() && runs.back().first + runs.back().count == r) {
        ++runs.back().count;
      } else {
        runs.push_back({r, 1});
      }
    }
    return read_runs(runs, out);
  }

  Status read_range(int64_t first, int64_t count, float* out) const override {
    if (first < 0 || count < 0 || first > num_rows_ - count) {
      return Status::InvalidArgument(
          fmt::format("{}: rows {}..{} are out of range (the file has {} rows)", path_, first,
                      first + count, num_rows_));
    }
    if (count == 0) return Status::OK();
    const Run run{first, count};
    return read_runs({&run, 1}, out);
  }

 private:
  struct Run {
    int64_t first, count;
  };

  // Reads the runs in order into `out`. Adding a block to an HDF5 (1.10) selection costs time
  // proportional to the blocks already in it, so the runs are read in small batches: for 90k
  // random rows of 200k x 64, one selection took 75 s, batches of 256 runs 0.16 s, of 16
  // runs 0.026 s, one run per read 0.09 s.
  //
  // Each read decompresses every chunk it touches unless the chunk cache holds them: HDF5's
  // default cache (1 MiB) holds no chunk of a large compressed dataset, and sampling then
  // decompressed a chunk once per batch of runs (2,048 rows of a 100,000 x 64 gzip file stored
  // as one chunk: 20 s). The dataset is opened for each call with a cache that holds the chunks
  // a row band spans, and closed after it, so the cache's memory is held only while reading.
  Status read_runs(std::span<const Run> runs, float* out) const {
    constexpr size_t kRunsPerRead = 16;
    Hdf5Lock lock;
    H5Handle access(H5Pcreate(H5P_DATASET_ACCESS), H5Pclose);
    if (!access.valid() ||
        (chunk_cache_bytes_ > 0 &&
         // w0 = 1: a chunk read whole is evicted first (rows are read in increasing order).
         H5Pset_chunk_cache(access.get(), chunk_cache_slots_, chunk_cache_bytes_, 1.0) < 0)) {
      return read_error(runs.empty() ? 0 : runs.front().first);
    }
    H5Handle dataset(H5Dopen2(file_.get(), dataset_name_.c_str(), access.get()), H5Dclose);
    if (!dataset.valid()) return read_error(runs.empty() ? 0 : runs.front().first);
    for (size_t begin = 0; begin < runs.size(); begin += kRunsPerRead) {
      const size_t end = std::min(runs.size(), begin + kRunsPerRead);
      H5Handle file_space(H5Dget_space(dataset.get()), H5Sclose);
      if (!file_space.valid()) return read_error(runs[begin].first);
      hsize_t total = 0;
      for (size_t i = begin; i < end; ++i) {
        const hsize_t start[2] = {static_cast<hsize_t>(runs[i].first), 0};
        const hsize_t count[2] = {static_cast<hsize_t>(runs[i].count), static_cast<hsize_t>(dim_)};
        if (H5Sselect_hyperslab(file_space.get(), i == begin ? H5S_SELECT_SET : H5S_SELECT_OR,
                                start, nullptr, count, nullptr) < 0) {
          return read_error(runs[i].first);
        }
        total += count[0];
      }
      const hsize_t mem_dims[2] = {total, static_cast<hsize_t>(dim_)};
      H5Handle mem_space(H5Screate_simple(2, mem_dims, nullptr), H5Sclose);
      if (!mem_space.valid() || H5Dread(dataset.get(), H5T_NATIVE_FLOAT, mem_space.get(),
                                        file_space.get(), H5P_DEFAULT, out) < 0) {
        return read_error(runs[begin].first);
      }
      out += static_cast<int64_t>(total) * dim_;
    }
    return Status::OK();
  }

  Status read_error(int64_t row) const {
    return Status::IOError(fmt::format("{}: HDF5 failed to read rows from row {}", path_, row));
  }

  H5Handle file_;
  std::string dataset_name_;
  size_t chunk_cache_bytes_ = 0, chunk_cache_slots_ = 0;
};

// The names of the objects at the root of a file, to help someone who named the wrong one.
std::string root_names(hid_t file) {
  std::vector<std::string> names;
  H5Literate(
      file, H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->emplace_back(name);
        return 0;
      },
      &names);
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

// True when every component of `name` ("train", "/group/train") exists as a link.
bool link_exists(hid_t file, const std::string& name) {
  for (size_t pos = name.find('/', 1);; pos = name.find('/', pos + 1)) {
    const std::string prefix = name.substr(0, pos);
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (pos == std::string::npos) return true;
  }
}

// The chunk cache (bytes, hash slots) that holds every chunk of two row bands of a chunked
// 2-D dataset (a read of sorted rows then decompresses each chunk once), or {0, 0} when the
// dataset is not chunked. Capped: a chunk larger than the cap is decompressed again per read.
std::pair<size_t, size_t> chunk_cache_for(hid_t dataset, hsize_t dim, size_t element_bytes) {
  constexpr size_t kMaxCacheBytes = size_t{512} << 20;
  H5Handle create(H5Dget_create_plist(dataset), H5Pclose);
  if (!create.valid() || H5Pget_layout(create.get()) != H5D_CHUNKED) return {0, 0};
  hsize_t chunk[2] = {0, 0};
  if (H5Pget_chunk(create.get(), 2, chunk) != 2 || chunk[0] == 0 || chunk[1] == 0) return {0, 0};
  const hsize_t per_band = (dim + chunk[1] - 1) / chunk[1];
  const long double bytes =
      2.0L * per_band * static_cast<long double>(chunk[0]) * chunk[1] * element_bytes;
  const size_t cache = static_cast<size_t>(std::min<long double>(bytes, kMaxCacheBytes));
  // HDF5 suggests about 100 hash slots per cached chunk (a prime would be better; any works).
  const size_t slots = static_cast<size_t>(std::min<hsize_t>(200 * per_band + 1, 1 << 20));
  return {std::max<size_t>(cache, size_t{1} << 20), std::max<size_t>(slots, 521)};
}

ElementType element_type_of(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT) {
    if (size == 2) return ElementType::kFloat16;
    if (size == 8) return ElementType::kFloat64;
    return ElementType::kFloat32;
  }
  if (size == 1)
    return H5Tget_sign(type) == H5T_SGN_NONE ? ElementType::kUInt8 : ElementType::kInt8;
  return ElementType::kFloat32;  // wider integers: HDF5 converts them; no closer enum value
}

}  // namespace

Result<VectorFilePtr> open_hdf5_file(const std::string& path, const std::string& dataset) {
  const std::string spec = path + ":" + dataset;
  // Refuses a FIFO before HDF5 blocks in its open, and says why a file cannot be opened (too
  // many open files) before HDF5 could report it as "not an HDF5 file".
  if (Status st = check_readable_regular_file(path); !st.ok()) return st;
  if (dataset.empty()) {
    return Status::InvalidArgument(fmt::format("{}: empty HDF5 dataset name", path));
  }
  Hdf5Lock lock;
  errno = 0;
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  // A failure to open is not a verdict on the bytes (the check above opened it a moment ago).
  if (is_hdf5 < 0 && (errno == EMFILE || errno == ENFILE)) return open_error(path, errno);
  if (is_hdf5 <= 0) return Status::Corruption(fmt::format("{} is not an HDF5 file", path));
  errno = 0;
  H5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!file.valid()) {
    if (errno == EMFILE || errno == ENFILE) return open_error(path, errno);
    // The usual cause on cluster file systems is HDF5's file locking.
    return Status::IOError(
        fmt::format("HDF5 cannot open {} (on a file system without locking, set "
                    "HDF5_USE_FILE_LOCKING=FALSE)",
                    path));
  }
  if (!link_exists(file.get(), dataset)) {
    return Status::NotFound(fmt::format("{} has no dataset '{}' (at its root: {})", path, dataset,
                                        root_names(file.get())));
  }
  H5Handle data(H5Dopen2(file.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!data.valid()) {
    return Status::InvalidArgument(fmt::format("{}: '{}' is not a dataset", path, dataset));
  }
  H5Handle space(H5Dget_space(data.get()), H5Sclose);
  const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (rank != 2) {
    std::vector<hsize_t> dims(rank > 0 ? static_cast<size_t>(rank) : 0);
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    return Status::InvalidArgument(fmt::format(
        "{}: expected a 2-D dataset (rows, dim), found shape ({})", spec, fmt::join(dims, ", ")));
  }
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  H5Handle type(H5Dget_type(data.get()), H5Tclose);
  const H5T_class_t cls = type.valid() ? H5Tget_class(type.get()) : H5T_NO_CLASS;
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
    return Status::InvalidArgument(
        fmt::format("{}: elements are not numbers (integer or floating point)", spec));
  }
  const ElementType element = element_type_of(type.get());
  const auto [cache_bytes, cache_slots] =
      chunk_cache_for(data.get(), dims[1], H5Tget_size(type.get()));
  // Closed now: each read opens it with the chunk cache it needs (see read_runs).
  data.reset();
  return VectorFilePtr(std::make_unique<Hdf5VectorFile>(
      spec, std::move(file), dataset, static_cast<int64_t>(dims[0]), static_cast<int64_t>(dims[1]),
      element, cache_bytes, cache_slots));
}

Status write_hdf5_file(const std::string& path, int64_t n, int64_t dim, const RowSource& rows,
                       const std::string& dataset) {
  namespace fs = std::filesystem;
  static std::atomic<uint64_t> counter{0};
  const fs::path target(path);
  const std::string temp =
      (target.parent_path() /
       fmt::format(".{}.tmp-{}-{}", target.filename().string(), ::getpid(), counter.fetch_add(1)))
          .string();
  {
    Hdf5Lock lock;
    H5Handle file(H5Fcreate(temp.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
    if (!file.valid()) return Status::IOError(fmt::format("HDF5 cannot create {}", path));
    H5Handle links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(links.get(), 1);  // "group/name" creates "group"
    const hsize_t dims[2] = {static_cast<hsize_t>(n), static_cast<hsize_t>(dim)};
    H5Handle space(H5Screate_simple(2, dims, nullptr), H5Sclose);
    H5Handle set(H5Dcreate2(file.get(), dataset.c_str(), H5T_IEEE_F32LE, space.get(), links.get(),
                            H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
    bool ok = set.valid();
    Status source_status;
    // A block of rows at a time, each written to its hyperslab of the (contiguous) dataset.
    const int64_t block = write_block_rows(dim);
    std::vector<float> buffer;
    for (int64_t first = 0; ok && first < n; first += block) {
      const int64_t count = std::min(block, n - first);
      buffer.resize(static_cast<size_t>(count * dim));
      source_status = rows(first, count, buffer.data());
      if (!source_status.ok()) break;
      const hsize_t start[2] = {static_cast<hsize_t>(first), 0};
      const hsize_t shape[2] = {static_cast<hsize_t>(count), static_cast<hsize_t>(dim)};
      H5Handle file_space(H5Dget_space(set.get()), H5Sclose);
      H5Handle mem_space(H5Screate_simple(2, shape, nullptr), H5Sclose);
      ok = file_space.valid() && mem_space.valid() &&
           H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, shape, nullptr) >=
               0 &&
           H5Dwrite(set.get(), H5T_NATIVE_FLOAT, mem_space.get(), file_space.get(), H5P_DEFAULT,
                    buffer.data()) >= 0;
    }
    ok = set.reset() && ok;
    ok = file.reset() && ok;
    if (!ok || !source_status.ok()) {
      ::unlink(temp.c_str());
      if (!source_status.ok()) return source_status;
      return Status::IOError(fmt::format("HDF5 cannot write dataset '{}' of {}", dataset, path));
    }
  }
  // HDF5 does not sync; do it before the rename makes the file visible.
  const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!synced || ::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(temp.c_str());
    return Status::IOError(fmt::format("cannot write {}: {}", path, err));
  }
  return Status::OK();
}

}  // namespace ivftrain
