#include "pipeline/plan.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <numeric>

#include "io/formats.h"
#include "train/params_json.h"
#include "util/checked_math.h"
#include "util/rng.h"
#include "util/sampling.h"
#include "util/status_macros.h"

namespace ivftrain {

__extension__ typedef __int128 int128;  // exact S * N_i for any sizes

std::vector<int64_t> allocate_quotas(const std::vector<int64_t>& fragment_rows, int64_t sample_rows,
                                     uint64_t seed) {
  const int128 total = std::accumulate(fragment_rows.begin(), fragment_rows.end(), int128{0});
  std::vector<int64_t> quotas(fragment_rows.size(), 0);
  if (total == 0 || sample_rows <= 0) return quotas;
  // Remainders rem_i = S * N_i mod N lie on a line of length R * N (R = rows left to place);
  // points U, U + N, U + 2N, ... with one uniform U in [0, N) each give one extra row to the
  // fragment whose segment they fall in. A segment is shorter than N, so at most one each.
  std::vector<int128> remainders(fragment_rows.size());
  int64_t placed = 0;
  for (size_t i = 0; i < fragment_rows.size(); ++i) {
    const int128 scaled = int128{sample_rows} * fragment_rows[i];
    quotas[i] = static_cast<int64_t>(scaled / total);
    remainders[i] = scaled % total;
    placed += quotas[i];
  }
  if (placed == sample_rows) return quotas;
  Rng rng(derive_seed(seed, kSeedQuotaRounding, 0));
  int128 point = static_cast<int128>(rng.uniform(static_cast<uint64_t>(total)));
  int128 segment_end = 0;
  for (size_t i = 0; i < fragment_rows.size(); ++i) {
    segment_end += remainders[i];
    if (point < segment_end) {
      ++quotas[i];
      point += total;
    }
  }
  return quotas;
}

std::vector<int64_t> fragment_sample_rows(uint64_t seed, int64_t fragment_id, int64_t num_rows,
                                          int64_t quota) {
  Rng rng(derive_seed(seed, kSeedFragmentRows, static_cast<uint64_t>(fragment_id)));
  return choose_sorted(rng, num_rows, quota);
}

namespace {

// Hashes the whole file when small, else its first 64 KiB (every format's header, and the first
// rows), 16 pages at evenly spread offsets and the last page: about 128 KiB read whatever the
// file's size, so planning stays cheap, while a header rewritten, a file truncated, extended or
// replaced, or rows rewritten in place in most places are noticed. (Size and mtime catch most of
// the rest; a hash of every byte would cost a full read of the dataset per worker.)
constexpr int64_t kHeadBytes = 64 << 10;
constexpr int64_t kPageBytes = 4096;
constexpr int kSpreadPages = 16;
constexpr int64_t kWholeFileBytes = 256 << 10;

Status hash_file_content(int fd, const std::string& path, int64_t size, uint64_t* hash) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::vector<char> buffer;
  const auto add = [&](int64_t offset, int64_t length) -> Status {
    buffer.resize(static_cast<size_t>(length));
    int64_t done = 0;
    while (done < length) {
      const ssize_t n = ::pread(fd, buffer.data() + done, static_cast<size_t>(length - done),
                                static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return Status::IOError(
            fmt::format("cannot read {} to fingerprint it: {}", path,
                        n == 0 ? "the file is shorter than its size" : std::strerror(errno)));
      }
      done += n;
    }
    XXH3_64bits_update(state, buffer.data(), buffer.size());
    return Status::OK();
  };
  Status st;
  if (size <= kWholeFileBytes) {
    st = add(0, size);
  } else {
    st = add(0, kHeadBytes);
    for (int i = 1; st.ok() && i <= kSpreadPages; ++i) {
      const int64_t at = size / (kSpreadPages + 1) * i / kPageBytes * kPageBytes;
      st = add(at, std::min(kPageBytes, size - at));
    }
    if (st.ok()) st = add(size - kPageBytes, kPageBytes);
  }
  *hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return st;
}

// "0,3,7-9": the selection in the form parse_fragment_list reads. `ids` ascending.
std::string format_fragment_list(const std::vector<int64_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", ids[i]) : fmt::format("{}-{}", ids[i], ids[j]);
    i = j + 1;
  }
  return out;
}

// Fragment indices (into `selected`) per worker.
std::vector<std::vector<size_t>> assign_fragments(const std::vector<const FragmentInfo*>& selected,
                                                  int num_workers, Assignment assignment) {
  std::vector<std::vector<size_t>> per_worker(static_cast<size_t>(num_workers));
  if (assignment == Assignment::kRoundRobin) {
    for (size_t i = 0; i < selected.size(); ++i) per_worker[i % num_workers].push_back(i);
  } else {
    // Longest processing time first: the largest fragment goes to the least loaded worker.
    std::vector<size_t> order(selected.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return selected[a]->num_rows > selected[b]->num_rows;
    });
    std::vector<int64_t> load(static_cast<size_t>(num_workers), 0);
    for (size_t i : order) {
      const size_t w =
          static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      per_worker[w].push_back(i);
      load[w] += selected[i]->num_rows;
    }
    for (auto& v : per_worker) std::sort(v.begin(), v.end());
  }
  return per_worker;
}

}  // namespace

std::string absolute_normal_path(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path abs = std::filesystem::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

Result<FileFingerprint> fingerprint_file(const std::string& fragment_path) {
  std::string file = fragment_path;
  if (!std::filesystem::exists(file)) {
    if (auto h5 = split_hdf5_spec(fragment_path)) file = h5->file;
  }
  FileFingerprint out;
  out.path = absolute_normal_path(fragment_path);
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return Status::IOError(
        fmt::format("cannot fingerprint {}: {}", fragment_path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(fmt::format("{} is not a regular file", file));
  }
  out.size = static_cast<int64_t>(st.st_size);
  out.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return Status::IOError(
        fmt::format("cannot open {} to fingerprint it: {}", file, std::strerror(errno)));
  }
  Status read = hash_file_content(fd, file, out.size, &out.content_hash);
  ::close(fd);
  IVF_RETURN_IF_ERROR(read);
  return out;
}

uint64_t dataset_layout_hash(const std::vector<FragmentInfo>& fragments, size_t count) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  for (size_t i = 0; i < std::min(count, fragments.size()); ++i) {
    const FragmentInfo& f = fragments[i];
    const std::string item =
        fmt::format("{}:{}:{}:{};", f.id, f.num_rows, f.first_row, absolute_normal_path(f.path));
    XXH3_64bits_update(state, item.data(), item.size());
  }
  const uint64_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return hash;
}

int64_t estimated_training_bytes(const SampleTask& task) {
  // Rows x dim floats of the sample, a copy of the rows gathered for the quantizer, the IVF
  // centroids and their sums, the PQ codebook, and per-row assignments and distances.
  const TrainParams& p = task.params;
  const int64_t dim = task.dim;
  const int64_t rows = task.sample_rows_planned;
  const int64_t quantizer_rows = std::min(rows, quantizer_sample_rows(p));
  int64_t bytes = saturating_mul({rows, dim, 4});
  bytes = saturating_add(bytes, saturating_mul({quantizer_rows, dim, 4}));
  bytes = saturating_add(bytes, saturating_mul({p.ivf.num_partitions, dim, 4 * 3}));
  if (p.index_type == IndexType::kIvfPq) {
    bytes = saturating_add(bytes, saturating_mul({int64_t{1} << p.pq.num_bits, dim, 4 * 3}));
  }
  bytes = saturating_add(bytes, saturating_mul({rows, 16}));
  return bytes;
}

Result<std::vector<SampleTask>> create_sample_tasks(const Dataset& dataset,
                                                    const TrainParams& params, int num_workers,
                                                    const std::vector<int64_t>& fragment_ids,
                                                    Assignment assignment) {
  return plan_sample_tasks(dataset, params, num_workers, fragment_ids, assignment, true);
}

Result<std::vector<SampleTask>> plan_sample_tasks(const Dataset& dataset, const TrainParams& params,
                                                  int num_workers,
                                                  const std::vector<int64_t>& fragment_ids,
                                                  Assignment assignment, bool fingerprint_files) {
  IVF_RETURN_IF_ERROR(validate(params, dataset.dim()));
  if (num_workers < 1 || num_workers > kMaxWorkers) {
    return Status::InvalidArgument(
        fmt::format("--workers must be between 1 and {} (got {})", kMaxWorkers, num_workers));
  }
  std::vector<const FragmentInfo*> selected;
  std::string selection;
  if (fragment_ids.empty()) {
    for (const auto& f : dataset.fragments()) selected.push_back(&f);
  } else {
    std::vector<int64_t> ids = fragment_ids;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (int64_t id : ids) {
      const FragmentInfo* f = dataset.find_fragment(id);
      if (!f) {
        return Status::NotFound(
            fmt::format("fragment {} is not in dataset {} (it has {} fragments, ids {}..{})", id,
                        dataset.path(), dataset.fragments().size(), dataset.fragments().front().id,
                        dataset.fragments().back().id));
      }
      selected.push_back(f);
    }
    if (ids.size() < dataset.fragments().size()) selection = format_fragment_list(ids);
  }
  std::vector<int64_t> rows;
  for (const auto* f : selected) rows.push_back(f->num_rows);
  const int64_t available = std::accumulate(rows.begin(), rows.end(), int64_t{0});
  const int64_t sample = std::min(sample_rows_wanted(params), available);
  const std::vector<int64_t> quotas = allocate_quotas(rows, sample, params.seed);

  // Every file once, even when it holds several fragments.
  std::vector<FileFingerprint> files(selected.size());
  for (size_t i = 0; i < selected.size(); ++i) {
    if (i > 0 && selected[i]->path == selected[i - 1]->path) {
      files[i] = files[i - 1];
      continue;
    }
    if (fingerprint_files) {
      IVF_ASSIGN_OR_RETURN(files[i], fingerprint_file(selected[i]->path));
    }
  }
  const int64_t dataset_fragments = static_cast<int64_t>(dataset.fragments().size());
  const uint64_t layout = dataset_layout_hash(dataset.fragments(), dataset.fragments().size());

  // The plan id names this exact plan: dataset layout and files, parameters, workers and
  // assignment. A plan made again after a file changed gets another id, so results sampled
  // before the change cannot be mixed with those sampled after it.
  std::string identity = fmt::format(
      "dim={};workers={};assign={};params={:016x};layout={:016x}:{};", dataset.dim(), num_workers,
      static_cast<int>(assignment), params_fingerprint(params), layout, dataset_fragments);
  for (size_t i = 0; i < selected.size(); ++i) {
    const FragmentInfo* f = selected[i];
    identity += fmt::format("{}:{}:{}:{}:{}:{}:{:016x};", f->id, f->num_rows, f->path, f->first_row,
                            files[i].size, files[i].mtime_ns, files[i].content_hash);
  }
  const std::string plan_id =
      fmt::format("{:016x}", XXH64(identity.data(), identity.size(), 0x1f7a11));

  std::vector<SampleTask> tasks(static_cast<size_t>(num_workers));
  const auto per_worker = assign_fragments(selected, num_workers, assignment);
  for (int w = 0; w < num_workers; ++w) {
    SampleTask& t = tasks[static_cast<size_t>(w)];
    t.plan_id = plan_id;
    t.worker = w;
    t.num_workers = num_workers;
    t.params = params;
    t.dim = dataset.dim();
    t.rows_available = available;
    t.sample_rows_planned = sample;
    t.fragments_in_plan = static_cast<int64_t>(selected.size());
    t.selection = selection;
    t.dataset_fragments = dataset_fragments;
    t.dataset_layout = layout;
    for (size_t i : per_worker[static_cast<size_t>(w)]) {
      t.fragments.push_back(
          {selected[i]->id, selected[i]->num_rows, quotas[i], selected[i]->first_row, files[i]});
    }
  }
  return tasks;
}

}  // namespace ivftrain
