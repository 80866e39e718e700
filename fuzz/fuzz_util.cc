#include "fuzz_util.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace ivftrain::fuzz {
namespace {

namespace fs = std::filesystem;

std::string make_scratch_dir() {
  // scripts/fuzz.sh names a base it removes afterwards, as a crash skips the clean-up at exit.
  const char* env = std::getenv("IVFTRAIN_FUZZ_SCRATCH");
  const fs::path base = env && *env                    ? fs::path(env)
                        : fs::is_directory("/dev/shm") ? fs::path("/dev/shm")
                                                       : fs::temp_directory_path();
  const fs::path dir = base / ("ivftrain-fuzz-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "fuzz harness: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    std::abort();
  }
  return dir.string();
}

// Each read, when it succeeds, fills exactly rows x dim floats: a guard value after the buffer
// catches a reader writing past what it was asked for (ASan would too, but only for heap
// over-runs past the allocation, not within a larger reused buffer).
constexpr float kGuard = -12345.678f;

template <typename ReadRange, typename ReadRows>
void read_rows_bounded(int64_t num_rows, int64_t dim, int64_t max_elements, ReadRange read_range,
                       ReadRows read_rows) {
  if (num_rows < 1 || dim < 1) invariant_failed("a file opened with no rows or dimension 0");
  if (dim > max_elements) return;
  const int64_t chunk_rows =
      std::max<int64_t>(1, std::min<int64_t>(4096 / dim + 1, max_elements / dim));
  const int64_t rows_to_read = std::min(num_rows, max_elements / dim);
  std::vector<float> buf(static_cast<size_t>(chunk_rows * dim) + 1);
  for (int64_t first = 0; first < rows_to_read; first += chunk_rows) {
    const int64_t count = std::min(chunk_rows, rows_to_read - first);
    buf[static_cast<size_t>(count * dim)] = kGuard;
    if (!read_range(first, count, buf.data()).ok()) break;  // e.g. fvecs with a bad row
    if (buf[static_cast<size_t>(count * dim)] != kGuard) invariant_failed("read_range overran");
  }
  // Some rows by number: the first, the last and a stride in between, strictly increasing.
  std::vector<int64_t> rows;
  const int64_t stride = std::max<int64_t>(1, num_rows / 7);
  for (int64_t r = 0; r < num_rows && static_cast<int64_t>(rows.size()) < 16; r += stride) {
    rows.push_back(r);
  }
  if (rows.back() != num_rows - 1) rows.push_back(num_rows - 1);
  if (static_cast<int64_t>(rows.size()) * dim > max_elements) return;
  std::vector<float> picked(rows.size() * static_cast<size_t>(dim) + 1);
  picked.back() = kGuard;
  (void)read_rows(rows, picked.data());
  if (picked.back() != kGuard) invariant_failed("read_rows overran");
  // Out-of-range and unordered requests must be refused, not read.
  const int64_t bad_past_end[] = {num_rows};
  if (read_rows(std::vector<int64_t>(bad_past_end, bad_past_end + 1), picked.data()).ok()) {
    invariant_failed("read_rows accepted a row past the end");
  }
  if (read_range(num_rows, 1, picked.data()).ok()) {
    invariant_failed("read_range accepted a range past the end");
  }
  if (num_rows >= 2) {
    const int64_t unordered[] = {1, 0};
    if (read_rows(std::vector<int64_t>(unordered, unordered + 2), picked.data()).ok()) {
      invariant_failed("read_rows accepted rows out of order");
    }
  }
}

}  // namespace

const std::string& scratch_dir() {
  // Never destroyed: the clean-up at exit still needs it.
  static const std::string* dir = [] {
    auto* d = new std::string(make_scratch_dir());
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return *dir;
}

std::string write_scratch_file(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

void read_all_rows(const VectorFile& file, int64_t max_elements) {
  read_rows_bounded(
      file.num_rows(), file.dim(), max_elements,
      [&](int64_t first, int64_t count, float* out) { return file.read_range(first, count, out); },
      [&](const std::vector<int64_t>& rows, float* out) { return file.read_rows(rows, out); });
}

void read_all_rows(const Dataset& dataset, int64_t max_elements) {
  int64_t total = 0;
  for (const FragmentInfo& f : dataset.fragments()) {
    total += f.num_rows;
    const int64_t budget = max_elements / static_cast<int64_t>(dataset.fragments().size());
    read_rows_bounded(
        f.num_rows, dataset.dim(), std::max<int64_t>(budget, 1),
        [&](int64_t first, int64_t count, float* out) {
          return dataset.read_range(f.id, first, count, out);
        },
        [&](const std::vector<int64_t>& rows, float* out) {
          return dataset.read_rows(f.id, rows, out);
        });
  }
  if (total != dataset.num_rows()) invariant_failed("num_rows differs from the fragments' sum");
  if (dataset.find_fragment(-1) != nullptr) invariant_failed("find_fragment(-1) found something");
}

void invariant_failed(const char* what) {
  std::fprintf(stderr, "fuzz invariant failed: %s\n", what);
  std::abort();
}

}  // namespace ivftrain::fuzz
