#include "testing/synthetic.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "io/vector_writer.h"
#include "util/files.h"
#include "util/rng.h"
#include "util/sampling.h"

namespace ivftrain::testing {
namespace {

// derive_seed purposes of the kPerBlock streams. They predate util/rng.h's list and stay as they
// are: changing them would change every dataset `ivftrain gen` writes.
constexpr uint64_t kSeedMixtureCentres = 100;
constexpr uint64_t kSeedMixtureRows = 101;  // stream = block
constexpr uint64_t kSeedMixtureNonfinite = 102;
constexpr int64_t kBlockRows = 4096;

std::vector<float> draw_centres(Rng& rng, const MixtureSpec& s) {
  std::vector<float> centres(static_cast<size_t>(s.clusters * s.dim));
  for (auto& c : centres) c = static_cast<float>(rng.normal() * s.spread);
  return centres;
}

// Rows [first, last), row i at out[(i - first) * dim]: a component chosen uniformly, then unit
// Gaussian noise around it.
void draw_rows(Rng& rng, const std::vector<float>& centres, const MixtureSpec& s, int64_t first,
               int64_t last, float* out) {
  for (int64_t i = first; i < last; ++i) {
    const int64_t c = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(s.clusters)));
    for (int64_t j = 0; j < s.dim; ++j) {
      out[(i - first) * s.dim + j] = centres[c * s.dim + j] + static_cast<float>(rng.normal());
    }
  }
}

}  // namespace

std::vector<float> gaussian_mixture(const MixtureSpec& s) {
  std::vector<float> out(static_cast<size_t>(s.rows * s.dim));
  if (s.streams == MixtureStreams::kSequential) {
    Rng rng(s.seed);
    const std::vector<float> centres = draw_centres(rng, s);
    draw_rows(rng, centres, s, 0, s.rows, out.data());
    if (s.nonfinite_rows > 0) {
      Rng bad_rng(derive_seed(s.seed, kSeedMixtureNonfinite, 0));
      const auto bad = choose_sorted(bad_rng, s.rows, std::min(s.nonfinite_rows, s.rows));
      for (size_t k = 0; k < bad.size(); ++k) {
        const int64_t j = static_cast<int64_t>(bad_rng.uniform(static_cast<uint64_t>(s.dim)));
        out[bad[k] * s.dim + j] = (k % 2 == 0) ? std::numeric_limits<float>::quiet_NaN()
                                               : std::numeric_limits<float>::infinity();
      }
    }
  } else {
    MixtureRows(s).rows(0, s.rows, out.data());
  }
  return out;
}

MixtureRows::MixtureRows(const MixtureSpec& s) : spec_(s) {
  Rng centre_rng(derive_seed(s.seed, kSeedMixtureCentres, 0));
  centres_ = draw_centres(centre_rng, s);
  if (s.nonfinite_rows > 0) {
    Rng rng(derive_seed(s.seed, kSeedMixtureNonfinite, 0));
    const auto bad = choose_sorted(rng, s.rows, std::min(s.nonfinite_rows, s.rows));
    nonfinite_.reserve(bad.size());
    for (size_t k = 0; k < bad.size(); ++k) {
      const int64_t j = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(s.dim)));
      nonfinite_.push_back({bad[k], j,
                            (k % 2 == 0) ? std::numeric_limits<float>::quiet_NaN()
                                         : std::numeric_limits<float>::infinity()});
    }
  }
}

void MixtureRows::rows(int64_t first, int64_t count, float* out) const {
  const MixtureSpec& s = spec_;
  const int64_t last = first + count;
  const int64_t first_block = first / kBlockRows, end_block = (last + kBlockRows - 1) / kBlockRows;
  // Row i depends on (seed, i / kBlockRows) only: each block is drawn from its own stream, whole;
  // a block cut by the range is drawn into a scratch block first.
#pragma omp parallel for schedule(dynamic)
  for (int64_t b = first_block; b < end_block; ++b) {
    const int64_t b_first = b * kBlockRows, b_last = std::min(s.rows, (b + 1) * kBlockRows);
    Rng rng(derive_seed(s.seed, kSeedMixtureRows, static_cast<uint64_t>(b)));
    if (b_first >= first && b_last <= last) {
      draw_rows(rng, centres_, s, b_first, b_last, out + (b_first - first) * s.dim);
    } else {
      std::vector<float> block(static_cast<size_t>((b_last - b_first) * s.dim));
      draw_rows(rng, centres_, s, b_first, b_last, block.data());
      const int64_t lo = std::max(first, b_first), hi = std::min(last, b_last);
      std::copy(block.begin() + (lo - b_first) * s.dim, block.begin() + (hi - b_first) * s.dim,
                out + (lo - first) * s.dim);
    }
  }
  const auto begin = std::lower_bound(nonfinite_.begin(), nonfinite_.end(), first,
                                      [](const Bad& b, int64_t row) { return b.row < row; });
  for (auto it = begin; it != nonfinite_.end() && it->row < last; ++it) {
    out[(it->row - first) * s.dim + it->column] = it->value;
  }
}

Result<std::string> vector_format_name(const std::string& name_or_extension) {
  Result<FileFormat> format = parse_file_format(name_or_extension);
  if (!format.ok()) return format.status();
  return std::string(file_extension(*format) + 1);  // the extension without its dot
}

Status write_vector_files(const std::string& path, const std::string& format_name, int64_t dim,
                          const float* data, const std::vector<int64_t>& fragment_rows) {
  return write_vector_files(
      path, format_name, dim,
      [data, dim](int64_t first, int64_t count, float* out) {
        std::copy_n(data + first * dim, count * dim, out);
        return Status::OK();
      },
      fragment_rows);
}

Status write_vector_files(const std::string& path, const std::string& format_name, int64_t dim,
                          const RowSource& rows, const std::vector<int64_t>& fragment_rows) {
  Result<FileFormat> format = parse_file_format(format_name);
  if (!format.ok()) return format.status();
  if (fragment_rows.size() == 1) {
    return write_vector_file(path, *format, fragment_rows.front(), dim, rows);
  }
  // Staged in a hidden sibling and renamed into place without replacing anything: a concurrent
  // run to the same path either commits first or is told the path already exists.
  auto staged = StagedDirectory::create(path, false);
  if (!staged.ok()) return staged.status();
  int64_t first = 0;
  for (size_t i = 0; i < fragment_rows.size(); ++i) {
    const std::string part = staged->file(fmt::format("part-{:05d}{}", i, file_extension(*format)));
    // Fragment i's rows, streamed: row r of the part is row first + r of the dataset.
    const RowSource part_rows = [&rows, first](int64_t r, int64_t count, float* out) {
      return rows(first + r, count, out);
    };
    Status st = write_vector_file(part, *format, fragment_rows[i], dim, part_rows);
    if (!st.ok()) return st;
    first += fragment_rows[i];
  }
  return staged->commit();
}

}  // namespace ivftrain::testing
