// Sample-result files. Layout (little-endian):
//   magic "IVFSMPL\0" | u32 version | u32 sq_mode | char plan_id[16] | i32 worker | i32 workers
//   | u64 params_hash | i64 dim | i64 n | i64 rows_read | i64 dropped_nonfinite
//   | i64 dropped_zero_norm | i64 rows_available | i64 sample_rows_planned | i64 fragments_in_plan
//   | i64 sq_len | f32 sq_lower[sq_len] | f32 sq_upper[sq_len]
//   | i64 fragment_ids[n] | i64 rows[n] | f32 vectors[n * dim] | u64 xxh64(all bytes before)
// The sizes in the header must account for the file exactly, and the checksum must match, so a
// truncated, padded or corrupted file is refused before anything is used.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <bit>
#include <cstring>
#include <limits>

#include "ivftrain/plan_files.h"
#include "util/files.h"
#include "util/status_macros.h"

static_assert(std::endian::native == std::endian::little, "result files are little-endian");

namespace ivftrain {
namespace {

constexpr char kMagic[8] = {'I', 'V', 'F', 'S', 'M', 'P', 'L', '\0'};
constexpr uint32_t kVersion = 1;
constexpr size_t kPlanIdBytes = 16;
constexpr size_t kHeaderBytes = 8 + 4 + 4 + kPlanIdBytes + 4 + 4 + 8 + 9 * 8;

template <typename T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
void put_array(std::string& out, const std::vector<T>& v) {
  out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

class Reader {
 public:
  Reader(const std::string& bytes) : bytes_(bytes) {}
  template <typename T>
  T get() {
    T v;
    std::memcpy(&v, bytes_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  template <typename T>
  void get_array(std::vector<T>& v, size_t count) {
    v.resize(count);
    if (count) std::memcpy(v.data(), bytes_.data() + at_, count * sizeof(T));
    at_ += count * sizeof(T);
  }
  void get_bytes(char* dst, size_t count) {
    std::memcpy(dst, bytes_.data() + at_, count);
    at_ += count;
  }

 private:
  const std::string& bytes_;
  size_t at_ = 0;
};

}  // namespace

std::string serialize_sample_result(const SampleResult& r) {
  std::string out;
  const size_t n = r.rows.size();
  out.reserve(kHeaderBytes + r.sq_bounds.lower.size() * 8 + n * 16 + r.vectors.size() * 4 + 8);
  out.append(kMagic, sizeof kMagic);
  put(out, kVersion);
  put(out, static_cast<uint32_t>(r.sq_bounds.mode));
  char id[kPlanIdBytes] = {};
  std::memcpy(id, r.plan_id.data(), std::min(r.plan_id.size(), kPlanIdBytes));
  out.append(id, kPlanIdBytes);
  put(out, static_cast<int32_t>(r.worker));
  put(out, static_cast<int32_t>(r.num_workers));
  put(out, r.params_hash);
  for (int64_t v : {r.dim, static_cast<int64_t>(n), r.rows_read, r.rows_dropped_nonfinite,
                    r.rows_dropped_zero_norm, r.rows_available, r.sample_rows_planned,
                    r.fragments_in_plan, static_cast<int64_t>(r.sq_bounds.lower.size())}) {
    put(out, v);
  }
  put_array(out, r.sq_bounds.lower);
  put_array(out, r.sq_bounds.upper);
  put_array(out, r.fragment_ids);
  put_array(out, r.rows);
  put_array(out, r.vectors);
  put(out, static_cast<uint64_t>(XXH64(out.data(), out.size(), 0)));
  return out;
}

namespace {

// Parses a sample result from `bytes`: the whole file (`bytes.size() == file_size`), or only its
// part before the vectors, whose checksum the caller has verified (the vectors are then left
// out).
Result<SampleResult> parse_result(const std::string& bytes, uint64_t file_size,
                                  const std::string& name) {
  const bool whole = bytes.size() == file_size;
  auto corrupt = [&](const std::string& why) {
    return Status::Corruption(fmt::format("{} is not a usable sample result: {}", name, why));
  };
  if (file_size < kHeaderBytes + 8 || bytes.size() < kHeaderBytes) {
    return corrupt("it is truncated (shorter than a header)");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return corrupt("wrong magic (not an ivftrain sample result)");
  }
  Reader in(bytes);
  char magic[8];
  in.get_bytes(magic, 8);
  const auto version = in.get<uint32_t>();
  if (version != kVersion) {
    return corrupt(fmt::format("format version {}, this build reads {}", version, kVersion));
  }
  const auto sq_mode = in.get<uint32_t>();
  char id[kPlanIdBytes];
  in.get_bytes(id, kPlanIdBytes);
  SampleResult r;
  r.plan_id.assign(id, strnlen(id, kPlanIdBytes));
  r.worker = in.get<int32_t>();
  r.num_workers = in.get<int32_t>();
  r.params_hash = in.get<uint64_t>();
  r.dim = in.get<int64_t>();
  const auto n = in.get<int64_t>();
  r.rows_read = in.get<int64_t>();
  r.rows_dropped_nonfinite = in.get<int64_t>();
  r.rows_dropped_zero_norm = in.get<int64_t>();
  r.rows_available = in.get<int64_t>();
  r.sample_rows_planned = in.get<int64_t>();
  r.fragments_in_plan = in.get<int64_t>();
  const auto sq_len = in.get<int64_t>();
  // Every size is checked against the file before anything is allocated.
  const uint64_t payload = file_size - kHeaderBytes - 8;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max() / 16;
  if (r.dim < 1 || n < 0 || sq_len < 0 || static_cast<uint64_t>(r.dim) > kMax ||
      static_cast<uint64_t>(n) > kMax || static_cast<uint64_t>(sq_len) > kMax || sq_mode > 1 ||
      r.worker < 0 || r.num_workers < 1 || r.worker >= r.num_workers) {
    return corrupt("its header holds impossible values");
  }
  const uint64_t un = static_cast<uint64_t>(n), ud = static_cast<uint64_t>(r.dim);
  if (ud != 0 && un > kMax / ud) return corrupt("its header holds impossible values");
  if (static_cast<uint64_t>(sq_len) > payload / 8 || un > payload / 16 ||
      (un != 0 && ud > payload / 4 / un)) {
    return corrupt("it is truncated");
  }
  const uint64_t expected = static_cast<uint64_t>(sq_len) * 8 + un * 16 + un * ud * 4;
  if (expected != payload) {
    return corrupt(payload < expected ? "it is truncated" : "it has trailing bytes");
  }
  const uint64_t prefix = kHeaderBytes + static_cast<uint64_t>(sq_len) * 8 + un * 16;
  if (whole) {
    uint64_t stored;
    std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
    if (XXH64(bytes.data(), bytes.size() - 8, 0) != stored) {
      return corrupt("its checksum does not match (the file is corrupted)");
    }
  } else if (bytes.size() < prefix) {
    return corrupt("it is truncated");
  }
  r.sq_bounds.mode = static_cast<SqBoundsMode>(sq_mode);
  in.get_array(r.sq_bounds.lower, static_cast<size_t>(sq_len));
  in.get_array(r.sq_bounds.upper, static_cast<size_t>(sq_len));
  in.get_array(r.fragment_ids, static_cast<size_t>(n));
  in.get_array(r.rows, static_cast<size_t>(n));
  if (whole) in.get_array(r.vectors, static_cast<size_t>(un * ud));
  for (int64_t i = 1; i < n; ++i) {
    const bool ordered = r.fragment_ids[i] > r.fragment_ids[i - 1] ||
                         (r.fragment_ids[i] == r.fragment_ids[i - 1] && r.rows[i] > r.rows[i - 1]);
    if (!ordered) return corrupt("its rows are not in (fragment, row) order");
  }
  return r;
}

}  // namespace

Result<SampleResult> parse_sample_result(const std::string& bytes, const std::string& name) {
  return parse_result(bytes, bytes.size(), name);
}

namespace {

// A result file is replaced only when it is one (a regular file that starts with the magic),
// so that `sample --out` never replaces a dataset, a task or a file of the user's.
Status replaceable_result(const std::string& path) {
  const std::string refuse = fmt::format(
      "{} already exists and is not a sample result; sample replaces only its own results", path);
  struct stat sb {};
  if (::lstat(path.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    return Status::AlreadyExists(refuse);
  }
  char magic[sizeof kMagic] = {};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  const ssize_t got = fd < 0 ? -1 : ::read(fd, magic, sizeof magic);
  if (fd >= 0) ::close(fd);
  if (got != static_cast<ssize_t>(sizeof magic) || std::memcmp(magic, kMagic, sizeof kMagic)) {
    return Status::AlreadyExists(refuse);
  }
  return Status::OK();
}

}  // namespace

Status check_sample_result_output(const std::string& path) {
  return check_output(path, true, replaceable_result);
}

Status write_sample_result(const std::string& path, const SampleResult& result) {
  std::string bytes = serialize_sample_result(result);
  // The final check, just before the file is replaced.
  IVF_RETURN_IF_ERROR(check_sample_result_output(path));
  return write_file_atomic(path, bytes);
}

Result<SampleResult> read_sample_result(const std::string& path) {
  IVF_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return parse_sample_result(bytes, path);
}

namespace {

// An open file read piecewise with pread; closed when destroyed.
class PieceReader {
 public:
  explicit PieceReader(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  ~PieceReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  PieceReader(const PieceReader&) = delete;
  PieceReader& operator=(const PieceReader&) = delete;

  Status open_status() const {
    if (fd_ >= 0) return Status::OK();
    return Status::IOError(fmt::format("cannot open {}: {}", path_, std::strerror(errno)));
  }
  Result<uint64_t> size() const {
    struct stat sb {};
    if (::fstat(fd_, &sb) != 0) {
      return Status::IOError(fmt::format("cannot read {}: {}", path_, std::strerror(errno)));
    }
    return static_cast<uint64_t>(sb.st_size);
  }
  Status read(uint64_t offset, void* dst, size_t count) const {
    char* out = static_cast<char*>(dst);
    while (count > 0) {
      const ssize_t got = ::pread(fd_, out, count, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        return Status::IOError(
            fmt::format("cannot read {}: {}", path_,
                        got == 0 ? "unexpected end of file" : std::strerror(errno)));
      }
      out += got, offset += static_cast<uint64_t>(got), count -= static_cast<size_t>(got);
    }
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

uint64_t vectors_offset(const SampleResult& index) {
  return kHeaderBytes + index.sq_bounds.lower.size() * 8 + index.rows.size() * 16;
}

}  // namespace

Result<SampleResult> read_sample_result_index(const std::string& path, bool verify_checksum) {
  PieceReader in(path);
  IVF_RETURN_IF_ERROR(in.open_status());
  IVF_ASSIGN_OR_RETURN(const uint64_t size, in.size());
  if (size < kHeaderBytes + 8) {
    return Status::Corruption(fmt::format(
        "{} is not a usable sample result: it is truncated (shorter than a header)", path));
  }
  // What precedes the vectors: the header says how long it is (parse_result checks the sizes
  // against the file's before anything is used).
  std::string head(kHeaderBytes, '\0');
  IVF_RETURN_IF_ERROR(in.read(0, head.data(), head.size()));
  int64_t n = 0, sq_len = 0;
  std::memcpy(&n, head.data() + kHeaderBytes - 8 * 8, 8);
  std::memcpy(&sq_len, head.data() + kHeaderBytes - 8, 8);
  uint64_t prefix = kHeaderBytes;
  if (n >= 0 && sq_len >= 0 && static_cast<uint64_t>(n) <= size / 16 &&
      static_cast<uint64_t>(sq_len) <= size / 8) {
    prefix = std::min<uint64_t>(
        size - 8, kHeaderBytes + static_cast<uint64_t>(sq_len) * 8 + static_cast<uint64_t>(n) * 16);
  }
  std::string before_vectors(static_cast<size_t>(prefix), '\0');
  IVF_RETURN_IF_ERROR(in.read(0, before_vectors.data(), before_vectors.size()));
  IVF_ASSIGN_OR_RETURN(SampleResult r, parse_result(before_vectors, size, path));
  if (!verify_checksum) return r;
  // The checksum over the whole file, streamed: the vectors are read once and not kept.
  XXH64_state_t* hash = XXH64_createState();
  XXH64_reset(hash, 0);
  std::string chunk(size_t{1} << 20, '\0');
  Status st = Status::OK();
  for (uint64_t at = 0; at < size - 8;) {
    const size_t count = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - 8 - at));
    st = in.read(at, chunk.data(), count);
    if (!st.ok()) break;
    XXH64_update(hash, chunk.data(), count);
    at += count;
  }
  const uint64_t computed = XXH64_digest(hash);
  XXH64_freeState(hash);
  IVF_RETURN_IF_ERROR(st);
  uint64_t stored = 0;
  IVF_RETURN_IF_ERROR(in.read(size - 8, &stored, 8));
  if (computed != stored) {
    return Status::Corruption(fmt::format(
        "{} is not a usable sample result: its checksum does not match (the file is corrupted)",
        path));
  }
  return r;
}

Result<std::vector<float>> read_sample_result_rows(const std::string& path,
                                                   const SampleResult& index,
                                                   const std::vector<int64_t>& rows) {
  PieceReader in(path);
  IVF_RETURN_IF_ERROR(in.open_status());
  const int64_t d = index.dim;
  std::vector<float> out(rows.size() * static_cast<size_t>(d));
  const uint64_t base = vectors_offset(index);
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= index.size()) {
      return Status::Corruption(
          fmt::format("{} holds no row {} (it has {})", path, rows[i], index.size()));
    }
    IVF_RETURN_IF_ERROR(in.read(base + static_cast<uint64_t>(rows[i] * d) * 4,
                                out.data() + i * static_cast<size_t>(d),
                                static_cast<size_t>(d) * 4));
  }
  return out;
}

}  // namespace ivftrain
