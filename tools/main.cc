// ivftrain: the command line, a thin layer over the library (include/ivftrain/).
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "cli.h"
#include "ivftrain/simd.h"
#include "testing/faults.h"

int main(int argc, char** argv) {
  CLI::App app{"ivftrain: train IVF, PQ and SQ models for vector indexes over fragmented datasets"};
  // Before parsing, so that --version reports the level the environment forces.
  if (const ivftrain::Status simd = ivftrain::set_simd_target_from_env(); !simd.ok()) {
    std::cerr << "ivftrain: error: " << simd.message() << std::endl;
    return 2;
  }
  app.set_version_flag("--version", [] { return ivftrain::cli::version_text(); });
  app.require_subcommand(1);
  app.fallthrough();  // -v and -q work after the subcommand too
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "log every k-means iteration of every sub-space");
  app.add_flag("-q,--quiet", quiet, "log warnings and errors only");
  // Hidden test hooks (tests/e2e, scripts/error_table.sh) that install faults through the
  // library's seams: the library itself reads no environment variable.
  int64_t fail_write_call = 0;  // the N-th write() call fails as on a full disk
  int fail_rank = -1;           // under --mpi, this rank's sampling fails
  app.add_option("--test-fail-write-call", fail_write_call)->group("");
  app.add_option("--test-fail-rank", fail_rank)->group("");

  std::function<int()> run;
  ivftrain::cli::register_gen(app, run);
  ivftrain::cli::register_train(app, run);
  ivftrain::cli::register_inspect(app, run);
  ivftrain::cli::register_plan(app, run);
  ivftrain::cli::register_sample(app, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  ivftrain::cli::setup_logging(verbose, quiet);
  ivftrain::testing::fail_write_call(fail_write_call);
  ivftrain::testing::fail_mpi_rank(fail_rank);
  return run();
}
