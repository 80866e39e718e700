#include "util/memory.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <string>

namespace ivftrain {
namespace {

std::atomic<int64_t> g_limit_for_testing{0};

void lower_to(std::optional<int64_t>* limit, uint64_t value) {
  if (value == 0 || value > static_cast<uint64_t>(INT64_MAX)) return;  // none / unlimited
  const auto v = static_cast<int64_t>(value);
  if (!*limit || v < **limit) *limit = v;
}

// cgroup v2's memory.max of this process's cgroup ("max": none).
std::optional<uint64_t> cgroup_memory_max() {
  std::string group;
  std::ifstream self("/proc/self/cgroup");
  for (std::string line; std::getline(self, line);) {
    if (line.rfind("0::", 0) == 0) group = line.substr(3);
  }
  for (const std::string& path :
       {"/sys/fs/cgroup" + group + "/memory.max", std::string("/sys/fs/cgroup/memory.max")}) {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text)) continue;
    if (text == "max") return std::nullopt;
    try {
      return std::stoull(text);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string human(int64_t bytes) {
  const auto b = static_cast<double>(bytes);
  if (bytes < (int64_t{1} << 20)) return fmt::format("{:.2f} KiB", b / 1024);
  if (bytes < (int64_t{1} << 30)) return fmt::format("{:.2f} MiB", b / (1 << 20));
  return fmt::format("{:.2f} GiB", b / (1 << 30));
}

}  // namespace

std::optional<int64_t> memory_limit_bytes() {
  if (const int64_t forced = g_limit_for_testing.load(); forced > 0) return forced;
  std::optional<int64_t> limit;
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) {
    lower_to(&limit, static_cast<uint64_t>(pages) * static_cast<uint64_t>(page));
  }
  for (const auto resource : {RLIMIT_AS, RLIMIT_DATA}) {
    struct rlimit rl {};
    if (::getrlimit(resource, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
      lower_to(&limit, rl.rlim_cur);
    }
  }
  if (const std::optional<uint64_t> cg = cgroup_memory_max()) lower_to(&limit, *cg);
  return limit;
}

Status check_memory_for(int64_t bytes, const std::string& what) {
  if (bytes < 0) {
    return Status::FailedPrecondition(
        fmt::format("{} needs more memory than can be counted in 64 bits", what));
  }
  const std::optional<int64_t> limit = memory_limit_bytes();
  if (!limit || bytes <= *limit) return Status::OK();
  return Status::FailedPrecondition(fmt::format(
      "{} needs {} of memory, more than the {} this process may use (physical memory, ulimit -v "
      "or the cgroup's limit); lower sample_rate or num_partitions, or train on fewer fragments",
      what, human(bytes), human(*limit)));
}

void set_memory_limit_for_testing(int64_t bytes) {
  g_limit_for_testing.store(std::max<int64_t>(0, bytes));
}

}  // namespace ivftrain
