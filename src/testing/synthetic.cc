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

// Rows [first, last) of `out`: a component chosen uniformly, then unit Gaussian noise around it.
void draw_rows(Rng& rng, const std::vector<float>& centres, const MixtureSpec& s, int64_t first,
               int64_t last, float* out) {
  for (int64_t i = first; i < last; ++i) {
    const int64_t c = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(s.clusters)));
    for (int64_t j = 0; j < s.dim; ++j) {
      out[i * s.dim + j] = centres[c * s.dim + j] + static_cast<float>(rng.normal());
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
  } else {
    Rng centre_rng(derive_seed(s.seed, kSeedMixtureCentres, 0));
    const std::vector<float> centres = draw_centres(centre_rng, s);
    const int64_t blocks = (s.rows + kBlockRows - 1) / kBlockRows;
#pragma omp parallel for schedule(dynamic)
    for (int64_t b = 0; b < blocks; ++b) {
      Rng rng(derive_seed(s.seed, kSeedMixtureRows, static_cast<uint64_t>(b)));
      draw_rows(rng, centres, s, b * kBlockRows, std::min(s.rows, (b + 1) * kBlockRows),
                out.data());
    }
  }
  if (s.nonfinite_rows > 0) {
    Rng rng(derive_seed(s.seed, kSeedMixtureNonfinite, 0));
    const auto bad = choose_sorted(rng, s.rows, std::min(s.nonfinite_rows, s.rows));
    for (size_t k = 0; k < bad.size(); ++k) {
      const int64_t j = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(s.dim)));
      out[bad[k] * s.dim + j] = (k % 2 == 0) ? std::numeric_limits<float>::quiet_NaN()
                                             : std::numeric_limits<float>::infinity();
    }
  }
  return out;
}

Result<std::string> vector_format_name(const std::string& name_or_extension) {
  Result<FileFormat> format = parse_file_format(name_or_extension);
  if (!format.ok()) return format.status();
  return std::string(file_extension(*format) + 1);  // the extension without its dot
}

Status write_vector_files(const std::string& path, const std::string& format_name, int64_t dim,
                          const float* data, const std::vector<int64_t>& fragment_rows) {
  Result<FileFormat> format = parse_file_format(format_name);
  if (!format.ok()) return format.status();
  if (fragment_rows.size() == 1) {
    return write_vector_file(path, *format, fragment_rows.front(), dim, data);
  }
  // Staged in a hidden sibling and renamed into place without replacing anything: a concurrent
  // run to the same path either commits first or is told the path already exists.
  auto staged = StagedDirectory::create(path, false);
  if (!staged.ok()) return staged.status();
  int64_t first = 0;
  for (size_t i = 0; i < fragment_rows.size(); ++i) {
    const std::string part = staged->file(fmt::format("part-{:05d}{}", i, file_extension(*format)));
    Status st = write_vector_file(part, *format, fragment_rows[i], dim, data + first * dim);
    if (!st.ok()) return st;
    first += fragment_rows[i];
  }
  return staged->commit();
}

}  // namespace ivftrain::testing
