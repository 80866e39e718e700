// ivftrain gen OUT --rows N --dim D: a Gaussian-mixture dataset, so that the main job, the tests
// and the benchmarks need no download.
#include <fmt/format.h>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <limits>

#include "cli.h"
#include "io/vector_writer.h"
#include "util/rng.h"
#include "util/sampling.h"

namespace ivftrain::cli {
namespace {

struct GenFlags {
  std::string out;
  int64_t rows = 0;
  int64_t dim = 0;
  int64_t clusters = 64;
  std::string format;  // from OUT's extension when not given
  int64_t fragments = 1;
  std::string fragment_rows;  // explicit sizes "1000,1,5000"
  uint64_t seed = 42;
  int64_t nonfinite_rows = 0;
  double spread = 4.0;
};

// Row i of the mixture depends only on (seed, i): generation is parallel and reproducible.
void generate(const GenFlags& f, std::vector<float>& out) {
  Rng centre_rng(derive_seed(f.seed, 100, 0));
  std::vector<float> centres(static_cast<size_t>(f.clusters * f.dim));
  for (auto& c : centres) c = static_cast<float>(centre_rng.normal() * f.spread);
  out.resize(static_cast<size_t>(f.rows * f.dim));
  constexpr int64_t kBlock = 4096;
  const int64_t blocks = (f.rows + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(dynamic)
  for (int64_t b = 0; b < blocks; ++b) {
    Rng rng(derive_seed(f.seed, 101, static_cast<uint64_t>(b)));
    for (int64_t i = b * kBlock; i < std::min(f.rows, (b + 1) * kBlock); ++i) {
      const int64_t c = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(f.clusters)));
      for (int64_t j = 0; j < f.dim; ++j) {
        out[i * f.dim + j] = centres[c * f.dim + j] + static_cast<float>(rng.normal());
      }
    }
  }
  if (f.nonfinite_rows > 0) {
    Rng rng(derive_seed(f.seed, 102, 0));
    const auto bad = choose_sorted(rng, f.rows, std::min(f.nonfinite_rows, f.rows));
    for (size_t k = 0; k < bad.size(); ++k) {
      const int64_t j = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(f.dim)));
      out[bad[k] * f.dim + j] = (k % 2 == 0) ? std::numeric_limits<float>::quiet_NaN()
                                             : std::numeric_limits<float>::infinity();
    }
  }
}

Result<std::vector<int64_t>> fragment_sizes(const GenFlags& f) {
  std::vector<int64_t> sizes;
  if (!f.fragment_rows.empty()) {
    std::stringstream ss(f.fragment_rows);
    std::string tok;
    int64_t total = 0;
    while (std::getline(ss, tok, ',')) {
      try {
        size_t used = 0;
        const int64_t v = std::stoll(tok, &used);
        if (used != tok.size() || v < 1) throw std::invalid_argument(tok);
        sizes.push_back(v);
        total += v;
      } catch (const std::exception&) {
        return Status::InvalidArgument(
            fmt::format("--fragment-rows: '{}' is not a positive row count", tok));
      }
    }
    if (total != f.rows) {
      return Status::InvalidArgument(fmt::format(
          "--fragment-rows adds up to {} rows, but --rows is {}", total, f.rows));
    }
    return sizes;
  }
  if (f.fragments < 1 || f.fragments > f.rows) {
    return Status::InvalidArgument(
        fmt::format("--fragments must be between 1 and --rows (got {})", f.fragments));
  }
  for (int64_t i = 0; i < f.fragments; ++i) {
    sizes.push_back(f.rows / f.fragments + (i < f.rows % f.fragments ? 1 : 0));
  }
  return sizes;
}

int run_gen(const GenFlags& f) {
  if (f.rows < 1) return fail(Status::InvalidArgument("--rows must be at least 1"));
  if (f.dim < 1) return fail(Status::InvalidArgument("--dim must be at least 1"));
  if (f.clusters < 1) return fail(Status::InvalidArgument("--clusters must be at least 1"));
  // The format follows OUT's extension; --format must agree with it (or name it, for a
  // directory of fragments).
  const std::string ext = std::filesystem::path(f.out).extension().string();
  auto from_ext = ext.empty() ? Result<FileFormat>(Status::NotFound("")) : parse_file_format(ext.substr(1));
  auto format = f.format.empty() ? (from_ext.ok() ? from_ext : parse_file_format("npy"))
                                 : parse_file_format(f.format);
  if (!format.ok()) return fail(format.status());
  if (from_ext.ok() && *from_ext != *format) {
    return fail(Status::InvalidArgument(fmt::format(
        "{} has the extension of another format than --format {}", f.out, f.format)));
  }
  auto sizes = fragment_sizes(f);
  if (!sizes.ok()) return fail(sizes.status());
  if (sizes->size() == 1 && !from_ext.ok()) {
    return fail(Status::InvalidArgument(fmt::format(
        "{} needs the extension of its format (.npy, .fvecs, .bvecs, .fbin, .u8bin, .i8bin, "
        ".hdf5), or use --fragments for a directory",
        f.out)));
  }
  std::error_code ec;
  if (std::filesystem::exists(f.out, ec)) {
    return fail(Status::AlreadyExists(fmt::format("{} already exists", f.out)));
  }
  std::vector<float> data;
  generate(f, data);
  if (sizes->size() == 1) {
    Status st = write_vector_file(f.out, *format, f.rows, f.dim, data.data());
    if (!st.ok()) return fail(st);
  } else {
    // A directory of fragment files; written under a temporary name, then renamed.
    const std::string temp = f.out + ".tmp-gen";
    std::filesystem::remove_all(temp, ec);
    if (!std::filesystem::create_directories(temp, ec)) {
      return fail(Status::IOError(fmt::format("cannot create directory {}: {}", f.out,
                                              ec.message())));
    }
    int64_t first = 0;
    for (size_t i = 0; i < sizes->size(); ++i) {
      const std::string path =
          fmt::format("{}/part-{:05d}{}", temp, i, file_extension(*format));
      Status st = write_vector_file(path, *format, (*sizes)[i], f.dim, data.data() + first * f.dim);
      if (!st.ok()) {
        std::filesystem::remove_all(temp, ec);
        return fail(st);
      }
      first += (*sizes)[i];
    }
    std::filesystem::rename(temp, f.out, ec);
    if (ec) return fail(Status::IOError(fmt::format("cannot create {}: {}", f.out, ec.message())));
  }
  logger().info("wrote {}: {} rows x {} dims, {} clusters, {} fragment(s), {} non-finite rows",
                f.out, f.rows, f.dim, f.clusters, sizes->size(), f.nonfinite_rows);
  return 0;
}

}  // namespace

void register_gen(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("gen", "Generate a Gaussian-mixture dataset");
  auto f = std::make_shared<GenFlags>();
  cmd->add_option("OUT", f->out, "output file, or directory when there are several fragments")
      ->required();
  cmd->add_option("--rows", f->rows, "rows")->required();
  cmd->add_option("--dim", f->dim, "dimension")->required();
  cmd->add_option("--clusters", f->clusters, "mixture components")->capture_default_str();
  cmd->add_option("--format", f->format,
                  "npy, fvecs, bvecs, fbin, u8bin, i8bin or hdf5 (default: OUT's extension, "
                  "else npy)");
  cmd->add_option("--fragments", f->fragments, "files of (nearly) equal size in a directory")
      ->capture_default_str();
  cmd->add_option("--fragment-rows", f->fragment_rows,
                  "explicit fragment sizes, e.g. 5000,1,20000 (must add up to --rows)");
  cmd->add_option("--seed", f->seed, "seed")->capture_default_str();
  cmd->add_option("--nonfinite-rows", f->nonfinite_rows, "rows given one NaN or Inf value")
      ->capture_default_str();
  cmd->add_option("--spread", f->spread, "standard deviation of the cluster centres")
      ->capture_default_str();
  cmd->callback([&run, f] { run = [f] { return run_gen(*f); }; });
}

}  // namespace ivftrain::cli
