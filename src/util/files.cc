#include "util/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include "util/log.h"
#include "util/open_file.h"
#include "util/status_macros.h"

namespace fs = std::filesystem;

namespace ivftrain {
namespace {

// The operating system's calls.
class PosixFileSystem : public FileSystem {
 public:
  ssize_t write(int fd, const void* data, size_t size) override { return ::write(fd, data, size); }
  int fsync(int fd) override { return ::fsync(fd); }
  int rename(const char* from, const char* to) override { return ::rename(from, to); }
};

std::atomic<FileSystem*> g_file_system{nullptr};  // nullptr: the default

uint64_t fnv1a(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// A short hash of the host name: staging names tell this host's processes from others' on a
// shared file system, where a process id means nothing.
const std::string& host_tag() {
  static const std::string tag = [] {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) name[0] = '\0';
    return fmt::format("{:08x}", static_cast<uint32_t>(fnv1a(name)));
  }();
  return tag;
}

// The output's name as staging names carry it: whole when ".NAME.old-HOST-PID-N" fits in
// NAME_MAX, else its head and a hash of it (the same for every process, so that leftovers can
// be found again).
std::string staging_base(const std::string& name) {
  constexpr size_t kTail = 1 + 4 + 8 + 1 + 10 + 1 + 20;  // ".old-" HOST "-" PID "-" N
  if (1 + name.size() + kTail <= NAME_MAX) return name;
  return fmt::format("{}~{:016x}", name.substr(0, NAME_MAX - 1 - kTail - 17), fnv1a(name));
}

// DIR/.BASE.KIND-HOST-PID-N, unique within the process.
std::string staging_path(const std::string& final_path, const char* kind) {
  static std::atomic<uint64_t> counter{0};
  const fs::path p(final_path);
  const std::string name = fmt::format(".{}.{}-{}-{}-{}", staging_base(p.filename().string()), kind,
                                       host_tag(), ::getpid(), counter.fetch_add(1));
  return p.has_parent_path() ? (p.parent_path() / name).string() : name;
}

// This process's staging entries: path -> the final path to put it back at when it holds an
// old directory moved aside ("" when it is only to be removed).
std::mutex g_staging_mu;
std::map<std::string, std::string>& own_staging() {
  static auto* staging = new std::map<std::string, std::string>();  // outlives static dtors
  return *staging;
}
void register_staging(const std::string& path, const std::string& restore_to = "") {
  std::lock_guard<std::mutex> lock(g_staging_mu);
  own_staging()[path] = restore_to;
}
void unregister_staging(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_staging_mu);
  own_staging().erase(path);
}

bool is_unsupported(int error) {
  return error == EINVAL || error == ENOSYS || error == ENOTSUP || error == EOPNOTSUPP;
}

Status write_fd(int fd, std::string_view bytes, const std::string& shown_path) {
  FileSystem* const fs = file_system();
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = fs->write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(fmt::format("cannot write {}: {}", shown_path, std::strerror(errno)));
    }
    done += static_cast<size_t>(w);
  }
  if (fs->fsync(fd) != 0) {
    return Status::IOError(fmt::format("cannot sync {}: {}", shown_path, std::strerror(errno)));
  }
  return Status::OK();
}

Status write_new_file(const std::string& path, std::string_view bytes,
                      const std::string& shown_path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError(fmt::format("cannot create {}: {}", shown_path, std::strerror(errno)));
  }
  Status st = write_fd(fd, bytes, shown_path);
  if (::close(fd) != 0 && st.ok()) {
    st = Status::IOError(fmt::format("cannot close {}: {}", shown_path, std::strerror(errno)));
  }
  if (!st.ok()) ::unlink(path.c_str());
  return st;
}

std::string parent_of(const std::string& path) {
  fs::path p = fs::path(path).parent_path();
  return p.empty() ? std::string(".") : p.string();
}

}  // namespace

FileSystem* default_file_system() {
  static PosixFileSystem posix;
  return &posix;
}

FileSystem* file_system() {
  FileSystem* fs = g_file_system.load();
  return fs ? fs : default_file_system();
}

FileSystem* set_file_system(FileSystem* fs) {
  FileSystem* previous = g_file_system.exchange(fs);
  return previous ? previous : default_file_system();
}

int FileSystem::exchange(const char* a, const char* b) {
  return ::renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

int FileSystem::rename_noreplace(const char* from, const char* to) {
  return ::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

void FaultyFileSystem::fail_write_call(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  write_calls_left_ = n;
}

void FaultyFileSystem::fail_after_bytes(int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  byte_limit_ = bytes < 0 ? -1 : bytes_written_ + bytes;
}

void FaultyFileSystem::fail_renames(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_renames_ = fail;
}

int64_t FaultyFileSystem::bytes_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_written_;
}

void FaultyFileSystem::fail_exchange(int error) {
  std::lock_guard<std::mutex> lock(mu_);
  exchange_errno_ = error;
}

void FaultyFileSystem::crash_after_rename_call(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  renames_left_ = n;
}

void FaultyFileSystem::signal_at_write_call(int64_t n, int signal) {
  std::lock_guard<std::mutex> lock(mu_);
  signal_writes_left_ = n;
  signal_ = signal;
}

ssize_t FaultyFileSystem::write(int fd, const void* data, size_t size) {
  std::unique_lock<std::mutex> lock(mu_);
  if (signal_writes_left_ > 0 && --signal_writes_left_ == 0) {
    const int sig = signal_;
    lock.unlock();
    ::kill(::getpid(), sig);
    // SIGSTOP stops the process here; continued, it goes on writing. Any other signal ends it.
    while (sig != SIGSTOP) std::this_thread::sleep_for(std::chrono::seconds(1));
    lock.lock();
  }
  if (write_calls_left_ > 0 && --write_calls_left_ == 0) {
    errno = ENOSPC;
    return -1;
  }
  if (byte_limit_ >= 0) {
    const auto room = static_cast<size_t>(std::max<int64_t>(0, byte_limit_ - bytes_written_));
    if (room == 0 && size > 0) {
      errno = ENOSPC;
      return -1;
    }
    size = std::min(size, room);
  }
  const ssize_t w = ::write(fd, data, size);
  if (w > 0) bytes_written_ += w;
  return w;
}

int FaultyFileSystem::fsync(int fd) { return ::fsync(fd); }

int FaultyFileSystem::renamed(int result) {
  if (renames_left_ > 0 && --renames_left_ == 0) ::_exit(kCrashExitCode);
  return result;
}

int FaultyFileSystem::rename(const char* from, const char* to) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_renames_) {
    errno = EIO;
    return -1;
  }
  return renamed(::rename(from, to));
}

int FaultyFileSystem::exchange(const char* a, const char* b) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_renames_ || exchange_errno_ != 0) {
    errno = fail_renames_ ? EIO : exchange_errno_;
    return -1;
  }
  return renamed(FileSystem::exchange(a, b));
}

int FaultyFileSystem::rename_noreplace(const char* from, const char* to) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_renames_) {
    errno = EIO;
    return -1;
  }
  return renamed(FileSystem::rename_noreplace(from, to));
}

void set_write_failure_after_for_testing(int n) {
  static FaultyFileSystem faulty;
  faulty.fail_write_call(n);
  set_file_system(n > 0 ? &faulty : nullptr);
}

Status write_file_atomic(const std::string& given_path, std::string_view bytes) {
  IVF_ASSIGN_OR_RETURN(const std::string path, output_path(given_path));
  recover_stale_staging(path);
  const std::string temp = staging_path(path, "tmp");
  register_staging(temp);
  Status st = write_new_file(temp, bytes, path);
  if (st.ok() && file_system()->rename(temp.c_str(), path.c_str()) != 0) {
    st = Status::IOError(fmt::format("cannot move {} into place: {}", path, std::strerror(errno)));
    ::unlink(temp.c_str());
  }
  unregister_staging(temp);
  return st;
}

Result<std::string> read_file(const std::string& path) {
  IVF_ASSIGN_OR_RETURN(const ReadOnlyFile file, ReadOnlyFile::open(path));
  std::string out;
  out.resize(static_cast<size_t>(file.size()));
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = ::read(file.fd(), out.data() + done, out.size() - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const std::string err = r < 0 ? std::strerror(errno) : "file shrank while reading";
      return Status::IOError(fmt::format("cannot read {}: {}", path, err));
    }
    done += static_cast<size_t>(r);
  }
  return out;
}

Result<std::string> output_path(const std::string& path) {
  if (path.empty()) {
    return Status::InvalidArgument("the output path is empty; name the file or directory to write");
  }
  std::string out = path;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

namespace {

// The parent must be an existing directory this process may write.
Status check_parent(const std::string& path) {
  const std::string parent = parent_of(path);
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) {
    if (fs::exists(parent, ec)) {
      return Status::InvalidArgument(
          fmt::format("cannot create {}: {} is not a directory", path, parent));
    }
    return Status::NotFound(
        fmt::format("cannot create {}: directory {} does not exist", path, parent));
  }
  if (::access(parent.c_str(), W_OK | X_OK) != 0) {
    return Status::IOError(fmt::format("cannot create {}: directory {} is not writable ({})", path,
                                       parent, std::strerror(errno)));
  }
  return Status::OK();
}

// An existing path may be replaced only with overwrite and when the caller recognises it.
Status check_existing(const std::string& path, bool overwrite, const ReplaceCheck& replaceable,
                      bool any_directory) {
  struct stat sb {};
  if (::lstat(path.c_str(), &sb) != 0) return Status::OK();
  if (!overwrite) {
    return Status::AlreadyExists(
        fmt::format("{} already exists; pass --overwrite to replace it", path));
  }
  if (replaceable) return replaceable(path);
  if (any_directory && S_ISDIR(sb.st_mode)) return Status::OK();
  return Status::AlreadyExists(
      fmt::format("{} already exists and is not an output ivftrain wrote; it is left alone", path));
}

}  // namespace

Status check_output(const std::string& given_path, bool overwrite,
                    const ReplaceCheck& replaceable) {
  IVF_ASSIGN_OR_RETURN(const std::string path, output_path(given_path));
  IVF_RETURN_IF_ERROR(check_parent(path));
  recover_stale_staging(path);
  return check_existing(path, overwrite, replaceable, false);
}

namespace {

// The path as the file system resolves it (symbolic links, "..", relative to the working
// directory); an HDF5 "FILE:DATASET" that does not exist as such is taken as FILE.
fs::path resolved(const std::string& path) {
  std::error_code ec;
  std::string p = path;
  if (!fs::exists(p, ec)) {
    const size_t colon = p.rfind(':');
    if (colon != std::string::npos && colon > 0 && fs::exists(p.substr(0, colon), ec)) {
      p = p.substr(0, colon);
    }
  }
  fs::path r = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return ec ? fs::absolute(p).lexically_normal() : r;
}

bool is_within(const fs::path& inner, const fs::path& outer) {
  auto o = outer.begin(), i = inner.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

}  // namespace

Status check_output_apart_from_inputs(const std::string& output,
                                      const std::vector<std::string>& inputs) {
  IVF_ASSIGN_OR_RETURN(const std::string out_path, output_path(output));
  const fs::path out = resolved(out_path);
  for (const std::string& input : inputs) {
    if (input.empty()) continue;
    const fs::path in = resolved(input);
    std::error_code ec;
    if (out == in || fs::equivalent(out, in, ec)) {
      return Status::InvalidArgument(fmt::format(
          "the output {} is the input {}; choose another output path", out_path, input));
    }
    if (is_within(in, out)) {
      return Status::InvalidArgument(fmt::format(
          "the output {} contains the input {}; choose another output path", out_path, input));
    }
    if (is_within(out, in)) {
      return Status::InvalidArgument(fmt::format(
          "the output {} is inside the input {}; choose another output path", out_path, input));
    }
  }
  return Status::OK();
}

namespace {

struct StagingEntry {
  std::string path, kind, host;
  pid_t pid = 0;
};

// Parses ".BASE.KIND-HOST-PID-N"; false when `name` is not a staging name of `base`.
bool parse_staging_name(const std::string& name, const std::string& base, StagingEntry* e) {
  const std::string prefix = "." + base + ".";
  if (name.rfind(prefix, 0) != 0) return false;
  const std::string rest = name.substr(prefix.size());
  char kind[4] = {}, host[9] = {};
  long pid = 0;
  unsigned long long n = 0;
  int used = 0;
  const bool tagged = std::sscanf(rest.c_str(), "%3[a-z]-%8[0-9a-f]-%ld-%llu%n", kind, host, &pid,
                                  &n, &used) == 4 &&
                      static_cast<size_t>(used) == rest.size();
  // Earlier versions named staging entries .NAME.KIND-PID-N, without the host: taken as this
  // host's, where they were made.
  const bool legacy = !tagged &&
                      std::sscanf(rest.c_str(), "%3[a-z]-%ld-%llu%n", kind, &pid, &n, &used) == 3 &&
                      static_cast<size_t>(used) == rest.size();
  if (legacy) std::snprintf(host, sizeof host, "%s", host_tag().c_str());
  if ((!tagged && !legacy) || pid <= 0) return false;
  e->kind = kind;
  e->host = host;
  e->pid = static_cast<pid_t>(pid);
  return e->kind == "tmp" || e->kind == "old";
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

}  // namespace

void recover_stale_staging(const std::string& given_path) {
  auto path_or = output_path(given_path);
  if (!path_or.ok()) return;
  const std::string& path = *path_or;
  const fs::path p(path);
  const std::string parent = parent_of(path);
  const std::string base = staging_base(p.filename().string());
  std::error_code ec;
  std::vector<StagingEntry> stale;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    StagingEntry e;
    if (!parse_staging_name(it->path().filename().string(), base, &e)) continue;
    e.path = it->path().string();
    if (e.host != host_tag()) {
      logger().warn(
          "{} looks like the staging of {} by process {} of another host; remove it "
          "if no ivftrain runs there",
          e.path, path, e.pid);
      continue;
    }
    if (e.pid == ::getpid() || process_alive(e.pid)) continue;  // a run in progress
    stale.push_back(std::move(e));
  }
  // An old directory moved aside by an interrupted replacement goes back first.
  for (const StagingEntry& e : stale) {
    if (e.kind != "old") continue;
    if (!fs::exists(fs::symlink_status(path, ec)) &&
        file_system()->rename_noreplace(e.path.c_str(), path.c_str()) == 0) {
      logger().warn("put back {} from {}, where an interrupted replacement (process {}) left it",
                    path, e.path, e.pid);
    }
  }
  for (const StagingEntry& e : stale) {
    if (!fs::exists(fs::symlink_status(e.path, ec))) continue;
    const auto removed = fs::remove_all(e.path, ec);
    if (ec) {
      logger().warn("cannot remove {}, left by process {}: {}", e.path, e.pid, ec.message());
    } else if (removed > 0) {
      logger().info("removed {}, left by process {} that ended before it finished", e.path, e.pid);
    }
  }
}

void remove_own_staging() {
  std::lock_guard<std::mutex> lock(g_staging_mu);
  std::error_code ec;
  for (const auto& [path, restore_to] : own_staging()) {
    if (!restore_to.empty() &&
        ::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, restore_to.c_str(), RENAME_NOREPLACE) == 0) {
      continue;
    }
    // A writer may still add a file while this runs; a second pass removes it.
    for (int pass = 0; pass < 3 && fs::exists(fs::symlink_status(path, ec)); ++pass) {
      fs::remove_all(path, ec);
    }
  }
  own_staging().clear();
}

Result<StagedDirectory> StagedDirectory::create(const std::string& given_path, bool overwrite,
                                                ReplaceCheck replaceable) {
  IVF_ASSIGN_OR_RETURN(const std::string final_path, output_path(given_path));
  recover_stale_staging(final_path);
  IVF_RETURN_IF_ERROR(check_existing(final_path, overwrite, replaceable, true));
  IVF_RETURN_IF_ERROR(check_parent(final_path));
  const std::string temp = staging_path(final_path, "tmp");
  register_staging(temp);
  if (::mkdir(temp.c_str(), 0755) != 0) {
    unregister_staging(temp);
    return Status::IOError(fmt::format("cannot create {}: {}", final_path, std::strerror(errno)));
  }
  return StagedDirectory(final_path, temp, overwrite, std::move(replaceable));
}

StagedDirectory::StagedDirectory(StagedDirectory&& other) noexcept
    : final_path_(std::move(other.final_path_)), temp_path_(std::move(other.temp_path_)),
      overwrite_(other.overwrite_), replaceable_(std::move(other.replaceable_)),
      committed_(other.committed_) {
  other.committed_ = true;  // the moved-from object owns nothing
}

StagedDirectory::~StagedDirectory() {
  if (!committed_ && !temp_path_.empty()) {
    std::error_code ec;
    fs::remove_all(temp_path_, ec);
    unregister_staging(temp_path_);
  }
}

std::string StagedDirectory::file(const std::string& name) const {
  return (fs::path(temp_path_) / name).string();
}

Status StagedDirectory::write(const std::string& name, std::string_view bytes) const {
  return write_new_file(file(name), bytes, (fs::path(final_path_) / name).string());
}

Status StagedDirectory::commit() {
  FileSystem* const fsys = file_system();
  std::error_code ec;
  auto done = [&] {
    committed_ = true;
    // After an exchange the temporary name holds the old directory: removed now.
    fs::remove_all(temp_path_, ec);
    unregister_staging(temp_path_);
    return Status::OK();
  };
  if (!fs::exists(fs::symlink_status(final_path_, ec))) {
    if (fsys->rename_noreplace(temp_path_.c_str(), final_path_.c_str()) == 0) return done();
    if (errno == EEXIST || errno == ENOTEMPTY) {
      return Status::AlreadyExists(fmt::format(
          "{} already exists (another run wrote it meanwhile); pass --overwrite to replace it",
          final_path_));
    }
    if (!is_unsupported(errno)) {
      return Status::IOError(
          fmt::format("cannot move {} into place: {}", final_path_, std::strerror(errno)));
    }
    // No RENAME_NOREPLACE here: rename() still refuses a non-empty directory at the path.
    if (fs::exists(fs::symlink_status(final_path_, ec))) {
      return Status::AlreadyExists(fmt::format(
          "{} already exists (another run wrote it meanwhile); pass --overwrite to replace it",
          final_path_));
    }
    if (fsys->rename(temp_path_.c_str(), final_path_.c_str()) == 0) return done();
    return Status::IOError(
        fmt::format("cannot move {} into place: {}", final_path_, std::strerror(errno)));
  }
  // The final check: what is there now must still be replaceable.
  IVF_RETURN_IF_ERROR(check_existing(final_path_, overwrite_, replaceable_, true));
  if (fsys->exchange(temp_path_.c_str(), final_path_.c_str()) == 0) return done();
  if (errno == ENOENT && fsys->rename_noreplace(temp_path_.c_str(), final_path_.c_str()) == 0) {
    return done();  // the old one went meanwhile
  }
  if (!is_unsupported(errno)) {
    return Status::IOError(fmt::format("cannot replace {}: {}", final_path_, std::strerror(errno)));
  }
  // Without RENAME_EXCHANGE: the old directory is moved aside (registered, so that a signal
  // puts it back), then the new one into place. A crash between the two leaves the old one in
  // a hidden sibling, which the next run for this path puts back.
  const std::string old = staging_path(final_path_, "old");
  register_staging(old, final_path_);
  if (fsys->rename(final_path_.c_str(), old.c_str()) != 0) {
    unregister_staging(old);
    return Status::IOError(fmt::format("cannot replace {}: {}", final_path_, std::strerror(errno)));
  }
  if (fsys->rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::rename(old.c_str(), final_path_.c_str());  // put the old one back
    unregister_staging(old);
    return Status::IOError(fmt::format("cannot move {} into place: {}", final_path_, err));
  }
  register_staging(old);  // now only to be removed
  fs::remove_all(old, ec);
  unregister_staging(old);
  return done();
}

}  // namespace ivftrain
