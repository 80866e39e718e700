// ivftrain gen OUT --rows N --dim D: a Gaussian-mixture dataset, so that the main job, the tests
// and the benchmarks need no download.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <sstream>

#include "cli.h"
#include "testing/synthetic.h"
#include "util/checked_math.h"

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
        if (__builtin_add_overflow(total, v, &total)) {
          return Status::InvalidArgument(
              "--fragment-rows adds up to more rows than can be counted");
        }
      } catch (const std::exception&) {
        return Status::InvalidArgument(
            fmt::format("--fragment-rows: '{}' is not a positive row count", tok));
      }
    }
    if (total != f.rows) {
      return Status::InvalidArgument(
          fmt::format("--fragment-rows adds up to {} rows, but --rows is {}", total, f.rows));
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
  // More components than rows is pointless, and their centres are held in memory.
  if (f.clusters > std::max<int64_t>(f.rows, 64)) {
    return fail(Status::InvalidArgument(fmt::format(
        "--clusters must be at most --rows (or 64) (got {} for {} rows)", f.clusters, f.rows)));
  }
  if (!checked_mul({f.rows, f.dim, 4})) {
    return fail(Status::InvalidArgument(fmt::format(
        "--rows {} times --dim {} float32 values is too large a dataset to count", f.rows, f.dim)));
  }
  if (!std::isfinite(f.spread) || f.spread < 0) {
    return fail(Status::InvalidArgument(
        fmt::format("--spread must be a finite number, 0 or more (got {})", f.spread)));
  }
  if (f.nonfinite_rows < 0 || f.nonfinite_rows > f.rows) {
    return fail(Status::InvalidArgument(
        fmt::format("--nonfinite-rows must be between 0 and --rows (got {})", f.nonfinite_rows)));
  }
  // The format follows OUT's extension; --format must agree with it (or name it, for a
  // directory of fragments).
  const std::string ext = std::filesystem::path(f.out).extension().string();
  auto from_ext = ext.empty() ? Result<std::string>(Status::NotFound(""))
                              : testing::vector_format_name(ext.substr(1));
  auto format = f.format.empty() ? (from_ext.ok() ? from_ext : testing::vector_format_name("npy"))
                                 : testing::vector_format_name(f.format);
  if (!format.ok()) return fail(format.status());
  if (from_ext.ok() && *from_ext != *format) {
    return fail(Status::InvalidArgument(
        fmt::format("{} has the extension of another format than --format {}", f.out, f.format)));
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
  testing::MixtureSpec spec;
  spec.rows = f.rows;
  spec.dim = f.dim;
  spec.clusters = f.clusters;
  spec.spread = f.spread;
  spec.seed = f.seed;
  spec.nonfinite_rows = f.nonfinite_rows;
  const std::vector<float> data = testing::gaussian_mixture(spec);
  Status st = testing::write_vector_files(f.out, *format, f.dim, data.data(), *sizes);
  if (!st.ok()) return fail(st);
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
  cmd->add_option("--seed", f->seed, "seed")->check(not_negative())->capture_default_str();
  cmd->add_option("--nonfinite-rows", f->nonfinite_rows, "rows given one NaN or Inf value")
      ->capture_default_str();
  cmd->add_option("--spread", f->spread, "standard deviation of the cluster centres")
      ->capture_default_str();
  cmd->callback([&run, f] { run = [f] { return run_gen(*f); }; });
}

}  // namespace ivftrain::cli
